"""ORM filters built from a search's optional parameters."""

from typing import Any


def given_lookups(**lookups: Any) -> dict[str, Any]:
    """Return the lookups whose value was given (is not None), for `QuerySet.filter(**...)`."""
    return {lookup: value for lookup, value in lookups.items() if value is not None}
