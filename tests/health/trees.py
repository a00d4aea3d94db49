"""Fixture source trees for the scanner, written into tmp_path by the tests."""

from pathlib import Path

FULL = '''\
import logging

logger = logging.getLogger(__name__)


class Ledger:
    """Sums entries per account."""

    def __init__(self, entries):
        self.entries = list(entries)

    def totals(self):
        found = {}
        for account, amount in self.entries:
            if amount < 0:
                raise ValueError("negative amount")
            found[account] = found.get(account, 0) + amount
        return found

    def largest(self):
        totals = self.totals()
        return max(totals.items(), key=lambda item: item[1]) if totals else None


def load(path):
    try:
        with open(path) as handle:
            return [line.split(",") for line in handle if line.strip()]
    except OSError as exc:
        logger.warning("ledger.load.failed", extra={"error": str(exc)})
        return []


async def fetch(client, url):
    response = await client.get(url)
    if response.status >= 400:
        raise RuntimeError(f"status {response.status}")
    return response.json()
'''

STUBS = '''\
def nothing():
    pass


def later():
    ...


def documented():
    """Will compute something."""


def unfinished():
    raise NotImplementedError


def unfinished_call():
    raise NotImplementedError("soon")


def empty_return():
    return


def none_return():
    """Docstring first."""
    return None


def planned():
    # TODO: write it
    pass
'''

DECLARATIONS = """\
import abc
import typing
from typing import Protocol, overload


class Sender(Protocol):
    def send(self, message: str) -> None: ...

    def close(self) -> None:
        ...


class Reader(typing.Protocol):
    def read(self) -> bytes: ...


class Base(abc.ABC):
    @abc.abstractmethod
    def run(self):
        ...

    @abc.abstractmethod
    def stop(self):
        raise NotImplementedError


@overload
def parse(value: int) -> int: ...
@overload
def parse(value: str) -> str: ...
def parse(value):
    return value * 2 if isinstance(value, int) else value.strip()
"""

BROKEN = "def broken(:\n    return 1\n"


def write(root: Path, files: dict[str, str]) -> Path:
    """Write files (relative path → source) under root; return root."""
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root
