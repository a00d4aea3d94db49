"""`python -m bench.security_sqli`: the SQL-injection detector's accuracy and speed.

Accuracy: per corpus file of tests/security/corpora/sqli, the share of lines flagged
(confidence ≥ 0.3) and rated high (≥ 0.75); for benign files that share is the
false-positive rate, pooled too.

Speed: p50/p99 of `sqli_confidence` on 1 KB values, by elapsed time and by the thread's CPU
time (which other work on a shared machine does not add to, where it decides the elapsed p99),
each printed with its ratio to a ceiling measured in the same run on the same values: one
precompiled `re.search` for three classic signatures (what a naive filter does). Every call gets
a value of its own, none seen before in the run (the detector caches whole values; that cache
must not flatter the figures; short
nested values such as JSON keys and enum-like fields do repeat, as they do in real traffic):
- benign: prose (product text, reviews, support notes with names like O'Brien, inch marks,
  prices, accents, a link, the odd "select", "order by" or "drop"), a JSON order document, or
  a long URL (search words, filters, tracking, an encoded return URL, tokens), in turn;
- malicious: one of a dozen classic payloads (UNION, boolean, time-based, error-based, stacked,
  encoded) with random numbers and names, placed in such a value: appended to it, inside it,
  in a JSON field or in a query parameter.
The compiled parts in use are printed first (`AIVMON_SQLI_NATIVE=0`: none, pure Python).
The share of values flagged (confidence ≥ 0.3) is printed too: false positives for benign.
So are the CPU-time p50/p99 per kind of value (prose, JSON, URL; the four placements), from one
pass over values of their own: they tell which kind the overall p99 comes from.
"""

import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, quote_plus

import orjson

from apps.security.detectors.sql_injection import sqli_confidence
from apps.security.detectors.sqli import native

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "tests" / "security" / "corpora" / "sqli"
FLAGGED = 0.3
HIGH = 0.75
ROUNDS = 7
CALLS_PER_ROUND = 500
VALUE_BYTES = 1024
SEED = 20240611

CEILING = re.compile(r"union\s+select|sleep\s*\(|'\s*or\s")

NAMES = ("O'Brien", "D'Angelo", "Anna Smith", "José García", "Zoë Müller", "Li Wei", "Ravi")
SENTENCES = (
    "Our {item} is intended as a daily workhorse, a crossover between a traditional fishing "
    "bag and an urban messenger bag.",
    "It's durable ({n} oz waxed twill), and the owner's sleeve fits {n}\" laptops; order by "
    "phone or online, and we'll ship in {n}-{n2} days.",
    "Questions? Ask {name} at the front desk - they're there from {h} to {h2}, Monday or Tuesday.",
    "Select a plan that fits: Basic ({n} GB) or Pro ({n3} GB), and we'll update your account "
    "within {n} hours.",
    "I tried to drop the table leg by {n} cm but the union of the two parts didn't hold "
    "(see photo #{n}).",
    'Values like "null" or "true" are stored as text, not as booleans; 1 or 2 rows may differ.',
    "Delivery to {city} costs ${n}.{n2}0, free over ${n3} - see "
    "https://shop.example.com/help/shipping?lang=en&ref={n4}.",
    "Email {email} or call +44 20 {n4} {n4}; we answer from {h}:00 to {h2}:30.",
    "Where is my order {ref}? It was created on 2024-0{n2}-1{n2} and says 'pending' since then.",
    "Insert the card, select 'Pay' and wait ~{n} s; if the screen goes blank, hold * and # "
    "for {n2} s.",
    'The 3/4" adapter (part {ref}) fits models A-{n} to A-{n3}, not the older 5/8" ones.',
    'Rated {n2}/5 by {n3} customers: "worth every penny", "a bit heavy", "colour as shown".',
    "Set the limit to {n}% and group items by size, then sort from smallest to largest.",
    "Version {n}.{n2}.{n3} fixes the bug where users with a ' in their name couldn't log in.",
    '{name} wrote: "Where do I find the invoice for order #{n4}? I can\'t see it anywhere."',
    "The {item} (model {ref}) is {n}% off until Friday, or while stocks last; limit {n2} per "
    "customer.",
    "Notes: left side = {n} mm, right side = {n3} mm; the gap between them is about {n2} mm.",
    "Thanks, {name}! The replacement arrived on time and fits perfectly :-)",
    "The strap is adjustable from {n} to {n3} cm and the buckle is solid brass.",
    "We recommend a damp cloth for cleaning; never put it in the washing machine.",
    "Returns are free within {n} days, just keep the tags on and use the prepaid label.",
    "My husband uses it every day on his bike commute and it still looks new after a year.",
    "Colours may look slightly different on your screen, especially the olive and the sand.",
    "Our workshop in {city} makes about {n3} bags a week, each one numbered by hand.",
    "It fits a water bottle, a jumper, two books and lunch, with room to spare.",
    "Shipping to {city} usually takes {n2} working days, a little longer around holidays.",
    "Great quality, friendly service, and the packaging was plastic-free. Five stars!",
    "The inner pocket has a key clip and a slot for pens, which I didn't expect.",
)
ITEMS = ("field bag", "backpack", "tote", "wallet", "duffel", "laptop sleeve", "belt")
CITIES = ("Dublin", "Köln", "São Paulo", "New York", "Lyon", "Kraków")
PAYLOADS = (
    "{n}' UNION ALL SELECT NULL,CONCAT(0x{hex},IFNULL(CAST({col} AS CHAR),0x20),0x{hex}),"
    "NULL FROM {table}-- -",
    "{n}' AND (SELECT {n4} FROM (SELECT(SLEEP({s}))){w})-- {w}",
    "{w}' OR '{n}'='{n}",
    "'; DROP TABLE {table};--",
    "{n}' AND EXTRACTVALUE({n4},CONCAT(0x5c,0x{hex},(SELECT (ELT({n4}={n4},1))),0x{hex}))-- {w}",
    "{n}); WAITFOR DELAY '0:0:{s}'--",
    "{w}'/**/OR/**/{n}={n}#",
    "{n} OR 1=1 ORDER BY {s}--",
    "-{n}' UNION SELECT table_name,column_name FROM information_schema.columns "
    "WHERE table_schema=database()-- -",
    "{n}%27%20AND%20{n4}%3D{n4}%20AND%20%27{w}%27%3D%27{w}",
    "{n}' AND 1=CAST((SELECT version()) AS int)--",
    "{w}' || pg_sleep({s}) --",
    "{n} AND (SELECT {n4} FROM (SELECT COUNT(*),CONCAT(0x{hex},(SELECT user()),FLOOR(RAND(0)*2))"
    "x FROM information_schema.plugins GROUP BY x)a)",
)


def _fill(rng: random.Random, template: str) -> str:
    """Fill a sentence or payload template with random numbers, names and words."""
    return template.format(
        n=rng.randrange(1, 100),
        n2=rng.randrange(1, 10),
        n3=rng.randrange(100, 1000),
        n4=rng.randrange(1000, 10000),
        h=rng.randrange(7, 11),
        h2=rng.randrange(4, 8),
        s=rng.randrange(2, 10),
        hex=f"{rng.getrandbits(40):010x}",
        name=rng.choice(NAMES),
        item=rng.choice(ITEMS),
        city=rng.choice(CITIES),
        email=f"{rng.choice(('help', 'ann.lee', 'orders'))}{rng.randrange(100)}@example.com",
        ref=f"{rng.choice('ABCXYZ')}{rng.randrange(10**5, 10**6)}",
        col=rng.choice(("username", "password", "email", "api_key")),
        table=rng.choice(("users", "accounts", "customers", "admin")),
        w="".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4)),
    )


def _prose(rng: random.Random, size: int) -> str:
    """Sentences in random order, at least `size` characters, cut to exactly `size`."""
    text = ""
    while len(text) < size:
        text += _fill(rng, rng.choice(SENTENCES)) + " "
    return text[:size]


def _json(rng: random.Random, size: int) -> str:
    """A JSON order document of about `size` characters (never more)."""
    document = {
        "id": rng.randrange(10**6),
        "customer": {"name": rng.choice(NAMES), "city": rng.choice(CITIES), "vip": False},
        "items": [
            {"sku": f"SKU-{rng.randrange(10**5)}", "qty": rng.randrange(1, 4), "note": None}
            for _ in range(rng.randrange(2, 5))
        ],
        "comment": "",
    }
    room = size - len(orjson.dumps(document))
    while room > 0:
        document["comment"] = _prose(rng, room)
        encoded = orjson.dumps(document)
        if len(encoded) <= size:
            return encoded.decode()
        room -= len(encoded) - size
    return orjson.dumps(document).decode()


def _url(rng: random.Random, size: int) -> str:
    """A long URL: a search, filters, tracking parameters, an encoded return URL, a token."""
    words = _prose(rng, rng.randrange(40, 120)).split()
    url = (
        f"https://shop.example.com/search?q={quote_plus(' '.join(words))}&category=bags"
        f"&sort=price_asc&page={rng.randrange(1, 9)}&utm_source=newsletter&utm_campaign=spring"
        f"&return={quote('https://shop.example.com/cart?id=' + str(rng.randrange(10**6)))}"
        f"&f[colour]={quote_plus(rng.choice(CITIES))}&lang={rng.choice(('en', 'de', 'pt-BR'))}"
    )
    while len(url) < size:
        key = rng.choice(("session", "ref", "token", "fbclid", "gclid"))
        url += f"&{key}={rng.getrandbits(rng.choice((128, 256, 512, 1024))):x}"
    return url[:size]


BENIGN: tuple[Callable[[random.Random, int], str], ...] = (_prose, _json, _url)
BENIGN_KINDS = ("prose", "JSON", "URL")
MALICIOUS_WAYS = ("appended", "inside", "in JSON", "in a query")  # as malicious_value places them


def benign_value(rng: random.Random, index: int) -> str:
    """The index-th benign 1 KB value: prose, JSON and URLs in turn."""
    return BENIGN[index % len(BENIGN)](rng, VALUE_BYTES)


def malicious_value(rng: random.Random, index: int) -> str:
    """The index-th malicious value: a payload placed in a 1 KB benign value, four ways."""
    payload = _fill(rng, PAYLOADS[index % len(PAYLOADS)])
    room = VALUE_BYTES - len(payload)
    way = index // len(PAYLOADS) % 4
    if way == 0:  # appended to ordinary text: the application quotes the whole value
        return _prose(rng, room - 1) + " " + payload
    if way == 1:  # in the middle of it
        head = rng.randrange(room - 2)
        return _prose(rng, head) + " " + payload + " " + _prose(rng, room - 2 - head)
    if way == 2:  # in one field of a JSON document
        document = orjson.loads(_json(rng, room - 20))
        document["customer"]["name"] = payload
        return orjson.dumps(document).decode()
    return _url(rng, room - len(payload)) + "&id=" + quote(payload)  # in a query parameter


def values(make: Callable[[random.Random, int], str], count: int) -> list[str]:
    """`count` distinct values from a seeded generator."""
    rng = random.Random(f"{SEED}-{make.__name__}")  # noqa: S311
    found = [make(rng, index) for index in range(count)]
    assert len(set(found)) == count, "benchmark values must be distinct"
    return found


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


def percentiles_us(
    function: Callable[[str], object],
    inputs: list[str],
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[float, float]:
    """(p50, p99) in µs of calling `function` once per input, the best of ROUNDS rounds."""
    best = (float("inf"), float("inf"))
    for start in range(0, ROUNDS * CALLS_PER_ROUND, CALLS_PER_ROUND):
        samples = []
        for value in inputs[start : start + CALLS_PER_ROUND]:
            started = clock()
            function(value)
            samples.append(clock() - started)
        samples.sort()
        p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
        best = min(best, (p50 * 1e6, p99 * 1e6))
    return best


def kind_of(label: str, index: int) -> str:
    """What the index-th value of `benign_value` or `malicious_value` is (see there)."""
    if label == "benign":
        return BENIGN_KINDS[index % len(BENIGN)]
    return MALICIOUS_WAYS[index // len(PAYLOADS) % len(MALICIOUS_WAYS)]


def kinds_report(label: str, inputs: list[str], start: int) -> str:
    """p50/p99 of the CPU time of sqli_confidence per kind of value, over inputs[start:] (one
    pass, no best of rounds: it tells which kind the overall p99 comes from)."""
    samples: dict[str, list[float]] = {}
    for index in range(start, len(inputs)):
        started = time.thread_time()
        sqli_confidence(inputs[index])
        samples.setdefault(kind_of(label, index), []).append(time.thread_time() - started)
    figures = []
    for kind in BENIGN_KINDS if label == "benign" else MALICIOUS_WAYS:
        times = sorted(samples[kind])
        p50, p99 = times[len(times) // 2] * 1e6, times[int(len(times) * 0.99)] * 1e6
        figures.append(f"{kind} p50 {p50:.0f} p99 {p99:.0f}")
    return "; ".join(figures) + " µs"


def speed_report() -> None:
    """Print p50/p99 of sqli_confidence on 1 KB values, each with its ratio to the ceiling:
    elapsed time, then the thread's CPU time, which other work on the machine does not add to
    (a busy machine's p99 of elapsed time is mostly the waits for a core)."""
    loaded = [name for name in native.PARTS if native.load(name) is not None]
    print(
        f"speed     compiled parts loaded: {', '.join(loaded) or 'none'} "
        f"({len(loaded)} of {len(native.PARTS)}; AIVMON_SQLI_NATIVE=0 measures pure Python)"
    )
    for label, make in (("benign", benign_value), ("malicious", malicious_value)):
        count = ROUNDS * CALLS_PER_ROUND
        # Values of their own for each clock and for the figures per kind: none cached.
        every = values(make, 3 * count)
        inputs = every[: 2 * count]
        for clock_name, clock, part in (
            ("elapsed", time.perf_counter, inputs[:count]),
            ("CPU", time.thread_time, inputs[count:]),
        ):
            c50, c99 = percentiles_us(CEILING.search, part, clock)
            p50, p99 = percentiles_us(sqli_confidence, part, clock)
            print(
                f"speed     sqli_confidence, {label:9s} values, "
                f"{clock_name:7s}: p50 {p50:6.1f} µs, p99 {p99:6.1f} µs = {p50 / c50:5.1f} x / "
                f"{p99 / c99:5.1f} x ceiling (one re.search: p50 {c50:.1f} µs, p99 {c99:.1f} µs)"
            )
        print(f"speed     {label} values by kind, CPU: {kinds_report(label, every, 2 * count)}")
        flagged = sum(sqli_confidence(value)[0] >= FLAGGED for value in inputs) / len(inputs)
        size = sum(map(len, inputs)) / len(inputs)
        print(f"speed     {label} values: {size:4.0f} B on average, flagged {flagged:.1%}")


def main() -> None:
    """Print the accuracy report, then the speed report."""
    assert CORPORA.is_dir(), f"SQL-injection corpora not found at {CORPORA}"
    accuracy_report()
    speed_report()


if __name__ == "__main__":
    main()
