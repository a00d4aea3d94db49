import logging

from apps.core.logformat import ExtrasFormatter


def _line(name: str = "aivmon.test", **extra) -> str:
    record = logging.makeLogRecord({"name": name, "levelname": "WARNING", "msg": "x"})
    record.__dict__.update(extra)
    return ExtrasFormatter("%(levelname)s %(name)s %(message)s").format(record)


def test_a_line_keeps_the_reason_given_as_an_extra_field():
    line = _line(error="database or disk is full", rows=3)

    assert line == 'WARNING aivmon.test x error="database or disk is full" rows=3'


def test_a_line_without_extras_is_the_plain_format():
    assert _line() == "WARNING aivmon.test x"


def test_long_values_are_cut():
    line = _line(body="y" * 2000)

    assert len(line) < 600 and line.endswith("y…")


def test_other_libraries_lines_are_left_as_they_log_them():
    line = _line(name="celery.app.trace", data={"id": "1"})

    assert line == "WARNING celery.app.trace x"
