import pytest

from apps.metrics import series_cache
from apps.metrics.series_cache import SeriesCache


@pytest.fixture(autouse=True)
def fresh_series_cache(monkeypatch) -> SeriesCache:
    """A new, empty process cache of series for every test."""
    cache = SeriesCache(max_entries=1000)
    monkeypatch.setattr(series_cache, "_cache", cache)
    return cache
