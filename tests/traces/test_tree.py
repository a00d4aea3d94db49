"""The span tree is built in memory: these tests need no database."""

from apps.traces.tree import span_tree


def _span(span_id: str, parent: str = "", start: int = 0, end: int = 10) -> dict:
    return {"span_id": span_id, "parent_span_id": parent, "start_ns": start, "end_ns": end}


def _shape(nodes: list[dict]) -> list:
    """Each node as (span_id, [children shapes])."""
    return [(node["span_id"], _shape(node["children"])) for node in nodes]


def _all_ids(nodes: list[dict]) -> list[str]:
    ids, stack = [], list(nodes)
    while stack:
        node = stack.pop()
        ids.append(node["span_id"])
        stack.extend(node["children"])
    return sorted(ids)


def test_children_nest_under_their_parents_in_start_order():
    spans = [
        _span("root", start=0),
        _span("b", "root", start=20),
        _span("a", "root", start=10),
        _span("a1", "a", start=11),
    ]

    assert _shape(span_tree(spans)) == [("root", [("a", [("a1", [])]), ("b", [])])]


def test_a_span_whose_parent_is_missing_becomes_a_root_after_the_true_root():
    spans = [_span("orphan", "gone", start=0), _span("root", start=5), _span("c", "root", start=6)]

    assert _shape(span_tree(spans)) == [("root", [("c", [])]), ("orphan", [])]


def test_without_a_true_root_the_orphans_are_roots_by_start_time():
    spans = [_span("late", "x", start=9), _span("early", "y", start=1)]

    assert _shape(span_tree(spans)) == [("early", []), ("late", [])]


def test_a_span_that_is_its_own_parent_is_a_root():
    assert _shape(span_tree([_span("self", "self")])) == [("self", [])]


def test_a_parent_cycle_is_broken_so_that_every_span_appears_once():
    spans = [_span("a", "c", start=1), _span("b", "a", start=2), _span("c", "b", start=3)]

    assert _shape(span_tree(spans)) == [("a", [("b", [("c", [])])])]


def test_a_chain_deeper_than_the_limit_is_cut_into_extra_roots():
    chain = [_span("s0")] + [_span(f"s{n}", f"s{n - 1}", start=n) for n in range(1, 10)]

    roots = span_tree(chain, max_depth=4)

    assert [root["span_id"] for root in roots] == ["s0", "s4", "s8"]
    assert _all_ids(roots) == sorted(span["span_id"] for span in chain)


def test_the_critical_path_follows_the_latest_ending_child_from_the_root():
    spans = [
        _span("root", start=0, end=100),
        _span("fast", "root", start=1, end=20),
        _span("slow", "root", start=2, end=90),
        _span("slow.a", "slow", start=3, end=50),
        _span("slow.b", "slow", start=4, end=80),
        _span("orphan", "gone", start=5, end=99),
    ]

    roots = span_tree(spans)

    flags = {}
    stack = list(roots)
    while stack:
        node = stack.pop()
        flags[node["span_id"]] = node["critical_path"]
        stack.extend(node["children"])
    assert {span_id for span_id, on in flags.items() if on} == {"root", "slow", "slow.b"}


def test_no_spans_make_no_roots():
    assert span_tree([]) == []
