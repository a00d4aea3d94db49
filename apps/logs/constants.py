"""OpenTelemetry severities: numbers 0..24 in six bands of four, and their names."""

# A severity name (as ingest may receive it) to the lowest number of its band.
SEVERITY_NUMBERS = {
    "TRACE": 1,
    "DEBUG": 5,
    "INFO": 9,
    "WARN": 13,
    "WARNING": 13,
    "ERROR": 17,
    "FATAL": 21,
    "CRITICAL": 21,
}
SEVERITY_MIN = 0
SEVERITY_MAX = 24
UNSPECIFIED = "UNSPECIFIED"

# The band names, lowest first: 1-4 TRACE, 5-8 DEBUG, ..., 21-24 FATAL.
_BANDS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")

SEVERITY_TEXT_MAX_LENGTH = 32
SERVICE_MAX_LENGTH = 255


def severity_text_for(number: int) -> str:
    """Return the band name of an OpenTelemetry severity number; UNSPECIFIED for 0 or unknown."""
    if not isinstance(number, int) or not 1 <= number <= SEVERITY_MAX:
        return UNSPECIFIED
    return _BANDS[(number - 1) // 4]
