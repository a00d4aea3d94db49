"""User regular expressions run in linear time: RE2, refusing what it cannot match that way."""

import time

import pytest

from apps.core.linear_regex import PatternError, compiled, fullmatches


def test_a_pattern_matches_the_whole_text_only():
    assert fullmatches("api|web", "web")
    assert not fullmatches("api|web", "webserver")
    assert fullmatches(r"host-\d+", "host-42")


def test_a_catastrophic_backtracking_pattern_answers_at_once():
    started = time.process_time()

    assert not fullmatches("(a+)+$", "a" * 100_000 + "!")

    # Python's re needs about a second for 25 characters and doubles with each one more.
    assert time.process_time() - started < 5


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("(", "missing )"), (r"(a)\1", "invalid escape"), ("(?=a)b", "invalid perl operator")],
)
def test_a_pattern_re2_cannot_run_is_refused_with_its_reason(pattern, reason):
    with pytest.raises(PatternError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        compiled(pattern)
