"""Any text a person may type as `q` or as an attribute value is searched, never an error."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.logs.selectors import log_record_list
from apps.logs.services import logs_write
from tests.logs.factories import LogInFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# What can reach a query: any text without NUL (the API refuses NUL with a 400).
typed = st.text(
    alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
    max_size=60,
)
syntax = st.lists(
    st.sampled_from(['"', "*", "NEAR(", ")", "-", "'", "^", ":", "AND", "OR", "NOT", "+", "{"]),
    max_size=8,
).map(" ".join)


@pytest.fixture
def record():
    logs_write(logs=[LogInFactory(body="payment failed", attributes={"order": 42})])


@FUZZ
@given(q=st.one_of(typed, syntax))
def test_any_search_text_answers_with_records_or_none(record, q):
    found = list(log_record_list(q=q))

    assert all(r.body == "payment failed" for r in found)


@FUZZ
@given(value=typed)
def test_any_attribute_value_answers_with_records_or_none(record, value):
    found = list(log_record_list(attributes={"order": [value]}))

    assert all(r.attributes == {"order": 42} for r in found)
