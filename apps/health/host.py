"""Sampling the host with psutil: figures for GET /health/host, points for the metric store.

Names follow OpenTelemetry's semantic conventions for system and process metrics. Cumulative
figures (disk and network bytes, errors, CPU time of processes) are stored as counters, so
that the query API's `rate` turns them into throughput; the snapshot for the API carries rates
computed against the previous snapshot.
"""

import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

import psutil

from apps.health.constants import HOST_SERVICE
from apps.metrics.services import PointIn

logger = logging.getLogger(__name__)
SKIPPED_DISKS = ("loop", "ram", "zram")
OWN_MARKERS = ("aivmon", "apps.core.bundled_redis")


@dataclass(slots=True)
class HostSample:
    host: str
    ts_ms: int
    gauges: list[tuple[str, dict[str, str], float, str]] = field(default_factory=list)
    counters: list[tuple[str, dict[str, str], float, str]] = field(default_factory=list)

    def gauge(self, name: str, labels: dict[str, str], value: float, unit: str = "") -> None:
        self.gauges.append((name, labels, float(value), unit))

    def counter(self, name: str, labels: dict[str, str], value: float, unit: str = "") -> None:
        self.counters.append((name, labels, float(value), unit))

    def points(self) -> list[PointIn]:
        """Return the sample as metric points of service aivmon, each labelled host.name."""
        rows = [("gauge", row) for row in self.gauges] + [("counter", row) for row in self.counters]
        return [
            PointIn(
                name=name,
                type=kind,
                service=HOST_SERVICE,
                labels={"host.name": self.host, **labels},
                ts_ms=self.ts_ms,
                value=value,
                unit=unit,
            )
            for kind, (name, labels, value, unit) in rows
        ]


def host_sample(*, ts_ms: int) -> HostSample:
    """Read CPU, memory, swap, disks, network, processes and aivmon's own processes now."""
    sample = HostSample(host=socket.gethostname(), ts_ms=ts_ms)
    for read in (_cpu, _memory, _filesystems, _disk_io, _network, _processes, _own_processes):
        try:
            read(sample)
        except (psutil.Error, OSError) as exc:  # one unreadable source must not lose the rest
            logger.warning(
                "health.host.read_failed", extra={"source": read.__name__, "error": str(exc)}
            )
    return sample


def _cpu(sample: HostSample) -> None:
    # Utilisation since the previous call in this process (the first call answers 0).
    per_core = psutil.cpu_percent(interval=None, percpu=True)
    total = sum(per_core) / len(per_core) if per_core else 0.0
    sample.gauge("system.cpu.utilization", {"cpu": "total"}, total / 100, "1")
    for index, percent in enumerate(per_core):
        sample.gauge("system.cpu.utilization", {"cpu": str(index)}, percent / 100, "1")
    sample.gauge("system.cpu.logical.count", {}, len(per_core), "{cpu}")
    for minutes, load in zip((1, 5, 15), os.getloadavg(), strict=True):
        sample.gauge(f"system.cpu.load_average.{minutes}m", {}, load, "{thread}")


def _memory(sample: HostSample) -> None:
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    for state in ("used", "free", "available", "cached", "buffers"):
        if hasattr(memory, state):
            sample.gauge("system.memory.usage", {"state": state}, getattr(memory, state), "By")
    sample.gauge("system.memory.limit", {}, memory.total, "By")
    sample.gauge("system.memory.utilization", {}, memory.percent / 100, "1")
    sample.gauge("system.paging.usage", {"state": "used"}, swap.used, "By")
    sample.gauge("system.paging.usage", {"state": "free"}, swap.free, "By")
    sample.gauge("system.paging.utilization", {}, swap.percent / 100, "1")


def _filesystems(sample: HostSample) -> None:
    for partition in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:
            continue  # an unmounted or unreadable mount point
        labels = {"system.filesystem.mountpoint": partition.mountpoint}
        sample.gauge("system.filesystem.usage", {**labels, "state": "used"}, usage.used, "By")
        sample.gauge("system.filesystem.usage", {**labels, "state": "free"}, usage.free, "By")
        sample.gauge("system.filesystem.utilization", labels, usage.percent / 100, "1")


def _disk_io(sample: HostSample) -> None:
    for device, io in (psutil.disk_io_counters(perdisk=True) or {}).items():
        if device.startswith(SKIPPED_DISKS):
            continue
        for direction, done, ops in (
            ("read", io.read_bytes, io.read_count),
            ("write", io.write_bytes, io.write_count),
        ):
            labels = {"system.device": device, "disk.io.direction": direction}
            sample.counter("system.disk.io", labels, done, "By")
            sample.counter("system.disk.operations", labels, ops, "{operation}")


def _network(sample: HostSample) -> None:
    for device, io in psutil.net_io_counters(pernic=True).items():
        for direction, done, errors, dropped in (
            ("receive", io.bytes_recv, io.errin, io.dropin),
            ("transmit", io.bytes_sent, io.errout, io.dropout),
        ):
            labels = {"system.device": device, "network.io.direction": direction}
            sample.counter("system.network.io", labels, done, "By")
            sample.counter("system.network.errors", labels, errors, "{error}")
            sample.counter("system.network.dropped", labels, dropped, "{packet}")


def _processes(sample: HostSample) -> None:
    sample.gauge("system.process.count", {}, len(psutil.pids()), "{process}")
    try:
        connections = psutil.net_connections(kind="inet")
    except psutil.AccessDenied:
        return
    by_protocol: dict[str, int] = {"tcp": 0, "udp": 0}
    for connection in connections:
        by_protocol["tcp" if connection.type == socket.SOCK_STREAM else "udp"] += 1
    for protocol, count in by_protocol.items():
        sample.gauge("system.network.connection.count", {"network.transport": protocol}, count)


def _own_processes(sample: HostSample) -> None:
    for process in psutil.process_iter(["pid", "name", "cmdline", "memory_info", "cpu_times"]):
        info: dict[str, Any] = process.info
        command = " ".join(info.get("cmdline") or [])
        if info["pid"] != os.getpid() and not any(marker in command for marker in OWN_MARKERS):
            continue
        if info.get("memory_info") is None or info.get("cpu_times") is None:
            continue  # gone, or not ours to read
        labels = {"process.pid": str(info["pid"]), "process.role": _role(command)}
        sample.gauge("process.memory.usage", labels, info["memory_info"].rss, "By")
        cpu_s = info["cpu_times"].user + info["cpu_times"].system
        sample.counter("process.cpu.time", labels, cpu_s, "s")


def _role(command: str) -> str:
    for role, marker in (
        ("worker", " worker"),
        ("beat", " beat"),
        ("web", "gunicorn"),
        ("web", "runserver"),
        ("redis", "redis"),
    ):
        if marker in command:
            return role
    return "other"


def host_figures(sample: HostSample, previous: dict | None) -> dict:
    """Return the sample as the API shows it: gauges, counters, and per-second rates of the
    counters since `previous` (the figures of the sample before, or None)."""
    counters = {_key(name, labels): value for name, labels, value, _unit in sample.counters}
    rates: dict[str, float] = {}
    if previous and sample.ts_ms > previous.get("ts_ms", sample.ts_ms):
        elapsed_s = (sample.ts_ms - previous["ts_ms"]) / 1000
        for key, value in counters.items():
            before = previous.get("counters", {}).get(key)
            if before is not None and value >= before:  # a reset (reboot) gives no rate
                rates[key] = round((value - before) / elapsed_s, 3)
    return {
        "host": sample.host,
        "ts_ms": sample.ts_ms,
        "gauges": {_key(name, labels): value for name, labels, value, _unit in sample.gauges},
        "counters": counters,
        "rates": rates,
    }


def _key(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"
