from prometheus_client import Counter

INGEST_ITEMS = Counter(
    "aivmon_ingest_items",
    "Items received by ingest, by signal and outcome.",
    ["signal", "outcome"],
)
