"""A stop request (SIGINT/SIGTERM) that an apply honours at safe points, never half-way.

Killing the process mid-apply leaves nobody to say what state the database is in, so the
CLI turns the signals into this request instead: before COMMIT the running statement is
cancelled and the transaction rolled back (the run says "database unchanged"); after COMMIT
the bookkeeping is finished (verify from a new session, history, evidence) and the rest of
the after-care is skipped. A second signal is acted on only once every database's state is
known; until then it is answered with a message. Callers that install no handler (workers,
tests) pass an :class:`Interrupt` nobody sets.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

PAUSE_ENV = "VECPATCH_TEST_PAUSE_AT"
"""Test seam: the phase (probe, backup, update, checks, soak) at which to pause until a stop
request arrives (at most 60 s); the marker file named by ``PAUSE_FILE_ENV`` says "paused"."""
PAUSE_FILE_ENV = "VECPATCH_TEST_PAUSE_FILE"


class Interrupt:
    """One run's stop request, shared by the signal handler and the apply's threads."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = environ or {}
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._cancels: dict[int, Callable[[], None]] = {}
        self._unsettled = 0
        self.signal_name: str | None = None
        self.hard = False
        """Set by a second signal once every state is known: skip what is left but records."""
        self.prompting = False
        """True while the main thread waits for a typed confirmation (a signal ends it)."""
        self._pause_at = env.get(PAUSE_ENV)
        self._pause_file = env.get(PAUSE_FILE_ENV)

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep that ends early on a stop request; True if one came."""
        return self._event.wait(max(0.0, seconds))

    @property
    def reason(self) -> str:
        return f"interrupted by {self.signal_name or 'a stop request'}"

    def request(self, signal_name: str) -> str:
        """Record a stop request; return what to tell the operator."""
        with self._lock:
            first = not self._event.is_set()
            unsettled = self._unsettled
            cancels = list(self._cancels.values())
            if first:
                self.signal_name = signal_name
                self._event.set()
            elif not unsettled:
                self.hard = True
        if first:
            for cancel in cancels:
                with suppress(Exception):  # a cancel that fails must not stop the others
                    cancel()
            return (
                f"{signal_name}: stopping safely; uncommitted work is rolled back, committed "
                "work is verified and recorded (press again to skip the rest once it is known)"
            )
        if unsettled:
            return (
                f"{signal_name}: the state of {unsettled} database(s) is not known yet; "
                "vecpatch stops as soon as it is (killing it now would leave that unknown)"
            )
        return f"{signal_name}: skipping the remaining after-care; writing the records"

    @contextmanager
    def cancellable(self, cancel: Callable[[], None]) -> Iterator[None]:
        """Run ``cancel`` (e.g. cancel the running statement) if a stop comes while inside."""
        key = id(cancel)
        with self._lock:
            self._cancels[key] = cancel
            already = self._event.is_set()
        if already:
            with suppress(Exception):
                cancel()
        try:
            yield
        finally:
            with self._lock:
                self._cancels.pop(key, None)

    @contextmanager
    def unsettled(self) -> Iterator[None]:
        """While inside, a database's state is not known (an update is in flight)."""
        with self._lock:
            self._unsettled += 1
        try:
            yield
        finally:
            with self._lock:
                self._unsettled -= 1

    def phase(self, name: str) -> None:
        """A phase marker; under the test seam, pause here until a stop request comes."""
        if self._pause_at != name:
            return
        if self._pause_file:
            Path(self._pause_file).write_text(f"{name} {os.getpid()}\n", encoding="utf-8")
        deadline = time.monotonic() + 60.0
        while not self._event.is_set() and time.monotonic() < deadline:
            self._event.wait(0.05)


Say = Callable[[str], None]


def install(interrupt: Interrupt, say: Say) -> Callable[[], None]:
    """Turn SIGINT and SIGTERM into ``interrupt`` requests; return a function that undoes it.

    Only the main thread may install handlers; elsewhere this is a no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: FrameType | None) -> None:
        say(interrupt.request(signal.Signals(signum).name))
        if interrupt.prompting:
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for signum, old in previous.items():
            signal.signal(signum, old)

    return restore
