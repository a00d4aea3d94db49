/* The cheap gates and the nesting of the SQL-injection check, exact ports of
 * extract.nested_strings (with parse_json, json_strings, _structured_values, _collect)
 * and score._sqlish / score._worth_analysing (with normalise.plain, _knows_a_word, _may_glue, _glued).
 *
 * The Python functions stay the reference: every function here answers None where it declines
 * an input, and the caller then runs the Python one. Declined: a `value` (nested_strings) or
 * `text` (sqlish) that is not a one-byte (Latin-1) str, a `value` that is a str subclass, a
 * `parts` that is not a list of exact str, and every call before configure. Strings
 * *inside* a JSON document may be wider (\u escapes): those are handled through the generic
 * str API (hash, equality, strip), not declined.
 *
 * The regular expressions of the Python are hand-written scans here. Each one below says which
 * pattern it is and why the scan is that pattern: all of them are deterministic (a greedy run
 * of a class followed by a character outside it never gives back), so a scan that takes the
 * runs whole and tries each start position as `findall` does finds the same matches. */

#include "common.h"

#include <string.h>

/* ---- Configuration (handed over once by extract.py's configure call) ---------------------- */

#define KNOWN_SLOTS 2048 /* open addressing, kept under half full (configure checks) */
#define KNOWN_MAX_CHARS 32
#define GLUED_MAX 64
#define GLUED_MAX_CHARS 16
#define DEPTH_CEILING 64 /* json_strings recurses once per level: the stack stays small */

typedef struct {
    unsigned char length; /* 0: empty slot */
    char word[KNOWN_MAX_CHARS];
} KnownSlot;

static KnownSlot known[KNOWN_SLOTS]; /* WORD_KIND's keys */
static Py_ssize_t known_count;
static char glued[GLUED_MAX][GLUED_MAX_CHARS]; /* GLUED_KEYWORDS */
static Py_ssize_t glued_length[GLUED_MAX];
static Py_ssize_t glued_count;
static Py_ssize_t max_nested = -1; /* -1: not configured yet, every call declines */
static Py_ssize_t max_json_strings, max_depth, nested_head_chars, long_chars;
static PyObject *json_loads;        /* orjson.loads */
static PyObject *json_decode_error; /* orjson.JSONDecodeError: parse_json answers None */

/* ---- Character classes, per Latin-1 code, as the patterns see them ------------------------ */

static unsigned char word_char[256];   /* \w */
static unsigned char space_char[256];  /* \s, str.isspace, str.strip */
static unsigned char xml_name[256];    /* [\w:.-] */
static unsigned char query_name[256];  /* [\w.\[\]$@-] */
static unsigned char start_name[256];  /* [\w.\[\]$-]: _QUERY_START, _QUERY_AFTER_MARK */
static unsigned char special[256];     /* _SPECIAL: [^\w\s.,:/?-] */
static unsigned char spacing[256];     /* _SPACE: [\x00-\x09\x0b-\x1f\x7f\s] */
static unsigned char odd[256];         /* _ODD: [\x00-\x08\x0b\x0c\x0e-\x1f\x7f\xa0] */
static unsigned char word_run[256];    /* [a-z0-9_$]: what _WORD's words are made of */

static void fill_classes(void)
{
    for (int code = 0; code < 256; code++) {
        int word = sqli_is_word((Py_UCS4)code);
        int space = sqli_is_space((Py_UCS4)code);
        word_char[code] = (unsigned char)word;
        space_char[code] = (unsigned char)space;
        xml_name[code] = word || strchr(":.-", code) != NULL;
        query_name[code] = word || strchr(".[]$@-", code) != NULL;
        start_name[code] = word || strchr(".[]$-", code) != NULL;
        special[code] = !word && !space && strchr(".,:/?-", code) == NULL;
        spacing[code] = code <= 0x09 || (code >= 0x0b && code <= 0x1f) || code == 0x7f || space;
        odd[code] = code <= 0x08 || code == 0x0b || code == 0x0c || (code >= 0x0e && code <= 0x1f)
                    || code == 0x7f || code == 0xa0;
        word_run[code] = (code >= 'a' && code <= 'z') || (code >= '0' && code <= '9')
                         || code == '_' || code == '$';
    }
    /* strchr finds the terminating NUL too: code 0 is none of those characters. */
    xml_name[0] = query_name[0] = start_name[0] = 0;
    special[0] = 1;
}

/* ---- Known words: WORD_KIND's keys in a small hash table of bytes ------------------------- */

static size_t word_hash(const Py_UCS1 *text, Py_ssize_t length)
{
    size_t hash = 2166136261u; /* FNV-1a */
    for (Py_ssize_t i = 0; i < length; i++) {
        hash = (hash ^ text[i]) * 16777619u;
    }
    return hash;
}

static int is_known(const Py_UCS1 *text, Py_ssize_t length)
{
    if (length <= 0 || length >= KNOWN_MAX_CHARS) {
        return 0; /* no key is that long (configure refuses longer ones) */
    }
    size_t slot = word_hash(text, length) % KNOWN_SLOTS;
    while (known[slot].length) {
        if (known[slot].length == length && memcmp(known[slot].word, text, length) == 0) {
            return 1;
        }
        slot = (slot + 1) % KNOWN_SLOTS;
    }
    return 0;
}

/* Add one key; a key that is not ASCII can never equal a run of [a-z0-9_$] and is left out. */
static int add_known(PyObject *key)
{
    if (!PyUnicode_Check(key)) {
        PyErr_SetString(PyExc_TypeError, "word kinds: keys must be str");
        return -1;
    }
    if (!PyUnicode_IS_ASCII(key)) {
        return 0;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(key);
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(key);
    if (length == 0 || length >= KNOWN_MAX_CHARS || known_count >= KNOWN_SLOTS / 2) {
        PyErr_SetString(PyExc_ValueError, "word kinds: a key too long or too many keys");
        return -1;
    }
    if (is_known(text, length)) {
        return 0;
    }
    size_t slot = word_hash(text, length) % KNOWN_SLOTS;
    while (known[slot].length) {
        slot = (slot + 1) % KNOWN_SLOTS;
    }
    known[slot].length = (unsigned char)length;
    memcpy(known[slot].word, text, length);
    known_count++;
    return 0;
}

/* ---- _sqlish: whether a text holds a character or a word that some signature needs -------- */

/* Python asks its questions one after the other, each a scan of the text; the answer is their
 * `or`, so here one pass over the characters asks all those that hinge on one character
 * (which `attention` marks), and a second one looks the words up. */
enum {
    SPECIAL = 1,    /* _SPECIAL: True as it stands */
    DOUBLED = 2,    /* `-` or `:`: `--` or `::` */
    QUESTION = 4,   /* `?`: _QUESTION_OPERATOR */
    UNDERSCORE = 8, /* `_`: _SYSTEM_UNDERSCORE */
    LETTER_O = 16,  /* _SYSTEM_OPEN */
    LETTER_I = 32,  /* `infile` */
    ODD = 64,       /* _ODD_SEPARATOR */
    GLUE = 128,     /* a digit or `.`: a glued keyword may follow */
};
static unsigned char attention[256];
/* Per character, the glued keywords that start with it (indexes, -1 after the last). */
static signed char glued_by_first[256][GLUED_MAX + 1];

static void fill_attention(void)
{
    for (int code = 0; code < 256; code++) {
        attention[code] = (unsigned char)((special[code] ? SPECIAL : 0)
                                          | (code == '-' || code == ':' ? DOUBLED : 0)
                                          | (code == '?' ? QUESTION : 0)
                                          | (code == '_' ? UNDERSCORE : 0)
                                          | (code == 'o' ? LETTER_O : 0)
                                          | (code == 'i' ? LETTER_I : 0) | (odd[code] ? ODD : 0)
                                          | (code == '.' || sqli_is_digit(code) ? GLUE : 0));
    }
}

static int starts_with(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at, const char *word)
{
    Py_ssize_t size = (Py_ssize_t)strlen(word);
    return at + size <= length && memcmp(text + at, word, size) == 0;
}

/* Whether `prefix` ends right before `at` and starts on a word boundary (`(?<=\bprefix)`, the
 * prefix starting with a word character). */
static int prefix_before(const Py_UCS1 *text, Py_ssize_t at, const char *prefix)
{
    Py_ssize_t start = at - (Py_ssize_t)strlen(prefix);
    if (start < 0 || memcmp(text + start, prefix, at - start) != 0) {
        return 0;
    }
    return start == 0 || !word_char[text[start - 1]];
}

/* _QUESTION_OPERATOR at a `?`: `\?(?<=SPACE\?)(?=SPACE)`, between two spacing characters. */
static int question_operator_at(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at)
{
    return at > 0 && at + 1 < length && spacing[text[at - 1]] && spacing[text[at + 1]];
}

/* _SYSTEM_UNDERSCORE at a `_`: `_(?:(?<=\bxp_)|(?<=\bsp_)|(?<=\butl_)|(?<=\bdbms_))`. */
static int system_underscore_at(const Py_UCS1 *text, Py_ssize_t at)
{
    return prefix_before(text, at, "xp") || prefix_before(text, at, "sp")
           || prefix_before(text, at, "utl") || prefix_before(text, at, "dbms");
}

/* _SYSTEM_OPEN at an `o`: `open(?<=\bopen)(?:rowset|datasource|query)`. */
static int system_open_at(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at)
{
    if (!starts_with(text, length, at, "open") || (at > 0 && word_char[text[at - 1]])) {
        return 0;
    }
    return starts_with(text, length, at + 4, "rowset")
           || starts_with(text, length, at + 4, "datasource")
           || starts_with(text, length, at + 4, "query");
}

/* _ODD_SEPARATOR at an odd character: `ODD(?<=\wODD)ODD*\w`, a word character, odd characters,
 * a word character. Only the first of a run has a word character before it, so each run is
 * scanned once. (Python asks `not text.isprintable()` first: every odd character is
 * unprintable, so a printable text has none, and the answer is the same without it.) */
static int odd_separator_at(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at)
{
    if (at == 0 || !word_char[text[at - 1]]) {
        return 0;
    }
    while (at < length && odd[text[at]]) {
        at++;
    }
    return at < length && word_char[text[at]];
}

/* _glued after a digit or `.` at `at - 1`: a glued keyword at `at` followed by no word
 * character (`keyword(?<=[\d.]keyword)\b`). Python first asks whether one of GLUED_LETTERS
 * occurs at all: every keyword holds one of them (the tests check it), so the answer is the
 * same without it. _may_glue, which Python asks first for ASCII text, only spares this search
 * where it would fail: a glued keyword is followed by `$` or by no run character, so it ends a
 * run of them. */
static int glued_at(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at)
{
    if (at >= length) {
        return 0;
    }
    const signed char *candidates = glued_by_first[text[at]];
    for (int c = 0; c < GLUED_MAX && candidates[c] >= 0; c++) {
        Py_ssize_t k = candidates[c];
        Py_ssize_t end = at + glued_length[k];
        if (end <= length && (end == length || !word_char[text[end]])
            && memcmp(text + at, glued[k], glued_length[k]) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Every question of _sqlish that hinges on one character. */
static int sqlish_characters(const Py_UCS1 *text, Py_ssize_t length)
{
    for (Py_ssize_t at = 0; at < length; at++) {
        int marks = attention[text[at]];
        if (marks == 0) {
            continue;
        }
        if ((marks & SPECIAL)
            || ((marks & DOUBLED) && at + 1 < length && text[at + 1] == text[at])
            || ((marks & QUESTION) && question_operator_at(text, length, at))
            || ((marks & UNDERSCORE) && system_underscore_at(text, at))
            || ((marks & LETTER_O) && system_open_at(text, length, at))
            || ((marks & LETTER_I) && starts_with(text, length, at, "infile")) /* LOAD DATA */
            || ((marks & ODD) && odd_separator_at(text, length, at))
            || ((marks & GLUE) && at + 1 < length && glued_by_first[text[at + 1]][0] >= 0
                && glued_at(text, length, at + 1))) {
            return 1;
        }
    }
    return 0;
}

/* `WORD_KIND.keys().isdisjoint(_WORD.findall(text))` is false, and for ASCII text the same as
 * _knows_a_word on the runs of [a-z0-9_$]: each maximal run holds one _WORD word, the run less
 * the digits and `$` it starts with. (The runs' own check in _knows_a_word adds nothing: every
 * key is a _WORD word, which starts with a letter or `_`; the tests check that of WORD_KIND.) */
static int knows_a_word(const Py_UCS1 *text, Py_ssize_t length)
{
    Py_ssize_t at = 0;
    while (at < length) {
        if (!word_run[text[at]]) {
            at++;
            continue;
        }
        Py_ssize_t start = at;
        while (at < length && word_run[text[at]]) {
            at++;
        }
        while (start < at && ((text[start] >= '0' && text[start] <= '9') || text[start] == '$')) {
            start++;
        }
        if (is_known(text + start, at - start)) {
            return 1;
        }
    }
    return 0;
}

static int sqlish_text(const Py_UCS1 *text, Py_ssize_t length)
{
    return sqlish_characters(text, length) || knows_a_word(text, length);
}

static PyObject *gates_sqlish(PyObject *module, PyObject *text)
{
    Py_ssize_t length;
    const Py_UCS1 *data = sqli_latin1(text, &length);
    if (data == NULL || max_nested < 0) {
        Py_RETURN_NONE; /* a wider str (or not configured): the Python reference */
    }
    return PyBool_FromLong(sqlish_text(data, length));
}

/* ---- _worth_analysing --------------------------------------------------------------------- */

/* normalise.plain: ASCII with nothing to decode (no %, & or +). */
static int is_plain(PyObject *part)
{
    if (!PyUnicode_IS_ASCII(part)) {
        return 0;
    }
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(part);
    Py_ssize_t length = PyUnicode_GET_LENGTH(part);
    return memchr(text, '%', length) == NULL && memchr(text, '&', length) == NULL
           && memchr(text, '+', length) == NULL;
}

/* `part if len(part) <= LONG_CHARS else part[:NESTED_HEAD_CHARS]`, each part; NULL on error. */
static PyObject *heads_of(PyObject *parts)
{
    Py_ssize_t count = PyList_GET_SIZE(parts);
    PyObject *heads = PyList_New(count);
    if (heads == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *part = PyList_GET_ITEM(parts, i);
        PyObject *head;
        if (PyUnicode_GET_LENGTH(part) <= long_chars) {
            head = Py_NewRef(part);
        } else {
            head = PyUnicode_Substring(part, 0, nested_head_chars);
            if (head == NULL) {
                Py_DECREF(heads);
                return NULL;
            }
        }
        PyList_SET_ITEM(heads, i, head);
    }
    return heads;
}

/* _sqlish of `" ".join(the plain parts).lower()`: ASCII, so lowered byte by byte. -1 on error. */
static int plain_parts_sqlish(PyObject *parts, const char *plain, Py_ssize_t total)
{
    Py_UCS1 *joined = PyMem_Malloc(total > 0 ? (size_t)total : 1);
    if (joined == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t at = 0, count = PyList_GET_SIZE(parts);
    int first = 1;
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!plain[i]) {
            continue;
        }
        if (!first) {
            joined[at++] = ' '; /* between every two parts, empty ones too */
        }
        first = 0;
        PyObject *part = PyList_GET_ITEM(parts, i);
        const Py_UCS1 *text = PyUnicode_1BYTE_DATA(part);
        Py_ssize_t length = PyUnicode_GET_LENGTH(part);
        for (Py_ssize_t j = 0; j < length; j++) {
            Py_UCS1 ch = text[j];
            joined[at++] = (ch >= 'A' && ch <= 'Z') ? (Py_UCS1)(ch + 32) : ch;
        }
    }
    int found = sqlish_text(joined, at);
    PyMem_Free(joined);
    return found;
}

static PyObject *non_plain_parts(PyObject *parts, const char *plain)
{
    PyObject *kept = PyList_New(0);
    if (kept == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(parts); i++) {
        if (!plain[i] && PyList_Append(kept, PyList_GET_ITEM(parts, i)) < 0) {
            Py_DECREF(kept);
            return NULL;
        }
    }
    return kept;
}

/* The parts worth analysing (see score._worth_analysing); `parts` itself when Python returns it. */
static PyObject *worth_analysing(PyObject *parts, int whole_document)
{
    PyObject *result = NULL;
    if (whole_document) {
        Py_INCREF(parts);
    } else if ((parts = heads_of(parts)) == NULL) {
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(parts), plain_count = 0, total = 0;
    char *plain = PyMem_Malloc(count > 0 ? (size_t)count : 1);
    if (plain == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *part = PyList_GET_ITEM(parts, i);
        plain[i] = (char)is_plain(part);
        if (plain[i]) {
            plain_count++;
            total += PyUnicode_GET_LENGTH(part) + 1;
        }
    }
    if (plain_count < 2) {
        result = Py_NewRef(parts);
        goto done;
    }
    int found = plain_parts_sqlish(parts, plain, total);
    if (found < 0) {
        goto done;
    }
    result = found ? Py_NewRef(parts) : non_plain_parts(parts, plain);
done:
    PyMem_Free(plain);
    Py_DECREF(parts);
    return result;
}

static PyObject *gates_worth_analysing(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "worth_analysing(parts, whole_document)");
        return NULL;
    }
    PyObject *parts = args[0];
    if (!PyList_CheckExact(parts) || max_nested < 0) {
        Py_RETURN_NONE;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(parts); i++) {
        if (!PyUnicode_CheckExact(PyList_GET_ITEM(parts, i))) {
            Py_RETURN_NONE; /* not a list of str: Python's behaviour, errors included */
        }
    }
    int whole_document = PyObject_IsTrue(args[1]);
    if (whole_document < 0) {
        return NULL;
    }
    return worth_analysing(parts, whole_document);
}

/* ---- Collecting nested values: _collect, and the JSON strings' own dedupe ---------------- */

typedef struct {
    PyObject *value;  /* the value itself, never one of its nested values */
    PyObject *found;  /* list: the values kept, in order */
    PyObject *seen;   /* set: the value and every value kept */
    Py_ssize_t limit; /* how many may be kept */
    int cut_long;     /* a long candidate stands for its head (the JSON path) */
} Collector;

static int is_blank_range(const Py_UCS1 *text, Py_ssize_t start, Py_ssize_t end)
{
    for (Py_ssize_t i = start; i < end; i++) {
        if (!space_char[text[i]]) {
            return 0;
        }
    }
    return 1;
}

/* Keep a str if it is new (`seen`); 1 once the limit is reached, -1 on error. */
static int keep(Collector *collector, PyObject *candidate)
{
    int present = PySet_Contains(collector->seen, candidate);
    if (present < 0) {
        return -1;
    }
    if (!present) {
        if (PySet_Add(collector->seen, candidate) < 0
            || PyList_Append(collector->found, candidate) < 0) {
            return -1;
        }
    }
    return PyList_GET_SIZE(collector->found) >= collector->limit;
}

/* One candidate of _structured_values, value[start:end]: blank ones are dropped (str.strip),
 * long ones cut to their heads first on the JSON path. 1 once full, -1 on error. */
static int offer(Collector *collector, Py_ssize_t start, Py_ssize_t end)
{
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(collector->value); /* checked by the caller */
    if (collector->cut_long && end - start > long_chars) {
        end = start + nested_head_chars;
    }
    if (is_blank_range(text, start, end)) {
        return 0;
    }
    PyObject *candidate = PyUnicode_Substring(collector->value, start, end);
    if (candidate == NULL) {
        return -1;
    }
    int full = keep(collector, candidate);
    Py_DECREF(candidate);
    return full;
}

/* ---- _structured_values: XML attributes and text, query pairs ----------------------------- */

/* The end of the run of `class` characters from `at`. */
static Py_ssize_t run_end(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at,
                          const unsigned char *class)
{
    while (at < length && class[text[at]]) {
        at++;
    }
    return at;
}

/* _XML_ATTRIBUTE.findall: `(?<![\w:.-])[\w:.-]++\s*=\s*(?:"([^"]*)"|'([^']*)')`. The name is
 * possessive and both `\s*` stand before characters outside `\s`: nothing gives back. A quote
 * with no closing one after a position has none after any later one: remembered, so that a
 * text of many `a="` stays linear. */
static int xml_attributes(Collector *collector, const Py_UCS1 *text, Py_ssize_t length)
{
    Py_ssize_t unclosed_from[2] = {length, length}; /* " and ': no closing one from there on */
    for (Py_ssize_t at = 0; at < length; at++) {
        if (!xml_name[text[at]] || (at > 0 && xml_name[text[at - 1]])) {
            continue;
        }
        Py_ssize_t end = run_end(text, length, at, xml_name);
        end = run_end(text, length, end, space_char);
        if (end >= length || text[end] != '=') {
            continue;
        }
        end = run_end(text, length, end + 1, space_char);
        if (end >= length || (text[end] != '"' && text[end] != '\'')) {
            continue;
        }
        int which = text[end] == '\'';
        Py_ssize_t open = end + 1;
        if (open >= unclosed_from[which]) {
            continue;
        }
        const Py_UCS1 *close = memchr(text + open, text[end], length - open);
        if (close == NULL) {
            unclosed_from[which] = open;
            continue;
        }
        int full = offer(collector, open, close - text);
        if (full) {
            return full;
        }
        at = close - text; /* findall goes on after the match */
    }
    return 0;
}

/* _XML_TEXT.findall: `>([^<]+)<`. */
static int xml_texts(Collector *collector, const Py_UCS1 *text, Py_ssize_t length)
{
    Py_ssize_t at = 0;
    while (at < length) {
        const Py_UCS1 *mark = memchr(text + at, '>', length - at);
        if (mark == NULL) {
            return 0;
        }
        Py_ssize_t open = mark - text + 1;
        if (open < length && text[open] == '<') {
            at = open;
            continue;
        }
        const Py_UCS1 *close = open < length ? memchr(text + open, '<', length - open) : NULL;
        if (close == NULL) {
            return 0; /* no `<` after this `>`, nor after any later one */
        }
        int full = offer(collector, open, close - text);
        if (full) {
            return full;
        }
        at = close - text + 1;
    }
    return 0;
}

/* `name=(?!=)` at `at` with a name of `class` characters: the end of the `=`, or -1. */
static Py_ssize_t name_equals(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at,
                              const unsigned char *class)
{
    Py_ssize_t end = run_end(text, length, at, class);
    if (end == at || end >= length || text[end] != '=') {
        return -1;
    }
    if (end + 1 < length && text[end + 1] == '=') {
        return -1;
    }
    return end + 1;
}

/* _looks_like_query: `name=` at the start (_QUERY_START.match), or `?name=` (_QUERY_AFTER_MARK). */
static int looks_like_query(const Py_UCS1 *text, Py_ssize_t length)
{
    if (name_equals(text, length, 0, start_name) >= 0) {
        return 1;
    }
    for (Py_ssize_t at = 0; at < length; at++) {
        if (text[at] == '?' && name_equals(text, length, at + 1, start_name) >= 0) {
            return 1;
        }
    }
    return 0;
}

/* The end of a query value from `at`: `[^&]*(?:&(?![\w.\[\]$@-]+=)[^&]*)*`, up to the first `&`
 * that starts a `name=` (without `(?!=)`: `&b==` ends it too) or the end. */
static Py_ssize_t query_value_end(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at)
{
    while (at < length) {
        const Py_UCS1 *amp = memchr(text + at, '&', length - at);
        if (amp == NULL) {
            return length;
        }
        at = amp - text;
        Py_ssize_t end = run_end(text, length, at + 1, query_name);
        if (end > at + 1 && end < length && text[end] == '=') {
            return at;
        }
        at++;
    }
    return length;
}

/* _QUERY_PAIR at `at`: the value's start, or -1. */
static Py_ssize_t query_pair(const Py_UCS1 *text, Py_ssize_t length, Py_ssize_t at)
{
    return name_equals(text, length, at, query_name);
}

/* _QUERY_FIRST.match, then _QUERY_NEXT.findall from its end (or from the start). */
static int query_values(Collector *collector, const Py_UCS1 *text, Py_ssize_t length)
{
    Py_ssize_t at = 0;
    Py_ssize_t start = query_pair(text, length, 0);
    if (start >= 0) {
        at = query_value_end(text, length, start);
        int full = offer(collector, start, at);
        if (full) {
            return full;
        }
    }
    while (at < length) {
        Py_UCS1 ch = text[at];
        if (ch == '?' || ch == '&' || ch == ';') {
            start = query_pair(text, length, at + 1);
            if (start >= 0) {
                at = query_value_end(text, length, start);
                int full = offer(collector, start, at);
                if (full) {
                    return full;
                }
                continue; /* findall goes on after the match */
            }
        }
        at++;
    }
    return 0;
}

/* _structured_values, each value offered to the collector in order, until it is full. */
static int structured_values(Collector *collector, const Py_UCS1 *text, Py_ssize_t length)
{
    if (memchr(text, '=', length) == NULL) {
        return 0;
    }
    int full = 0;
    if (memchr(text, '<', length) != NULL) {
        full = xml_attributes(collector, text, length);
        if (!full) {
            full = xml_texts(collector, text, length);
        }
    }
    if (!full && looks_like_query(text, length)) {
        full = query_values(collector, text, length);
    }
    return full;
}

/* ---- JSON: parse_json and json_strings --------------------------------------------------- */

/* parse_json's own test: `{` or `[` first and `}` or `]` last, spaces aside. */
static int looks_like_json(const Py_UCS1 *text, Py_ssize_t length)
{
    Py_ssize_t first = 0, last = length - 1;
    while (first < length && space_char[text[first]]) {
        first++;
    }
    while (last >= 0 && space_char[text[last]]) {
        last--;
    }
    if (first >= length) {
        return 0;
    }
    return (text[first] == '{' || text[first] == '[') && (text[last] == '}' || text[last] == ']');
}

/* Whether a str of any kind is blank (`not s.strip()`). */
static int is_blank(PyObject *text)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(text); i++) {
        if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
            return 0;
        }
    }
    return 1;
}

/* One JSON string: kept when non-blank, new and not the value (filter(str.strip), dict.fromkeys,
 * `s != value`). 1 once more than MAX_JSON_STRINGS are kept (the answer is then known). */
static int json_string(Collector *collector, PyObject *text)
{
    if (is_blank(text)) {
        return 0;
    }
    return keep(collector, text);
}

static int json_container(Collector *collector, PyObject *container, Py_ssize_t depth);

/* An item of a container `depth` levels down: a string, or a container not too deep. */
static int json_item(Collector *collector, PyObject *item, Py_ssize_t depth)
{
    if (PyUnicode_Check(item)) {
        return json_string(collector, item);
    }
    if (depth < max_depth && (PyDict_Check(item) || PyList_Check(item))) {
        return json_container(collector, item, depth + 1);
    }
    return 0;
}

/* _add_strings: the keys and strings of a container whose items are `depth` levels down.
 * (Recursion at most max_depth deep, which configure bounds.) */
static int json_container(Collector *collector, PyObject *container, Py_ssize_t depth)
{
    if (PyDict_Check(container)) {
        Py_ssize_t position = 0;
        PyObject *key, *item;
        while (PyDict_Next(container, &position, &key, &item)) {
            PyObject *name = PyObject_Str(key);
            if (name == NULL) {
                return -1;
            }
            int stop = json_string(collector, name);
            Py_DECREF(name);
            if (stop == 0) {
                stop = json_item(collector, item, depth);
            }
            if (stop) {
                return stop;
            }
        }
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(container); i++) {
        int stop = json_item(collector, PyList_GET_ITEM(container, i), depth);
        if (stop) {
            return stop;
        }
    }
    return 0;
}

/* json_strings of a parsed document, into the collector (limit MAX_JSON_STRINGS + 1). */
static int json_strings(Collector *collector, PyObject *document)
{
    if (PyUnicode_Check(document)) {
        return json_string(collector, document);
    }
    if ((PyDict_Check(document) || PyList_Check(document)) && max_depth > 0) {
        return json_container(collector, document, 1);
    }
    return 0;
}

/* parse_json: a new reference to the document, Py_None when `value` is not JSON, NULL on an
 * error other than orjson's JSONDecodeError (which Python would raise as well). */
static PyObject *parse_json(PyObject *value, const Py_UCS1 *text, Py_ssize_t length)
{
    if (!looks_like_json(text, length)) {
        Py_RETURN_NONE;
    }
    PyObject *document = PyObject_CallOneArg(json_loads, value);
    if (document == NULL && PyErr_ExceptionMatches(json_decode_error)) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return document;
}

/* ---- nested_strings ----------------------------------------------------------------------- */

static PyObject *answer(PyObject *found, int whole_document)
{
    return Py_BuildValue("(OO)", found, whole_document ? Py_True : Py_False);
}

/* The JSON path: its distinct strings, then the heads of its query and XML values. */
static PyObject *nested_in_document(Collector *collector, PyObject *document)
{
    const Py_UCS1 *text = PyUnicode_1BYTE_DATA(collector->value); /* checked by the caller */
    Py_ssize_t length = PyUnicode_GET_LENGTH(collector->value);
    collector->limit = max_json_strings + 1; /* one more: the document then has too many */
    int stop = json_strings(collector, document);
    if (stop < 0) {
        return NULL;
    }
    if (PyList_GET_SIZE(collector->found) > max_json_strings) {
        PyObject *head = PyList_GetSlice(collector->found, 0, max_json_strings);
        if (head == NULL) {
            return NULL;
        }
        PyObject *result = answer(head, 0);
        Py_DECREF(head);
        return result;
    }
    collector->limit = max_json_strings;
    collector->cut_long = 1;
    if (PyList_GET_SIZE(collector->found) < collector->limit
        && structured_values(collector, text, length) < 0) {
        return NULL;
    }
    return answer(collector->found, 1);
}

static PyObject *gates_nested_strings(PyObject *module, PyObject *value)
{
    Py_ssize_t length;
    const Py_UCS1 *text = sqli_latin1(value, &length);
    if (text == NULL || !PyUnicode_CheckExact(value) || max_nested < 0) {
        Py_RETURN_NONE; /* a wider str: the Python reference */
    }
    PyObject *document = parse_json(value, text, length);
    if (document == NULL) {
        return NULL;
    }
    PyObject *result = NULL;
    Collector collector = {value, PyList_New(0), PySet_New(NULL), max_nested, 0};
    if (collector.found == NULL || collector.seen == NULL || PySet_Add(collector.seen, value) < 0) {
        goto done;
    }
    if (document != Py_None) {
        result = nested_in_document(&collector, document);
    } else if (collector.limit <= 0 || structured_values(&collector, text, length) >= 0) {
        result = answer(collector.found, 0);
    }
done:
    Py_XDECREF(collector.found);
    Py_XDECREF(collector.seen);
    Py_DECREF(document);
    return result;
}

/* ---- configure ---------------------------------------------------------------------------- */

static int set_glued(PyObject *keywords)
{
    PyObject *sequence = PySequence_Fast(keywords, "glued keywords: a sequence of str");
    if (sequence == NULL) {
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(sequence);
    int failed = count > GLUED_MAX;
    glued_count = 0;
    memset(glued_by_first, -1, sizeof glued_by_first);
    for (Py_ssize_t i = 0; i < count && !failed; i++) {
        PyObject *keyword = PySequence_Fast_GET_ITEM(sequence, i);
        if (!PyUnicode_Check(keyword) || !PyUnicode_IS_ASCII(keyword)
            || PyUnicode_GET_LENGTH(keyword) == 0
            || PyUnicode_GET_LENGTH(keyword) >= GLUED_MAX_CHARS) {
            failed = 1;
            break;
        }
        glued_length[i] = PyUnicode_GET_LENGTH(keyword);
        memcpy(glued[i], PyUnicode_1BYTE_DATA(keyword), glued_length[i]);
        signed char *candidates = glued_by_first[(Py_UCS1)glued[i][0]];
        while (*candidates >= 0) {
            candidates++;
        }
        *candidates = (signed char)i;
    }
    Py_DECREF(sequence);
    if (failed) {
        PyErr_SetString(PyExc_ValueError, "glued keywords: too many, or not short ASCII");
        return -1;
    }
    glued_count = count;
    return 0;
}

static int set_known(PyObject *words)
{
    PyObject *iterator = PyObject_GetIter(words);
    if (iterator == NULL) {
        return -1;
    }
    memset(known, 0, sizeof known);
    known_count = 0;
    PyObject *word;
    while ((word = PyIter_Next(iterator)) != NULL) {
        int failed = add_known(word);
        Py_DECREF(word);
        if (failed) {
            Py_DECREF(iterator);
            return -1;
        }
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *gates_configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"words",          "glued_keywords", "max_nested",
                            "max_json_strings", "max_depth",     "nested_head_chars",
                            "long_chars",     "loads",          "decode_error", NULL};
    PyObject *words, *keywords, *loads, *decode_error;
    Py_ssize_t nested, json_limit, depth, head, long_limit;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOnnnnnOO", names, &words, &keywords, &nested,
                                     &json_limit, &depth, &head, &long_limit, &loads,
                                     &decode_error)) {
        return NULL;
    }
    if (nested < 0 || json_limit < 0 || depth < 0 || depth > DEPTH_CEILING || head < 0
        || long_limit < 0) {
        PyErr_SetString(PyExc_ValueError, "limits: out of range");
        return NULL;
    }
    max_nested = -1; /* declines until the whole configuration is in place */
    if (set_known(words) < 0 || set_glued(keywords) < 0) {
        return NULL;
    }
    Py_XSETREF(json_loads, Py_NewRef(loads));
    Py_XSETREF(json_decode_error, Py_NewRef(decode_error));
    max_json_strings = json_limit;
    max_depth = depth;
    nested_head_chars = head;
    long_chars = long_limit;
    max_nested = nested;
    Py_RETURN_NONE;
}

static PyMethodDef gates_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))gates_configure, METH_VARARGS | METH_KEYWORDS,
     "configure(words, glued_keywords, max_nested, max_json_strings, max_depth, "
     "nested_head_chars, long_chars, loads, decode_error): the Python data, once."},
    {"nested_strings", gates_nested_strings, METH_O,
     "extract.nested_strings(value), or None where declined."},
    {"sqlish", gates_sqlish, METH_O, "score._sqlish(text), or None where declined."},
    {"worth_analysing", (PyCFunction)(void (*)(void))gates_worth_analysing, METH_FASTCALL,
     "score._worth_analysing(parts, whole_document), or None where declined."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef gates_module = {
    PyModuleDef_HEAD_INIT, "_gates",
    "Cheap gates and nesting of the SQL-injection check (see gates.c).", -1, gates_methods,
};

PyMODINIT_FUNC PyInit__gates(void)
{
    fill_classes();
    fill_attention();
    memset(glued_by_first, -1, sizeof glued_by_first); /* no keywords until configure */
    return PyModule_Create(&gates_module);
}
