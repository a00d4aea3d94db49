HEARTBEAT_KEY = "aivmon:worker:heartbeat"

# Retention defaults (DESIGN.md); each editable in the admin. None keeps data forever.
RETENTION_DEFAULTS: dict[str, tuple[int | None, str]] = {
    "metrics.raw": (7, "metric points, raw"),
    "metrics.hourly": (30, "metric rollups, hourly"),
    "metrics.daily": (365, "metric rollups, daily"),
    "traces.all": (3, "traces without errors"),
    "traces.error": (90, "traces with an error"),
    "logs.debug": (7, "log records below INFO"),
    "logs.info": (30, "log records at INFO (access logs)"),
    "logs.warn": (90, "log records at WARN and above"),
    "security.standard": (90, "security events, standard"),
    "security.high": (365, "security events, high"),
    "security.critical": (None, "security events, critical"),
}
