"""Accuracy of `sqli_confidence` on the shared SQL-injection corpora (development split).

The corpora are a copy of the project's shared development split, kept in the repository with
their sources and licences (tests/security/corpora/sqli/README.md and licences/) so that a clean
clone tests them. They are required: a missing directory fails these tests, never skips them.
"""

from pathlib import Path

import pytest
from django.conf import settings

from apps.security.detectors.sql_injection import sqli_confidence

CORPORA = Path(settings.BASE_DIR) / "tests" / "security" / "corpora" / "sqli"
FLAGGED = 0.3
HIGH = 0.75
MAX_BENIGN_FLAGGED = 0.005
DETECTION_TARGETS = {
    "sqli_libinjection_curated.txt": 0.97,
    "sqli_libinjection_forums.txt": 0.99,
    "sqli_payloadsallthethings.txt": 0.90,
    "sqli_crs942_expect_trigger.txt": 0.75,
}
NEVER_HIGH = ("benign_curated_tricky.txt", "benign_curated_sqlish_prose.txt")


def corpus(folder: str, name: str) -> list[str]:
    path = CORPORA / folder / name
    assert path.is_file(), f"missing corpus {path}"
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def benign_files() -> list[str]:
    names = sorted(path.name for path in (CORPORA / "benign").glob("*.txt"))
    assert names, f"no benign corpora in {CORPORA / 'benign'}"
    return names


def test_the_corpora_are_present():
    assert CORPORA.is_dir(), f"SQL-injection corpora not found at {CORPORA}"


@pytest.mark.parametrize(("name", "target"), sorted(DETECTION_TARGETS.items()))
def test_it_flags_enough_of_each_malicious_corpus(name, target):
    payloads = corpus("malicious", name)

    flagged = sum(sqli_confidence(payload)[0] >= FLAGGED for payload in payloads)

    assert flagged / len(payloads) >= target, f"{flagged}/{len(payloads)} flagged in {name}"


def test_it_flags_almost_no_benign_value():
    values = [value for name in benign_files() for value in corpus("benign", name)]

    flagged = [value for value in values if sqli_confidence(value)[0] >= FLAGGED]

    assert len(flagged) / len(values) <= MAX_BENIGN_FLAGGED, flagged


@pytest.mark.parametrize("name", NEVER_HIGH)
def test_it_never_rates_tricky_names_or_prose_about_sql_high(name):
    high = [value for value in corpus("benign", name) if sqli_confidence(value)[0] >= HIGH]

    assert high == []
