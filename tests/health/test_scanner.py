from apps.health import scanner
from tests.health.trees import BROKEN, DECLARATIONS, FULL, STUBS, write


def test_it_lists_every_stub_with_its_file_line_and_reason(tmp_path):
    root = write(tmp_path, {"pkg/stubs.py": STUBS})

    report = scanner.tree_scan(root)

    assert [(stub.location, stub.name, stub.reason) for stub in report.stubs] == [
        ("pkg/stubs.py:1", "nothing", "pass"),
        ("pkg/stubs.py:5", "later", "ellipsis"),
        ("pkg/stubs.py:9", "documented", "docstring"),
        ("pkg/stubs.py:13", "unfinished", "not_implemented"),
        ("pkg/stubs.py:17", "unfinished_call", "not_implemented"),
        ("pkg/stubs.py:21", "empty_return", "return_none"),
        ("pkg/stubs.py:25", "none_return", "return_none"),
        ("pkg/stubs.py:30", "planned", "todo"),
    ]
    assert report.stub_count == 8


def test_a_tree_of_stubs_is_unhealthy(tmp_path):
    report = scanner.tree_scan(write(tmp_path, {"a.py": STUBS, "b.py": STUBS}))

    assert report.score < 30
    assert report.status == "unhealthy"


def test_a_full_implementation_is_healthy_with_no_stubs(tmp_path):
    report = scanner.tree_scan(write(tmp_path, {"ledger.py": FULL}))

    assert report.stubs == []
    assert report.score > 70
    assert report.status == "healthy"
    assert report.counts.logged_handlers == 1
    assert report.counts.async_nodes >= 2


def test_half_stubs_half_implementation_is_partial(tmp_path):
    report = scanner.tree_scan(write(tmp_path, {"ledger.py": FULL, "stubs.py": STUBS}))

    assert 30 <= report.score <= 70
    assert report.status == "partial"


def test_protocol_abstract_and_overload_bodies_are_declarations_not_stubs(tmp_path):
    report = scanner.tree_scan(write(tmp_path, {"decl.py": DECLARATIONS}))

    assert report.stubs == []
    assert report.counts.functions == 1  # only the implemented parse()


def test_a_syntax_error_is_reported_per_file_and_the_scan_goes_on(tmp_path):
    root = write(tmp_path, {"bad.py": BROKEN, "good/ledger.py": FULL, "nul.py": "x = 1\x00\n"})

    report = scanner.tree_scan(root)

    assert [(error["path"], error["line"]) for error in report.syntax_errors] == [
        ("bad.py", 1),
        ("nul.py", None),
    ]
    assert report.files == 3
    assert report.counts.functions == 5


def test_hidden_and_cache_folders_are_skipped(tmp_path):
    root = write(tmp_path, {".venv/x.py": STUBS, "__pycache__/y.py": STUBS, "z.py": FULL})

    assert scanner.tree_scan(root).files == 1


def test_status_bands():
    assert [scanner.status_of(score) for score in (0, 29.9, 30, 70, 70.1, 100)] == [
        "unhealthy",
        "unhealthy",
        "partial",
        "partial",
        "healthy",
        "healthy",
    ]
