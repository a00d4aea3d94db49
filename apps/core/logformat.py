"""Log lines that keep what `extra=` carries: aivmon logs events by name with their reasons as
extra fields (`logger.warning("ingest.backpressure", extra={"error": ...})`), which a plain
format string would drop."""

import json
import logging

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
MAX_VALUE_CHARS = 500


def _text(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS] + "…"
    plain = text and not any(char.isspace() or char in '="' for char in text)
    return text if plain else json.dumps(text, ensure_ascii=False)


OWN_LOGGERS = ("apps.", "aivmon.")  # other libraries' extras are theirs: Celery's task
# result lines, say, carry the result again as `data`, and tools read those lines as they are


class ExtrasFormatter(logging.Formatter):
    """The configured format, then, for aivmon's own loggers, each extra field as key=value
    (values quoted when needed)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        if not record.name.startswith(OWN_LOGGERS):
            return line
        extras = [
            f"{key}={_text(value)}"
            for key, value in vars(record).items()
            if key not in _STANDARD and not key.startswith("_")
        ]
        return f"{line} {' '.join(extras)}" if extras else line
