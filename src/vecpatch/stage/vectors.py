"""Test vectors and their independent NumPy reference values.

The functionality suite computes every distance, norm and conversion twice: once in
PostgreSQL through pgvector, once here with NumPy from the same inputs. Agreement
within a float tolerance (looser for ``halfvec``, which stores half precision) is the
evidence that the new library computes what the old one did.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def dense(rng: np.random.Generator, n: int, dim: int) -> Array:
    """``n`` vectors with three decimals (exact in text, never all zero)."""
    out: Array = np.round(rng.uniform(-1.0, 1.0, (n, dim)), 3)
    out[:, 0] = np.where(out[:, 0] == 0.0, 0.5, out[:, 0])
    return out


def sparse(rng: np.random.Generator, n: int, dim: int) -> Array:
    """Like :func:`dense` with about two thirds of the entries zero."""
    out = dense(rng, n, dim)
    mask = rng.random((n, dim)) < 0.66
    mask[:, 0] = False
    out[mask] = 0.0
    return out


def bits(rng: np.random.Generator, n: int, dim: int) -> Array:
    """0/1 vectors with at least one bit set."""
    out: Array = rng.integers(0, 2, (n, dim)).astype(np.float64)
    out[:, 0] = 1.0
    return out


def as_half(values: Array) -> Array:
    """What halfvec stores for these values."""
    return values.astype(np.float16).astype(np.float64)


def vector_text(row: Array) -> str:
    return "[" + ",".join(format(float(v), "g") for v in row) + "]"


def sparse_text(row: Array) -> str:
    pairs = ",".join(f"{i + 1}:{format(float(v), 'g')}" for i, v in enumerate(row) if v != 0.0)
    return "{" + pairs + "}/" + str(len(row))


def bit_text(row: Array) -> str:
    return "".join("1" if v else "0" for v in row)


def parse_vector(text: str) -> Array:
    """``[1,2,3]`` (vector, halfvec) or ``{1:1,3:2}/5`` (sparsevec) -> a dense array."""
    text = text.strip()
    if text.startswith("{"):
        body, _, dim = text.rpartition("/")
        out: Array = np.zeros(int(dim))
        for pair in filter(None, body.strip("{}").split(",")):
            idx, _, val = pair.partition(":")
            out[int(idx) - 1] = float(val)
        return out
    return np.array([float(v) for v in text.strip("[]").split(",") if v], dtype=np.float64)


def parse_bits(text: str) -> Array:
    return np.array([1.0 if c == "1" else 0.0 for c in text.strip()], dtype=np.float64)


def l2(a: Array, b: Array) -> Array:
    out: Array = np.sqrt(((a - b) ** 2).sum(axis=1))
    return out


def dot(a: Array, b: Array) -> Array:
    out: Array = (a * b).sum(axis=1)
    return out


def norm(a: Array) -> Array:
    out: Array = np.sqrt((a * a).sum(axis=1))
    return out


def cosine(a: Array, b: Array) -> Array:
    out: Array = 1.0 - dot(a, b) / (norm(a) * norm(b))
    return out


def l1(a: Array, b: Array) -> Array:
    out: Array = np.abs(a - b).sum(axis=1)
    return out


def hamming(a: Array, b: Array) -> Array:
    out: Array = (a != b).sum(axis=1).astype(np.float64)
    return out


def jaccard(a: Array, b: Array) -> Array:
    both = ((a > 0) & (b > 0)).sum(axis=1)
    either = ((a > 0) | (b > 0)).sum(axis=1)
    out: Array = 1.0 - both / np.maximum(either, 1)
    return out


METRICS: dict[str, Callable[[Array, Array], Array]] = {
    "<->": l2,
    "<#>": lambda a, b: -dot(a, b),
    "<=>": cosine,
    "<+>": l1,
    "<~>": hamming,
    "<%>": jaccard,
}
"""Distance operator -> NumPy reference (one row of ``a`` against each row of ``b``)."""
