"""The SQL-injection detector: normalisation, signatures, the event walk, odd input."""

import re
from itertools import islice

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from apps.security.detectors.base import IP, USER, Event
from apps.security.detectors.sql_injection import (
    MAX_DEPTH,
    MAX_STRINGS,
    SqlInjectionDetector,
    sqli_confidence,
)
from apps.security.detectors.sqli import name_confidence
from apps.security.detectors.sqli.extract import MAX_JSON_STRINGS, nested_strings, nested_values
from apps.security.detectors.sqli.lexer import (
    _GLUED_KEYWORD,
    _LONG_NUMBER,
    _NUMBER_PLACEHOLDER,
    _VARIABLE,
    _VARIABLE_PLACEHOLDER,
    GLUED_KEYWORDS,
    WORD_KIND,
    _replace_literals,
    lex,
)
from apps.security.detectors.sqli.normalise import (
    MAX_CHARS,
    collapse_space,
    decode,
    entity_decode,
    fold_unicode,
    normalise,
    strip_comments,
    unquote_names,
    unwrap_comments,
    url_decode,
)
from apps.security.detectors.sqli.sample import (
    _CALL_STRENGTH,
    DENSE,
    LONG_CHARS,
    MAX_ANCHORS,
    MIN_END_STRENGTH,
    _call_anchors,
    anchored,
    sample,
)
from apps.security.detectors.sqli.score import _GLUED, GLUED_LETTERS, _evidence, _sqlish

FLAGGED = 0.3
HIGH = 0.75
PROSE = (
    "Our field bag is a daily workhorse: waxed twill, brass buckles, and a strap you can "
    "shorten. Shipping to Dublin takes 2-3 days; returns are free within 30 days. Questions? "
    "Ask O'Brien at the front desk, Monday to Friday. "
)


def event(**fields) -> Event:
    return Event(timestamp=1_700_000_000.0, event_type="request", **fields)


# --- normalisation, one step at a time ---------------------------------------------------


def test_url_decoding_repeats_until_the_text_is_stable():
    assert url_decode("%2527%2520or%25201%253D1") == "' or 1=1"


def test_url_decoding_stops_after_three_rounds():
    assert url_decode("%25252527") == "%27"


def test_url_decoding_reads_iis_unicode_escapes():
    assert url_decode("%u0027 or 1=1") == "' or 1=1"


def test_a_plus_is_a_space_only_where_it_joins_words_in_the_raw_value():
    assert decode("1'+or+'1'='1") == "1' or '1'='1"
    assert decode("'+'") == "'+'"
    assert decode("x'%2Bemail--") == "x'+email--"


def test_entity_decoding_unescapes_named_and_numeric_references():
    assert entity_decode("&#39; or &quot;a&quot;=&#x22;a") == '\' or "a"="a'


def test_entity_decoding_leaves_ampersands_that_start_no_entity_alone():
    assert entity_decode("a=1&lang=en&ref=42") == "a=1&lang=en&ref=42"
    assert entity_decode("x&amp;y &lt z") == "x&y < z"


def test_decoding_alternates_url_and_entity_decoding():
    assert decode("%26%2339%3B or 1=1") == "' or 1=1"


def test_unicode_folding_turns_full_width_letters_and_case_into_ascii_lower_case():
    assert fold_unicode("ＵＮＩＯＮ ＳＥＬＥＣＴ") == "union select"


def test_unicode_folding_maps_look_alike_quotes_to_ascii():
    assert fold_unicode("1´ OR ´1´=´1 ’x’ “y”") == "1' or '1'='1 'x' \"y\""


def test_unicode_folding_drops_zero_width_characters():
    assert fold_unicode("un\u200bion") == "union"


def test_mysql_version_comments_keep_their_content():
    assert unwrap_comments("/*!50000union*/ /*!select*/ 1").split() == ["union", "select", "1"]


def test_closed_block_comments_become_spaces():
    assert unwrap_comments("union/**/select/*x*/1").split() == ["union", "select", "1"]


def test_line_comments_are_stripped_to_the_end_of_the_line():
    assert strip_comments("1 or 1=1 -- rest\nand 2 # more") == "1 or 1=1 \nand 2"


def test_odd_whitespace_collapses_to_one_space_and_line_breaks_to_one_newline():
    assert collapse_space("union\x0b\xa0 select\x00 1\r\n\n2") == "union select 1\n2"


def test_normalise_applies_every_step():
    assert normalise("UNION%0B/*!50000SeLeCt*/%09@@VERSION") == "union select @@version"


def test_normalise_caps_the_length_of_the_value():
    assert len(normalise("a" * (MAX_CHARS * 2))) == MAX_CHARS


# --- the lexer and the grammar ----------------------------------------------------------


def test_lexer_classifies_tokens_like_libinjection_fingerprints():
    assert lex("1' or '1'='1").kinds == "1'&'1'o'1"
    assert lex("-1 union select 1,@@version,concat(0x41)--").kinds == "m1US1,v,f(1)c"


def test_lexer_keeps_multi_character_operators_whole():
    assert lex("a<=>b || c && d :: e").kinds == "nonbnbnan"


# --- signatures ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "signal"),
    [
        ("-1 UNION ALL SELECT 1,2,version()--", "UNION SELECT"),
        ("1; DROP TABLE users--", "stacked query"),
        ("'; exec master..xp_cmdshell 'ping 10.0.0.1'--", "stacked query"),
        ("1' AND SLEEP(5) AND 'a'='a", "dangerous function"),
        ("1 AND BENCHMARK(5000000,MD5(1))", "dangerous function"),
        ("1; SELECT pg_sleep(5)--", "stacked query"),
        ("1'; WAITFOR DELAY '0:0:5'--", "time delay WAITFOR"),
        ("' or 1=1--", "tautology"),
        ("admin' or 'a'='a", "tautology"),
        ("x' or true--", "boolean probe"),
        ("1 AND 1=2", "tautology"),
        ("' and '1'='1", "tautology"),
        ("admin'--", "comment truncation"),
        ("' UNION SELECT table_name FROM information_schema.tables--", "system catalogue"),
        ("1 and 1=(select count(*) from sysobjects)", "system catalogue"),
        ("' union select name from sqlite_master--", "system catalogue"),
        ("1 union select 1 into outfile '/tmp/x'", "file access"),
        ("1' and extractvalue(1,concat(0x7e,version()))--", "dangerous function"),
        ("1' and updatexml(1,concat(0x7e,user()),1)--", "dangerous function"),
        ("1 or char(65,66)=char(65,66)", "char() encoding"),
        ("1' ORDER BY 3--", "ORDER BY column probe"),
        ("1' GROUP BY 1,2 HAVING 1=1--", "GROUP BY … HAVING"),
        ("1 and @@version like '5%'", "system variable"),
    ],
)
def test_each_signature_recognises_its_payload(payload, signal):
    confidence, reason = sqli_confidence(payload)

    assert confidence >= FLAGGED
    assert signal in reason


@pytest.mark.parametrize(
    "payload",
    [
        "-1 UNION SELECT username, password FROM users--",
        "1' AND 1=1 UNION ALL SELECT NULL,table_name FROM information_schema.tables--",
        "'; DROP TABLE users; --",
        "1' AND SLEEP(5)--",
    ],
)
def test_classic_payloads_score_high(payload):
    assert sqli_confidence(payload)[0] >= HIGH


@pytest.mark.parametrize(
    "payload",
    [
        "%27%20OR%20%271%27%3D%271",
        "&#39; or 1=1--",
        "ＵＮＩＯＮ ＳＥＬＥＣＴ 1,2,3",
        "1'/**/OR/**/1=1#",
        "1' /*!50000UNION*/ /*!50000SELECT*/ 1,2,3--",
        "uNiOn%0BsElEcT%0B1,2,3",
    ],
)
def test_encoded_and_obfuscated_payloads_are_seen_through(payload):
    assert sqli_confidence(payload)[0] >= FLAGGED


@pytest.mark.parametrize(
    "value",
    [
        "O'Brien",
        "Sinéad O'Connor",
        "select a plan",
        "Union Station",
        "drop shipping",
        "order by price",
        "1 or 2 bedrooms",
        "Tom & Jerry's",
        'Size: 10" x 12"',
        "I'm going to the store; want anything?",
        "https://example.com/search?q=select+a+plan&page=2",
        "null",
        "a=b",
        "2 > 1",
        "It's 5 o'clock somewhere",
    ],
)
def test_ordinary_values_are_not_flagged(value):
    assert sqli_confidence(value)[0] < FLAGGED


def test_prose_about_sql_is_at_most_a_low_finding():
    assert sqli_confidence("How do I use SELECT DISTINCT in SQL?")[0] < HIGH


def test_the_reason_names_at_most_three_signals():
    _, reason = sqli_confidence("1' union select sleep(5) from information_schema.tables--")

    assert 1 <= len(reason.split(", ")) <= 3


# --- values nested inside one value -----------------------------------------------------


def test_nested_values_come_from_json_xml_and_query_strings():
    assert nested_values('{"a": ["x", {"b": "y"}]}') == ["a", "x", "b", "y"]
    assert nested_values('<a probe="1 or 1=1">t</a>') == ["1 or 1=1", "t"]
    assert nested_values("pay=&&(c=!0)&x=1") == ["&&(c=!0)", "1"]


def test_a_json_document_is_judged_by_all_of_its_strings_not_by_its_syntax():
    fields = {f"field{i}": f"value {i}" for i in range(30)}
    fields["field29"] = "x' union select password from users--"
    document = orjson.dumps(fields).decode()

    strings, whole_document = nested_strings(document)

    assert whole_document
    assert len(strings) == 60 <= MAX_JSON_STRINGS
    assert sqli_confidence(document)[0] >= HIGH
    assert sqli_confidence(orjson.dumps({"note": PROSE, "tags": ["a", "b"]}).decode())[0] == 0


def test_a_payload_inside_an_xml_attribute_is_found():
    xml = '<?xml version="1.0"?><root><a probe="1234 OR 1=1"></a></root>'

    assert sqli_confidence(xml)[0] >= FLAGGED


# --- long values: sampled around what could be SQL ---------------------------------------


def test_a_short_value_is_analysed_whole():
    text = "x" * LONG_CHARS

    assert sample(text) is text


def test_long_ordinary_text_leaves_nothing_to_sample():
    text = (PROSE * 8).lower().replace("'", "")

    assert sample(text) == ""
    assert sqli_confidence(PROSE * 8) == (0.0, "")


@pytest.mark.parametrize(
    "payload",
    [
        "1' union all select null,concat(username,0x3a,password),null from users-- -",
        "7' and (select 1 from (select(sleep(5)))a)-- x",
        "x'; drop table users;--",
        "1 and extractvalue(1,concat(0x5c,(select version())))",
        "-1' union select table_name from information_schema.tables where 'a'='a",
    ],
)
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_payload_in_a_long_value_is_found_wherever_it_stands(payload, where):
    text = {
        "start": f"{payload} {PROSE * 6}",
        "middle": f"{PROSE * 3}{payload} {PROSE * 3}",
        "end": f"{PROSE * 6}{payload}",
    }[where].replace("O'Brien", "Brien")

    assert sqli_confidence(text)[0] >= FLAGGED


@pytest.mark.parametrize(
    "value",
    [
        PROSE * 6,
        "Select a plan: Basic (5 GB) or Pro (50 GB); we'll update your account within the hour. "
        * 10,
        "https://shop.example.com/search?q=waxed+bag&sort=price_asc&page=2"
        + "".join(f"&session{i}={i * 7919:x}" for i in range(60)),
        orjson.dumps(
            {"order": 42, "note": PROSE * 4, "items": [{"sku": "A-1", "qty": 2}]}
        ).decode(),
    ],
)
def test_long_ordinary_values_are_not_flagged(value):
    assert sqli_confidence(value)[0] < FLAGGED


def test_the_sample_stands_in_for_skipped_text_with_its_quotes():
    skipped = "plain words " * 15 + "a quote ' opens here and " + "plain words " * 25
    text = f"x' or '1'='1 {skipped}and 1=cast((select version()) as int)--"

    kept = sample(text)

    assert kept.startswith("x' or '1'='1")
    assert " ] ' ] " in kept
    assert kept.endswith("as int)--")


# --- the detector -------------------------------------------------------------------------


def test_it_reports_one_detection_keyed_by_ip():
    detector = SqlInjectionDetector()
    suspicious = event(source_ip="203.0.113.7", user_id="u1", params={"q": "' or 1=1--"})

    [detections] = detector.analyse([suspicious])

    assert len(detections) == 1
    assert detections[0].detector == "sql_injection"
    assert detections[0].kind == "sql_injection"
    assert (detections[0].key_type, detections[0].key) == (IP, "203.0.113.7")
    assert "'q'" in detections[0].reason


def test_it_keys_by_user_when_there_is_no_ip():
    [detections] = SqlInjectionDetector().analyse([event(user_id="u1", params={"q": "' or 1=1--"})])

    assert (detections[0].key_type, detections[0].key) == (USER, "u1")


def test_it_reports_the_highest_scoring_value_only():
    params = {"a": "x' or 'x'='x", "b": "-1 union select password from users--", "c": "ok"}

    [detections] = SqlInjectionDetector().analyse([event(source_ip="1.2.3.4", params=params)])

    assert len(detections) == 1
    assert "'b'" in detections[0].reason
    assert detections[0].score == sqli_confidence(params["b"])[0]


def test_it_answers_one_list_per_event_in_order():
    events = [event(params={"q": "shoes"}), event(params={"q": "1; drop table users--"})]

    assert [len(found) for found in SqlInjectionDetector().analyse(events)] == [0, 1]


def test_it_stays_silent_below_the_lowest_severity():
    assert SqlInjectionDetector().analyse([event(params={"name": "O'Brien"})]) == [[]]


def test_it_looks_into_nested_dicts_and_lists():
    params = {"filter": {"tags": ["red", {"name": "x' union select 1--"}]}}

    [[detection]] = SqlInjectionDetector().analyse([event(params=params)])

    assert "filter.tags[1].name" in detection.reason


def test_it_looks_into_values_that_are_json_documents():
    params = {"body": orjson.dumps({"items": ["1; drop table users--"]}).decode()}

    [[detection]] = SqlInjectionDetector().analyse([event(params=params)])

    assert "body.items[0]" in detection.reason


def test_it_inspects_param_names():
    [[detection]] = SqlInjectionDetector().analyse([event(params={"id' or '1'='1": "x"})])

    assert "the name of param" in detection.reason


def test_it_inspects_the_query_string_of_the_endpoint():
    endpoint = "/items?sort=name&id=1%20union%20select%20password%20from%20users"

    [[detection]] = SqlInjectionDetector().analyse([event(endpoint=endpoint)])

    assert "query parameter 'id'" in detection.reason


@pytest.mark.parametrize(
    "value",
    [
        "password[$ne]=x",
        "user[$regex]=^adm&password[$gt]=",
        "id[$in][]=1",
        '{"username": "admin", "password": {"$ne": null}}',
        '{"$where": "return true"}',
        '{"tags": {"$elemMatch": {"$gt": 1}}}',
    ],
)
def test_mongodb_query_operators_in_keys_are_flagged(value):
    confidence, signals = sqli_confidence(value)

    assert confidence >= FLAGGED
    assert "NoSQL operator" in signals


@pytest.mark.parametrize(
    "value",
    [
        "$ne",
        "price in $ and €",
        "echo $text",
        '{"$ref": "#/components/schemas/Item"}',
        '{"$schema": "http://json-schema.org/draft-07/schema#"}',
        '{"note": "use $ne to negate"}',
        "cost[$]=5",
    ],
)
def test_dollar_signs_that_are_no_query_operator_are_not_flagged(value):
    assert sqli_confidence(value)[0] < FLAGGED


def test_a_name_that_is_a_query_operator_is_flagged_as_a_name_only():
    assert name_confidence("$ne") == (0.5, "NoSQL operator")
    assert name_confidence("$NIN")[0] >= FLAGGED
    assert name_confidence("$next")[0] < FLAGGED
    assert name_confidence("' or 1=1--") == sqli_confidence("' or 1=1--")


def test_it_flags_a_query_operator_as_a_nested_key_of_a_param():
    params = {"username": "admin", "password": {"$ne": None}}

    [[detection]] = SqlInjectionDetector().analyse([event(source_ip="1.2.3.4", params=params)])

    assert "the name of param 'password.$ne'" in detection.reason
    assert "NoSQL operator" in detection.reason


def test_it_flags_a_query_operator_in_a_json_body_param():
    params = {"body": orjson.dumps({"user": {"$regex": ".*"}}).decode()}

    [[detection]] = SqlInjectionDetector().analyse([event(params=params)])

    assert "body.user.$regex" in detection.reason


def test_it_reads_the_query_string_of_a_malformed_endpoint():
    endpoint = "http://[::1/items?id=1 or 1=1--"

    [[detection]] = SqlInjectionDetector().analyse([event(endpoint=endpoint)])

    assert "query parameter 'id'" in detection.reason


def test_it_ignores_what_lies_deeper_than_the_depth_cap():
    deep: object = "1; drop table users--"
    for _ in range(MAX_DEPTH + 1):
        deep = [deep]

    assert SqlInjectionDetector().analyse([event(params={"q": deep})]) == [[]]


def test_it_inspects_a_bounded_number_of_strings_per_event():
    params = {f"p{i}": "harmless" for i in range(MAX_STRINGS)}
    params["zz"] = "1; drop table users--"

    assert SqlInjectionDetector().analyse([event(params=params)]) == [[]]


def test_it_ignores_numbers_booleans_and_nulls():
    params = {"n": 1, "f": 1.5, "b": True, "z": None}

    assert SqlInjectionDetector().analyse([event(params=params)]) == [[]]


# --- empty and odd input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["", " ", "\x00", "%", "%%%", "&#", "'" * 5000, "(" * 5000, "\ud800", "/*!", "{", "[1,"],
)
def test_odd_values_score_within_bounds(value):
    confidence, reason = sqli_confidence(value)

    assert 0.0 <= confidence <= 1.0
    assert isinstance(reason, str)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises_and_stays_within_bounds(value):
    confidence, _ = sqli_confidence(value)

    assert 0.0 <= confidence <= 1.0


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="'\"`;()=<>|&@*#/-+%!,. 0123456789abcdefghijklmnopqrstuvwxyz", max_size=80))
def test_sql_shaped_noise_never_raises_and_stays_within_bounds(value):
    confidence, _ = sqli_confidence(value)

    assert 0.0 <= confidence <= 1.0


@settings(max_examples=50, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("'\"`;()=<>|&@*#/-+%!,. 0123456789abcdefxyz\n\ud800é’")),
        min_size=LONG_CHARS,
        max_size=MAX_CHARS,
    )
)
def test_long_noise_never_raises_and_its_sample_stays_bounded(value):
    confidence, _ = sqli_confidence(value)

    assert 0.0 <= confidence <= 1.0
    assert len(sample(normalise(value))) <= max(chars for chars, _ in DENSE)


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.text(max_size=20), lambda inner: st.lists(inner, max_size=4)))
def test_arbitrary_params_never_raise(value):
    found = SqlInjectionDetector().analyse([event(params={"p": value})])

    assert len(found) == 1


# --- fast paths: each must give what the full path gives ----------------------------------

# Words SQL knows and words that only look like them, numbers, and the punctuation the plain-text
# prefilter lets through: the values that prefilter may wave on.
PLAIN_WORDS = st.sampled_from(
    [
        *("select", "selects", "union", "or", "and", "order", "by", "drop", "backdrop", "view"),
        *("table", "sleep", "exec", "xp_dirtree", "sp_who", "abs", "openrowset", "load", "data"),
        *("infile", "o", "r", "1", "42", "0x1f", "0x41414141", "1e5", "x_y", "é"),
    ]
)
PLAIN_GLUE = st.sampled_from(
    [" ", "  ", ".", ",", ":", "/", "?", " ? ", "!", "-", "\n", "\t", "\x0b", "\x01", ""]
)


def full_evidence(value: str) -> float:
    """The confidence of the whole path for one value as it stands, no prefilter before it."""
    canonical = fold_unicode(decode(value))
    text = collapse_space(unquote_names(unwrap_comments(canonical)))
    return _evidence(canonical, text, sample(text))[0]


# Most generated values look SQL-ish and are assumed away: that filtering is the point here.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.lists(st.tuples(PLAIN_WORDS, PLAIN_GLUE), max_size=60))
def test_a_value_the_plain_text_prefilter_waves_on_scores_nothing_on_the_full_path(pieces):
    value = "".join(word + glue for word, glue in pieces)
    assume(not _sqlish(fold_unicode(decode(value))))

    assert full_evidence(value) < FLAGGED


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("0123456789.abdefghilnorsuwx @-' \ue000é٣１")),
        max_size=60,
    )
)
def test_the_lexer_replaces_literals_as_if_it_ran_every_pattern(text):
    glued = _GLUED_KEYWORD.sub(r"\g<0> ", text)
    numbers = _LONG_NUMBER.sub(f" {_NUMBER_PLACEHOLDER} ", glued)
    everything = _VARIABLE.sub(f" {_VARIABLE_PLACEHOLDER} ", numbers)

    assert _replace_literals(text) == everything


def call_anchors_one_by_one(text: str) -> list[tuple[int, int]]:
    """The call anchors of `text`, each callee found by its own search back from its `(`."""
    found = []
    for match in islice(re.finditer(r"\((?<=[\w$]\()", text), MAX_ANCHORS):
        callee = re.compile(r"[\w$]+$").search(text, max(match.start() - 24, 0), match.start())
        strength = _CALL_STRENGTH.get(WORD_KIND.get(callee.group(), ""), 0)
        if strength:
            found.append((match.start(), strength))
    return found


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "sleep",
                "concat",
                "ascii",
                "count",
                "x",
                "a_very_long_name_that_ends_in_sleep",
                "(",
                "((",
                " (",
                " ",
                "$",
                "1",
                "é",
                ")",
            ]
        ),
        max_size=40,
    )
)
def test_calls_are_found_as_if_each_callee_were_searched_for_on_its_own(pieces):
    text = "".join(pieces)

    assert _call_anchors(text) == call_anchors_one_by_one(text)


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("'\";=()@-0x unionselct")),
        min_size=LONG_CHARS + 1,
        max_size=2 * LONG_CHARS,
    )
)
def test_a_long_text_without_an_anchor_at_its_ends_yields_an_empty_sample(text):
    assert sample(text) == "" or anchored(text)


def test_every_dense_threshold_is_above_what_the_ends_of_a_value_need():
    assert all(LONG_CHARS * each > MIN_END_STRENGTH for _, each in DENSE)


def test_every_keyword_the_lexer_splits_off_a_number_holds_a_letter_the_prefilter_looks_for():
    assert all(set(keyword) & set(GLUED_LETTERS) for keyword in GLUED_KEYWORDS)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*GLUED_KEYWORDS, *"019.aex_$é٣ "]), max_size=12).map("".join))
def test_the_prefilter_finds_a_keyword_glued_to_a_number_where_the_lexer_splits_one(text):
    found = any(keyword in text and glued.search(text) for keyword, glued in _GLUED)

    assert found == bool(_GLUED_KEYWORD.search(text))
