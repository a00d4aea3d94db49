"""The code-health scanner: how complete is the Python code under a folder, from its AST alone.

Pure: no Django, no database. `tree_scan(root)` parses every `.py` file once, walks it once,
and answers a `TreeReport` — three sub-scores (implementation, functionality, stubs) folded into
one 0–100 score, the stub locations as `file:line`, and the files that do not parse.

A stub is a function whose body (after an optional docstring) is only `pass`, `...`,
`raise NotImplementedError`, `return` / `return None`, or nothing but the docstring; one whose
source mentions TODO is reported as "todo". Bodies that declare rather than implement — methods
of a `typing.Protocol` class, `@abstractmethod` and `@overload` — are not counted at all.
"""

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

HEALTHY_ABOVE = 70.0
UNHEALTHY_BELOW = 30.0
SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv"})
LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical"})
DECLARING_DECORATORS = frozenset({"abstractmethod", "overload"})
PROTOCOL_BASES = frozenset({"Protocol"})
CONTROL_FLOW = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Match)
DATA_STRUCTURES = (
    ast.Dict,
    ast.List,
    ast.Set,
    ast.Tuple,
    ast.ListComp,
    ast.DictComp,
    ast.SetComp,
    ast.GeneratorExp,
)
COMPUTATION = (ast.BinOp, ast.AugAssign, ast.Compare, ast.BoolOp, ast.Subscript)
ASYNC_NODES = (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)
MAX_STUBS_KEPT = 1000


@dataclass(frozen=True, slots=True)
class Stub:
    path: str
    line: int
    name: str
    reason: str

    @property
    def location(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(slots=True)
class Counts:
    """What one walk over a file finds; added up over a tree."""

    functions: int = 0
    classes: int = 0
    control_flow: int = 0
    returns: int = 0
    error_handling: int = 0
    logged_handlers: int = 0
    async_nodes: int = 0
    data_structures: int = 0
    calls: int = 0
    computation: int = 0

    def add(self, other: "Counts") -> None:
        for item in fields(self):
            setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))


@dataclass(slots=True)
class TreeReport:
    files: int = 0
    lines: int = 0
    counts: Counts = field(default_factory=Counts)
    stub_count: int = 0
    stubs: list[Stub] = field(default_factory=list)  # the first MAX_STUBS_KEPT
    syntax_errors: list[dict] = field(default_factory=list)
    implementation: float = 0.0
    functionality: float = 0.0
    completeness: float = 0.0
    score: float = 0.0
    status: str = "unhealthy"


def tree_scan(root: Path) -> TreeReport:
    """Scan every .py file under `root` (or `root` itself, a file) and score the whole."""
    report = TreeReport()
    for path in python_files(root):
        relative = path.relative_to(root).as_posix() if path != root else path.name
        _file_add(report, path, relative)
    _score(report)
    return report


def python_files(root: Path) -> Iterator[Path]:
    """Yield the .py files under root in a stable order, skipping hidden and vendored folders."""
    if root.is_file():
        yield root
        return
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS)
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(folder, name)


def source_scan(source: str, relative: str) -> tuple[Counts, list[Stub], int]:
    """Return the counts, the stubs and the line count of one file's source; SyntaxError if bad."""
    tree = ast.parse(source, filename=relative)
    lines = source.splitlines()
    counts, stubs = Counts(), []
    declarations: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if id(node) in declarations or _declares(node):
                continue
            counts.functions += 1
            reason = stub_reason(node, lines)
            if reason is not None:
                stubs.append(Stub(relative, node.lineno, node.name, reason))
        elif isinstance(node, ast.ClassDef):
            counts.classes += 1
            if _is_protocol(node):
                declarations.update(id(item) for item in node.body)
        _count(node, counts)
    return counts, stubs, len(lines)


def stub_reason(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str | None:
    """Return why a function is a stub (pass, ellipsis, docstring, …), or None if it is not."""
    body = node.body
    if len(body) > 1 and _is_docstring(body[0]):
        body = body[1:]
    if len(body) != 1:
        return None
    reason = _trivial(body[0])
    if reason is None:
        return None
    end = node.end_lineno or node.lineno
    if any("TODO" in line for line in lines[node.lineno - 1 : end]):
        return "todo"
    return reason


def status_of(score: float) -> str:
    """Return healthy (> 70), partial (30–70) or unhealthy (< 30)."""
    if score > HEALTHY_ABOVE:
        return "healthy"
    if score < UNHEALTHY_BELOW:
        return "unhealthy"
    return "partial"


def _file_add(report: TreeReport, path: Path, relative: str) -> None:
    report.files += 1
    try:
        source = path.read_text(encoding="utf-8", errors="replace")
        counts, stubs, lines = source_scan(source, relative)
    except (SyntaxError, ValueError) as exc:  # ValueError: null bytes in the source
        line = getattr(exc, "lineno", None)
        report.syntax_errors.append({"path": relative, "line": line, "message": str(exc)})
        return
    except OSError as exc:
        report.syntax_errors.append({"path": relative, "line": None, "message": str(exc)})
        return
    report.lines += lines
    report.counts.add(counts)
    if len(report.stubs) < MAX_STUBS_KEPT:
        report.stubs.extend(stubs[: MAX_STUBS_KEPT - len(report.stubs)])
    report.stub_count += len(stubs)


def _trivial(statement: ast.stmt) -> str | None:
    if isinstance(statement, ast.Pass):
        return "pass"
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        if statement.value.value is Ellipsis:
            return "ellipsis"
        return "docstring" if isinstance(statement.value.value, str) else None
    if isinstance(statement, ast.Raise) and _names_not_implemented(statement.exc):
        return "not_implemented"
    if isinstance(statement, ast.Return) and (
        statement.value is None
        or (isinstance(statement.value, ast.Constant) and statement.value.value is None)
    ):
        return "return_none"
    return None


def _names_not_implemented(exc: ast.expr | None) -> bool:
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id in {"NotImplementedError", "NotImplemented"}


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _declares(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_last_name(decorator) in DECLARING_DECORATORS for decorator in node.decorator_list)


def _is_protocol(node: ast.ClassDef) -> bool:
    return any(_last_name(base) in PROTOCOL_BASES for base in node.bases)


def _last_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call | ast.Subscript):  # @decorator(...), Protocol[T]
        node = node.func if isinstance(node, ast.Call) else node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def _count(node: ast.AST, counts: Counts) -> None:
    if isinstance(node, CONTROL_FLOW):
        counts.control_flow += 1
    elif isinstance(node, ast.Return) and node.value is not None:
        counts.returns += 1
    elif isinstance(node, ast.Try | ast.Raise):
        counts.error_handling += 1
    elif isinstance(node, ast.ExceptHandler):
        counts.error_handling += 1
        counts.logged_handlers += _logs(node)
    elif isinstance(node, ast.Call):
        counts.calls += 1
    elif isinstance(node, DATA_STRUCTURES):
        counts.data_structures += 1
    elif isinstance(node, COMPUTATION):
        counts.computation += 1
    if isinstance(node, ASYNC_NODES):
        counts.async_nodes += 1


def _logs(handler: ast.ExceptHandler) -> int:
    for statement in handler.body:
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOG_METHODS
            ):
                return 1
    return 0


def _score(report: TreeReport) -> None:
    """Fold the counts into the three sub-scores and the 0–100 score."""
    counts = report.counts
    real = max(counts.functions - report.stub_count, 0)
    share_real = real / counts.functions if counts.functions else (1.0 if report.lines else 0.0)
    per_function = max(real, 1)
    # Implementation: real bodies, each with some control flow, returns or error handling.
    signals = counts.control_flow + counts.returns + counts.error_handling
    report.implementation = 100 * share_real * (0.5 + 0.5 * min(1.0, signals / per_function))
    # Functionality: what real code does — calls, computation, data, logged errors, async.
    doing = (
        counts.calls
        + counts.computation
        + counts.data_structures
        + 3 * counts.logged_handlers
        + counts.async_nodes
    )
    report.functionality = 100 * share_real * min(1.0, doing / (3 * per_function))
    report.completeness = 100 * share_real
    parsed = (report.files - len(report.syntax_errors)) / report.files if report.files else 0.0
    combined = 0.4 * report.implementation + 0.3 * report.functionality + 0.3 * report.completeness
    report.score = round(combined * parsed, 1)
    report.implementation = round(report.implementation, 1)
    report.functionality = round(report.functionality, 1)
    report.completeness = round(report.completeness, 1)
    report.status = status_of(report.score)
