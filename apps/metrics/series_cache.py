"""The in-process cache of the write path: series key → series, and series counts per name.

The series key is the text the stored fingerprint hashes (name, service, canonical labels):
keying by it spares hashing on every hit. Callers of points_write_batch name series by their own
aliases (the fields a series was described from), which spares even building the key; those
are kept in a plain map beside the LRU, dropped whole when full (the keys stay).

Entries are only ever added after the transaction that found or created them commits, so a
rolled-back batch never leaves an id behind; and the whole cache is dropped when the series
epoch token changes (series were deleted, or a test database was flushed).
"""

import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from django.conf import settings

from apps.metrics.constants import DEFAULT_SERIES_CACHE_SIZE


@dataclass(slots=True)
class SeriesRef:
    id: int
    type: str
    name: str
    touched_at: float = 0.0  # epoch s when this process last wrote the series' last_seen


class SeriesCache:
    """A bounded LRU of SeriesRef by series key, SeriesRef by caller alias, and known series
    counts by metric name."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.token: str | None = None
        self._refs: OrderedDict[str, SeriesRef] = OrderedDict()
        self._aliases: dict[Hashable, SeriesRef] = {}
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def sync(self, token: str) -> None:
        """Drop everything if the epoch token is not the one the entries were cached under."""
        with self._lock:
            if token != self.token:
                self._drop()
                self.token = token

    def clear(self) -> None:
        """Drop everything; the next sync starts afresh whatever the token."""
        with self._lock:
            self._drop()
            self.token = None

    def _drop(self) -> None:
        self._refs.clear()
        self._aliases.clear()
        self._counts.clear()

    def aliased(self, aliases: Iterable[Hashable]) -> dict[Hashable, SeriesRef]:
        """Return the cached refs among `aliases`, by alias."""
        get = self._aliases.get
        with self._lock:
            return {alias: ref for alias in aliases if (ref := get(alias)) is not None}

    def get_many(self, keys: Iterable[str]) -> dict[str, SeriesRef]:
        """Return the cached refs among `keys`, marking them recently used."""
        found = {}
        with self._lock:
            for key in keys:
                ref = self._refs.get(key)
                if ref is not None:
                    self._refs.move_to_end(key)
                    found[key] = ref
        return found

    def count(self, name: str) -> int | None:
        """Return the series count of `name` last seen committed, or None if unknown."""
        return self._counts.get(name)

    def remember(
        self,
        token: str,
        refs: dict[str, SeriesRef],
        counts: dict[str, int],
        aliases: dict[Hashable, SeriesRef] | None = None,
    ) -> None:
        """Add committed facts, unless the epoch changed since they were read."""
        with self._lock:
            if token != self.token:
                return
            self._refs.update(refs)
            while len(self._refs) > self.max_entries:
                self._refs.popitem(last=False)
            if aliases:
                if len(self._aliases) + len(aliases) > self.max_entries:
                    self._aliases.clear()
                self._aliases.update(aliases)
            if len(self._counts) + len(counts) > self.max_entries:
                self._counts.clear()
            self._counts.update(counts)

    def __len__(self) -> int:
        return len(self._refs)


_cache: SeriesCache | None = None


def series_cache() -> SeriesCache:
    """Return this process's cache, sized by AIVMON_METRICS_SERIES_CACHE_SIZE."""
    global _cache
    if _cache is None:
        size = getattr(settings, "AIVMON_METRICS_SERIES_CACHE_SIZE", DEFAULT_SERIES_CACHE_SIZE)
        _cache = SeriesCache(size)
    return _cache
