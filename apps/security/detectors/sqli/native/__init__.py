"""Compiled parts of the SQL-injection check (C, built by `make` with `scripts/build_native.py`).

Each `X.c` here becomes the extension module `_X` beside this file. Each is an exact port of
pure-Python functions of the detector, which stay as the reference: a native function answers
None where it declines an input (a string that is not one byte per character, say), and the
Python function takes over. `AIVMON_SQLI_NATIVE=0` turns every native part off, as does a machine
where they were not built.
"""

import importlib
import os
from types import ModuleType

# Every compiled part, in the order a value meets them (each `X.c` here builds `_X`).
PARTS = ("normalise", "gates", "sample", "lexer", "signatures")


def enabled() -> bool:
    """Whether native parts may be used at all (`AIVMON_SQLI_NATIVE`, on unless "0")."""
    return os.environ.get("AIVMON_SQLI_NATIVE", "1") != "0"


def load(name: str) -> ModuleType | None:
    """The built module `_<name>`, or None when native parts are off or it was not built."""
    if not enabled():
        return None
    try:
        return importlib.import_module(f"{__name__}._{name}")
    except ImportError:
        return None
