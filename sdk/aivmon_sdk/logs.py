"""A `logging.Handler` that sends records through the OpenTelemetry log pipeline: plain `logging`
calls arrive in aivmon with the current trace and span ids and the record's extra fields."""

import logging
from typing import Any

from opentelemetry._logs import LoggerProvider, SeverityNumber
from opentelemetry.context import get_current

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RESERVED = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
# Records from the export path itself would loop back into it.
_OWN_LOGGERS = ("aivmon_sdk", "opentelemetry", "urllib3", "requests")
_SEVERITY = {
    logging.DEBUG: SeverityNumber.DEBUG,
    logging.INFO: SeverityNumber.INFO,
    logging.WARNING: SeverityNumber.WARN,
    logging.ERROR: SeverityNumber.ERROR,
    logging.CRITICAL: SeverityNumber.FATAL,
}
_SEVERITY_TEXT = {"WARNING": "WARN", "CRITICAL": "FATAL"}


def _severity(levelno: int) -> SeverityNumber:
    for level in (logging.CRITICAL, logging.ERROR, logging.WARNING, logging.INFO):
        if levelno >= level:
            return _SEVERITY[level]
    return SeverityNumber.DEBUG


def _attribute(value: Any) -> Any:
    if isinstance(value, str | bool | int | float):
        return value
    return str(value)


class AivmonLogHandler(logging.Handler):
    """Emit each record as an OpenTelemetry log record (never blocks: the processor batches)."""

    def __init__(self, logger_provider: LoggerProvider, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self._provider = logger_provider

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_OWN_LOGGERS):
            return
        try:
            attributes = {k: _attribute(v) for k, v in vars(record).items() if k not in _RESERVED}
            attributes["logger"] = record.name
            attributes["code.function"] = record.funcName
            attributes["code.lineno"] = record.lineno
            if record.exc_info and record.exc_info[0] is not None:
                attributes["exception.type"] = record.exc_info[0].__name__
                attributes["exception.stacktrace"] = logging.Formatter().formatException(
                    record.exc_info
                )
            self._provider.get_logger(record.name).emit(
                timestamp=int(record.created * 1e9),
                context=get_current(),
                severity_number=_severity(record.levelno),
                severity_text=_SEVERITY_TEXT.get(record.levelname, record.levelname),
                body=self.format(record) if self.formatter else record.getMessage(),
                attributes=attributes,
            )
        except Exception:  # a handler must never raise into the application
            self.handleError(record)
