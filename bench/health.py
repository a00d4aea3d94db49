"""`python -m bench.health`: the code-health scanner on a generated 50,000-line tree.

The tree: 250 modules of ~200 lines each, in 25 packages — classes with methods, loops,
error handling with logging, async functions, and one stub in five functions. Prints the scan's
seconds (best of three) with its ratio to a ceiling measured in the same run on the same files:
reading and `ast.parse` of each file alone, with no walk and no scoring. Target: under 10 s.
"""

import ast
import tempfile
import time
from pathlib import Path

from apps.health.scanner import python_files, tree_scan

PACKAGES = 25
MODULES_PER_PACKAGE = 10
TARGET_LINES = 50_000
ROUNDS = 3

UNIT = '''
class Worker{n}:
    """Processes batch {n}."""

    def __init__(self, items, limit={n}):
        self.items = list(items)
        self.limit = limit

    def run(self):
        done = {{}}
        for index, item in enumerate(self.items):
            if index >= self.limit:
                break
            try:
                done[item] = self.transform(item) * 2 + index
            except (TypeError, ValueError) as exc:
                logger.warning("worker.failed", extra={{"item": item, "error": str(exc)}})
        return done

    def transform(self, item):
        return sum(ord(char) for char in str(item)) % {n}


async def fetch_{n}(client, urls):
    results = []
    for url in urls:
        response = await client.get(url)
        if response.status >= 400:
            raise RuntimeError(f"{{url}}: {{response.status}}")
        results.append(response.json())
    return results


def pending_{n}():
    raise NotImplementedError
'''


def tree_write(root: Path) -> int:
    """Write the generated tree under root; return its line count."""
    header = "import logging\n\nlogger = logging.getLogger(__name__)\n"
    unit_lines = UNIT.count("\n")
    units = -(-TARGET_LINES // (PACKAGES * MODULES_PER_PACKAGE) // unit_lines)  # rounded up
    lines = 0
    for package in range(PACKAGES):
        folder = root / f"pkg{package}"
        folder.mkdir()
        (folder / "__init__.py").write_text("")
        for module in range(MODULES_PER_PACKAGE):
            body = header + "".join(UNIT.format(n=n + 1) for n in range(units))
            (folder / f"mod{module}.py").write_text(body)
            lines += body.count("\n")
    return lines


def parse_only(root: Path) -> None:
    for path in python_files(root):
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def best_of(run, root: Path) -> float:
    timings = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        run(root)
        timings.append(time.perf_counter() - began)
    return min(timings)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aivmon-bench-health-") as folder:
        root = Path(folder)
        lines = tree_write(root)
        report = tree_scan(root)
        scan_s = best_of(tree_scan, root)
        ceiling_s = best_of(parse_only, root)
    print(f"health scanner: {report.files} files, {lines} lines, {report.stub_count} stubs")
    print(f"  score {report.score} ({report.status})")
    print(
        f"  scan {scan_s:.2f} s (target < 10 s); read + ast.parse alone {ceiling_s:.2f} s; "
        f"ratio {scan_s / ceiling_s:.2f}x"
    )


if __name__ == "__main__":
    main()
