"""The one HTTP client every feed uses: bounded, conditional, and retrying.

Feeds are untrusted and sometimes slow or broken, so every request has a timeout,
a body-size cap enforced while streaming, a redirect limit, and a few retries with
exponential backoff for 5xx/429/timeouts. ETag / Last-Modified validators and the
last good body are kept per URL, so a 304 reuses the cached body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx

from vecpatch import __version__
from vecpatch.errors import VecpatchError

USER_AGENT = f"vecpatch/{__version__} (+https://github.com/vecpatch)"


class FetchError(VecpatchError):
    """A request that failed for good; ``reason`` is shown as "skipped: reason"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class HttpCache:
    """Validators and bodies per URL, kept in memory and saved by the updater."""

    directory: Path | None = None
    validators: dict[str, dict[str, str]] = field(default_factory=dict)

    def body_path(self, url: str) -> Path | None:
        if self.directory is None:
            return None
        return self.directory / (sha256(url.encode()).hexdigest() + ".body")

    def cached_body(self, url: str) -> bytes | None:
        path = self.body_path(url)
        try:
            return path.read_bytes() if path else None
        except OSError:
            return None


@dataclass
class FeedClient:
    """Wraps ``httpx.Client`` with vecpatch's safety limits."""

    timeout: float = 10.0
    max_bytes: int = 5_000_000
    retries: int = 2
    backoff: float = 0.5
    max_redirects: int = 5
    cache: HttpCache = field(default_factory=HttpCache)
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    fresh_bodies: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=True,
            max_redirects=self.max_redirects,
            headers={"User-Agent": USER_AGENT, **self.headers},
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> FeedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _once(self, method: str, url: str, body: Any, headers: dict[str, str]) -> bytes | None:
        """One attempt; None means 304 Not Modified."""
        with self._client.stream(method, url, json=body, headers=headers) as resp:
            if resp.status_code == 304:
                return None
            if resp.status_code >= 400:
                raise httpx.HTTPStatusError(
                    f"HTTP {resp.status_code}", request=resp.request, response=resp
                )
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchError(f"response too large ({declared} bytes > {self.max_bytes})")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise FetchError(f"response too large (over {self.max_bytes} bytes)")
                chunks.append(chunk)
            validators = {
                k: resp.headers[k] for k in ("etag", "last-modified") if k in resp.headers
            }
            if validators and method == "GET":
                self.cache.validators[url] = validators
            return b"".join(chunks)

    def get_bytes(self, url: str, *, method: str = "GET", body: Any = None) -> bytes:
        """The body of ``url``; a 304 returns the cached body."""
        headers: dict[str, str] = {}
        known = self.cache.validators.get(url, {}) if method == "GET" else {}
        cached = self.cache.cached_body(url) if known else None
        if cached is not None:
            if "etag" in known:
                headers["If-None-Match"] = known["etag"]
            elif "last-modified" in known:
                headers["If-Modified-Since"] = known["last-modified"]
        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                data = self._once(method, url, body, headers)
            except httpx.TooManyRedirects:
                raise FetchError(f"too many redirects (>{self.max_redirects})") from None
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout:g}s"
                continue
            except httpx.HTTPStatusError as exc:
                code = exc.response.status_code
                last = f"HTTP {code}"
                if code == 429 or code >= 500:
                    continue
                raise FetchError(last) from None
            except httpx.HTTPError as exc:
                last = f"network error ({type(exc).__name__})"
                continue
            if data is None:
                assert cached is not None
                return cached
            if method == "GET":
                self.fresh_bodies[url] = data
            return data
        raise FetchError(f"{last} (after {self.retries + 1} attempts)")

    def get_json(self, url: str, *, method: str = "GET", body: Any = None) -> Any:
        data = self.get_bytes(url, method=method, body=body)
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise FetchError("malformed JSON in response") from None
