"""Build the compiled parts of the SQL-injection check in place (`make` runs this).

Every `apps/security/detectors/sqli/native/X.c` becomes the extension module `_X` beside it.
With `--optional`, a machine without a C compiler gets a warning and the pure-Python detector,
which gives the same results, only slower.
"""

import os
import sys
from pathlib import Path

from setuptools import Distribution, Extension
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "apps" / "security" / "detectors" / "sqli" / "native"
PACKAGE = "apps.security.detectors.sqli.native"
FLAGS = [
    "-O2",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Wno-missing-field-initializers",
    "-Werror",
    "-std=c11",
]


def extensions() -> list[Extension]:
    """One extension module per C file, each with the shared header."""
    depends = [str(path.relative_to(ROOT)) for path in sorted(NATIVE.glob("*.h"))]
    return [
        Extension(
            f"{PACKAGE}._{source.stem}",
            [str(source.relative_to(ROOT))],
            depends=depends,
            extra_compile_args=FLAGS,
        )
        for source in sorted(NATIVE.glob("*.c"))
    ]


def build() -> None:
    """Compile every module that is missing or older than its sources, in place."""
    os.chdir(ROOT)  # the sources are named relative to it
    distribution = Distribution({"name": "aivmon-native", "ext_modules": extensions()})
    command = build_ext(distribution)
    command.inplace = True
    command.build_temp = str(ROOT / "var" / "build-native")
    command.ensure_finalized()
    command.run()


def main() -> int:
    """Build; with --optional, a failed build is a warning, not an error."""
    try:
        build()
    except Exception as error:  # any compiler or setup failure
        if "--optional" not in sys.argv:
            raise
        sys.stderr.write(
            f"warning: the native SQL-injection parts were not built ({error}); "
            "the pure-Python detector is used\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
