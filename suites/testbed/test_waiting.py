"""The project's one wait: only a designated "not yet" retries; anything else fails at once."""

from __future__ import annotations

import itertools

import pytest

from kubepromises.waiting import NotYet, eventually, truthy
from suites import waiting


class Check:
    """A check that answers from a script of outcomes, counting its calls."""

    def __init__(self, *script: object) -> None:
        self.script = itertools.chain(script, itertools.repeat(script[-1]))
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        outcome = next(self.script)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def test_not_yet_is_retried_until_the_check_returns() -> None:
    check = Check(NotYet("0 of 2 Ready"), NotYet("1 of 2 Ready"), "2 of 2 Ready")
    assert eventually(check, timeout=5, interval=0, what="two replicas") == "2 of 2 Ready"
    assert check.calls == 3


def test_an_assertion_error_is_not_retried_and_names_what_was_awaited() -> None:
    check = Check(NotYet("1 notification"), AssertionError("order 7 notified twice"), "never")
    with pytest.raises(AssertionError, match="notified twice") as failed:
        eventually(check, timeout=30, interval=0, what="one notification per order")
    assert check.calls == 2  # failed at once, not after 30 s
    assert "while waiting for: one notification per order" in "\n".join(failed.value.__notes__)
    assert "1 notification" in "\n".join(failed.value.__notes__)  # the last observation


def test_any_other_error_fails_at_once_unless_the_caller_designates_it() -> None:
    refused = ConnectionRefusedError("127.0.0.1:5432")
    with pytest.raises(ConnectionRefusedError):
        eventually(Check(refused, "up"), timeout=5, interval=0, what="the server")
    check = Check(refused, refused, "up")
    assert eventually(check, timeout=5, interval=0, what="the server", retry_on=(OSError,)) == "up"
    assert check.calls == 3


def test_a_timeout_says_what_how_long_the_last_observation_and_the_hint() -> None:
    with pytest.raises(AssertionError) as timed_out:
        eventually(
            Check(NotYet("1 of 2 Ready")), timeout=0.05, interval=0.01, what="two replicas",
            hint="kubectl describe the pods",
        )  # fmt: skip
    message = str(timed_out.value)
    assert "waiting for: two replicas" in message
    assert "Last observed: '1 of 2 Ready'" in message
    assert "Hint: kubectl describe the pods" in message


def test_truthy_makes_a_falsy_return_not_yet() -> None:
    check = Check(0, [], "hit")
    assert eventually(truthy(check), timeout=5, interval=0, what="a cache hit") == "hit"
    assert check.calls == 3


def test_the_suites_form_retries_falsy_values_but_not_assertions() -> None:
    check = Check(False, True)
    assert waiting.eventually(check, timeout=5, interval=0, what="x") is True
    duplicate = Check(False, AssertionError("duplicate notifications: {'o1': 2}"))
    with pytest.raises(AssertionError, match="duplicate"):
        waiting.eventually(duplicate, timeout=30, interval=0, what="one notification each")
    assert duplicate.calls == 2
