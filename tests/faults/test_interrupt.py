"""The stop request itself: the first signal cancels what is in flight; a second is acted on
only once every database's state is known."""

from __future__ import annotations

from vecpatch.apply.interrupt import Interrupt


def test_the_first_request_cancels_in_flight_work_and_a_second_waits_for_a_known_state() -> None:
    stop = Interrupt()
    cancelled: list[str] = []
    with stop.unsettled(), stop.cancellable(lambda: cancelled.append("statement")):
        first = stop.request("SIGINT")
        second = stop.request("SIGINT")
        assert cancelled == ["statement"] and stop.is_set() and not stop.hard
        assert "stopping safely" in first
        assert "not known yet" in second
    third = stop.request("SIGINT")
    assert stop.hard and "skipping the remaining after-care" in third
    assert stop.reason == "interrupted by SIGINT"


def test_work_that_starts_after_the_request_is_cancelled_at_once() -> None:
    stop = Interrupt()
    stop.request("SIGTERM")
    cancelled: list[bool] = []
    with stop.cancellable(lambda: cancelled.append(True)):
        assert cancelled == [True]
    assert stop.wait(5.0) is True  # a stopped run sleeps no more
