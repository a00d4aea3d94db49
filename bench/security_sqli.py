"""`python -m bench.security_sqli`: the SQL-injection detector's accuracy and speed.

Accuracy: per corpus file of shared/corpora/sqli, the share of lines flagged (confidence ≥ 0.3)
and rated high (≥ 0.75); for benign files that share is the false-positive rate, pooled too.
Speed: p50/p99 of `sqli_confidence` on a 1 KB benign-looking and a 1 KB malicious-looking
value, each printed with its ratio to a ceiling measured in the same run on the same value:
one precompiled `re.search` for three classic signatures (what a naive filter does).
"""

import re
import time
from pathlib import Path

from apps.security.detectors.sql_injection import sqli_confidence

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT.parent / "shared" / "corpora" / "sqli"
FLAGGED = 0.3
HIGH = 0.75
ROUNDS = 7
CALLS_PER_ROUND = 500
VALUE_BYTES = 1024

BENIGN_1K = (
    "Our field bag is intended as a daily workhorse, a crossover between a traditional "
    "English fishing bag and an urban messenger bag. It's durable (22 oz waxed twill), and the "
    "owner's sleeve fits 15\" laptops; order by phone or online, and we'll ship in 2-3 days. "
    "Questions? Ask O'Brien at the front desk - he's there from 9 to 5, Monday or Tuesday. "
) * 4
MALICIOUS_1K = (
    "-1' UNION ALL SELECT NULL,CONCAT(0x71786a7671,IFNULL(CAST(username AS CHAR),0x20),0x3a,"
    "IFNULL(CAST(password AS CHAR),0x20),0x7176627a71),NULL FROM users WHERE id=1 AND 1=1 OR "
    "(SELECT SLEEP(5)) AND 'a'='a' -- "
) * 6
CEILING = re.compile(r"union\s+select|sleep\s*\(|'\s*or\s")


def lines(path: Path) -> list[str]:
    """The non-empty lines of a corpus file: one value each."""
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def rates(path: Path) -> tuple[int, int, int]:
    """(lines, flagged, high) for one corpus file."""
    scores = [sqli_confidence(line)[0] for line in lines(path)]
    return len(scores), sum(s >= FLAGGED for s in scores), sum(s >= HIGH for s in scores)


def accuracy_report() -> None:
    """Print detection per malicious file, false positives per benign file and pooled."""
    for folder in ("malicious", "benign"):
        pooled = [0, 0]
        for path in sorted((CORPORA / folder).glob("*.txt")):
            count, flagged, high = rates(path)
            pooled = [pooled[0] + count, pooled[1] + flagged]
            label = "detected" if folder == "malicious" else "false positives"
            print(
                f"{folder:9s} {path.name:42s} {count:5d} lines: {label} {flagged:5d} "
                f"= {flagged / count:6.1%}, high {high:5d} = {high / count:6.1%}"
            )
        if folder == "benign":
            rate = pooled[1] / pooled[0]
            print(f"benign    pooled false positives {pooled[1]}/{pooled[0]} = {rate:.2%}")


def percentiles_us(function, value: str) -> tuple[float, float]:
    """(p50, p99) in µs of calling `function(value)`, the best of ROUNDS rounds."""
    best = (float("inf"), float("inf"))
    for _ in range(ROUNDS):
        samples = []
        for _ in range(CALLS_PER_ROUND):
            started = time.perf_counter()
            function(value)
            samples.append(time.perf_counter() - started)
        samples.sort()
        p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
        best = min(best, (p50 * 1e6, p99 * 1e6))
    return best


def speed_report() -> None:
    """Print p50/p99 of sqli_confidence on 1 KB values, each with its ratio to the ceiling."""
    for label, value in (("benign", BENIGN_1K), ("malicious", MALICIOUS_1K)):
        value = value[:VALUE_BYTES]
        p50, p99 = percentiles_us(sqli_confidence, value)
        c50, c99 = percentiles_us(CEILING.search, value)
        print(
            f"speed     sqli_confidence, 1 KB {label:9s} value: p50 {p50:6.1f} µs, "
            f"p99 {p99:6.1f} µs = {p50 / c50:5.1f} x / {p99 / c99:5.1f} x ceiling "
            f"(one re.search: p50 {c50:.1f} µs, p99 {c99:.1f} µs); "
            f"confidence {sqli_confidence(value)[0]:.2f}"
        )


def main() -> None:
    """Print the accuracy report, then the speed report."""
    assert CORPORA.is_dir(), f"SQL-injection corpora not found at {CORPORA}"
    accuracy_report()
    speed_report()


if __name__ == "__main__":
    main()
