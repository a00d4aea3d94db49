"""What a storage service answers for a batch handed to it by ingest."""

from dataclasses import dataclass, field


@dataclass
class WriteResult:
    """How many items of a batch were stored, and which were refused (index in the batch, why).

    Items that were already stored (a repeated export) count as accepted: storing is idempotent.
    """

    accepted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    # The names written to (metric names), for callers that react to fresh data (alert rules).
    names: set[str] = field(default_factory=set)
