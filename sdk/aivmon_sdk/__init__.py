"""aivmon_sdk: instrument a Python service for aivmon on top of OpenTelemetry.

Usage::

    from aivmon_sdk import ObservabilitySystem, timed_operation
    obs = ObservabilitySystem("checkout", "http://aivmon:8000", api_key)

    @timed_operation(obs, "charge")
    def charge(order): ...
"""

from aivmon_sdk.core import ObservabilitySystem
from aivmon_sdk.helpers import (
    PipelineRun,
    log_authentication_attempt,
    phase,
    pipeline_run,
    record_routing,
)
from aivmon_sdk.instrumentation import timed_operation, traced_operation
from aivmon_sdk.logs import AivmonLogHandler
from aivmon_sdk.spool import Spool

__all__ = [
    "AivmonLogHandler",
    "ObservabilitySystem",
    "PipelineRun",
    "Spool",
    "log_authentication_attempt",
    "phase",
    "pipeline_run",
    "record_routing",
    "timed_operation",
    "traced_operation",
]
__version__ = "0.1.0"
