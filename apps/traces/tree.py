"""Spans to a tree: children under their parents, roots first, and the critical path marked.

Pure functions over span dicts (with span_id, parent_span_id, start_ns, end_ns): no database.
Every span appears exactly once. A span whose parent is missing (not received yet, or cut
off) becomes a root; so does a span caught in a parent cycle, and a span nested deeper than
TRACE_MAX_DEPTH (so that the JSON answer stays shallow enough to encode).
"""

from typing import Any

from apps.traces.constants import TRACE_MAX_DEPTH

Node = dict[str, Any]


def span_tree(spans: list[dict[str, Any]], *, max_depth: int = TRACE_MAX_DEPTH) -> list[Node]:
    """Return the roots, each span with "children" (by start time) and "critical_path"."""
    nodes = {span["span_id"]: {**span, "children": [], "critical_path": False} for span in spans}
    roots = []
    for node in nodes.values():
        parent = nodes.get(node["parent_span_id"] or "")
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent["children"].append(node)
    for children in [node["children"] for node in nodes.values()]:
        children.sort(key=_start_order)
    roots.sort(key=_root_order)
    placed = _place(roots, max_depth)
    _adopt_cycles(nodes, roots, placed, max_depth)
    if roots:
        _mark_critical_path(roots[0])
    return roots


def _start_order(node: Node) -> tuple[int, str]:
    return node["start_ns"], node["span_id"]


def _root_order(node: Node) -> tuple[bool, int, str]:
    # The true root (no parent) first, then orphans by start time.
    return bool(node["parent_span_id"]), node["start_ns"], node["span_id"]


def _place(roots: list[Node], max_depth: int, start: int = 0) -> set[str]:
    """Walk down from roots[start:], cutting subtrees that nest too deep into new roots.

    Returns the ids of the spans reached.
    """
    placed: set[str] = set()
    stack = [(root, 0) for root in roots[start:]]
    while stack:
        node, depth = stack.pop()
        placed.add(node["span_id"])
        if depth + 1 >= max_depth and node["children"]:
            roots.extend(node["children"])
            stack.extend((child, 0) for child in node["children"])
            node["children"] = []
            continue
        stack.extend((child, depth + 1) for child in node["children"])
    return placed


def _adopt_cycles(
    nodes: dict[str, Node], roots: list[Node], placed: set[str], max_depth: int
) -> None:
    """Make a root of the earliest span of each parent cycle, which no root reaches."""
    for node in sorted(nodes.values(), key=_start_order):
        if node["span_id"] in placed:
            continue
        parent = nodes[node["parent_span_id"]]
        parent["children"].remove(node)
        roots.append(node)
        placed |= _place(roots, max_depth, start=len(roots) - 1)


def _mark_critical_path(root: Node) -> None:
    """Mark the chain from the root through the latest-ending child at each level."""
    node: Node | None = root
    while node is not None:
        node["critical_path"] = True
        children = node["children"]
        node = (
            max(children, key=lambda child: (child["end_ns"], child["start_ns"]))
            if children
            else None
        )
