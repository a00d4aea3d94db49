/* Exact port of normalise.py's canonical text (decode, fold_unicode) and its clean-up
 * (unwrap_comments, unquote_names, collapse_space): the same strings for every input, and the
 * same object where the Python returns its argument.
 *
 * Decoding works on a UCS4 copy of the text, whatever its kind: a decoded %e2%80%98 or
 * %u2018 yields characters beyond Latin-1 mid-way, and every later round must see them.
 * html.unescape is ported too (CPython 3.11's: its regex and _replace_charref), with its
 * tables handed over by `configure` (html5, _invalid_charrefs, _invalid_codepoints, checked
 * there): the Python one runs a Python function per `&`, slow on a URL with many parameters.
 * Not ported, and called instead:
 * - for the bytes that %XX escapes make, CPython's own UTF-8 decoder with "replace", so the
 *   U+FFFD of an invalid sequence are exactly urllib's;
 * - for Unicode folding of text beyond Latin-1 (NFKC, full case folding, the look-alikes),
 *   the Python reference, handed over by `configure`.
 * Folding and the clean-up of Latin-1 text are table-driven, the tables computed by Python.
 * Declined (None, and the Python reference does it): by `clean` and `fold_unicode`, any text
 * that is not one byte per character; by every function, a str subclass (whose methods may
 * differ). Buffers are sized by the input: decoding and the clean-up keep or shrink a text,
 * unescaping gets room for twice its input, folding for MAX_FOLD_CHARS per character. */
#include "common.h"

#include <stdint.h>
#include <wchar.h>

#define MAX_DECODE_ROUNDS 3   /* normalise.MAX_DECODE_ROUNDS */
#define MAX_FOLD_CHARS 3      /* the longest fold of one Latin-1 character: ¼ is 1⁄4 */
#define MAX_BARE_NAMES 256    /* html5 names without `;` (106 of them today) */
#define MAX_BARE_NAME_CHARS 8 /* the longest is 6 */
#define MAX_ENTITY_NAME 32    /* the {1,32} of html's _charref and of _NAMED_ENTITY */
#define MAX_ENTITY_VALUE 2    /* the longest value in html5, checked by configure */

static PyObject *html5;              /* html.entities.html5 */
static PyObject *invalid_charrefs;   /* html._invalid_charrefs */
static PyObject *invalid_codepoints; /* html._invalid_codepoints */
static PyObject *fold_python;        /* normalise._fold_unicode_python, for wide text */
/* The names html.unescape expands without a `;` (_BARE_ENTITY), sorted, and per first ASCII
 * character the range of them that start with it. */
static char bare_names[MAX_BARE_NAMES][MAX_BARE_NAME_CHARS];
static unsigned char bare_name_len[MAX_BARE_NAMES];
static int bare_first[128], bare_end[128];
static int bare_longest; /* the length of the longest of them */
static Py_UCS1 latin1_lower[256]; /* str.lower of each Latin-1 character */
/* Per Latin-1 character that NFKC, the look-alike map or case-folding changes otherwise than
 * str.lower: the fold of the character alone (-1 in special_len: not special). */
static signed char special_len[256];
static Py_UCS4 special_fold[256][MAX_FOLD_CHARS];
static int configured;

/* ---- a UCS4 text, of a fixed capacity (each step allocates what it may need) ---- */

typedef struct {
    Py_UCS4 *data; /* owned, PyMem */
    Py_ssize_t len;
} Text;

static int text_alloc(Text *text, Py_ssize_t capacity)
{
    text->len = 0;
    text->data = PyMem_New(Py_UCS4, capacity > 0 ? capacity : 1);
    if (text->data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void text_free(Text *text)
{
    PyMem_Free(text->data);
    text->data = NULL;
}

static int text_from_str(PyObject *str, Text *text)
{
    text->data = PyUnicode_AsUCS4Copy(str);
    if (text->data == NULL) {
        return -1;
    }
    text->len = PyUnicode_GET_LENGTH(str);
    return 0;
}

static int text_copy(const Text *source, Text *copy)
{
    if (text_alloc(copy, source->len) < 0) {
        return -1;
    }
    memcpy(copy->data, source->data, (size_t)source->len * sizeof(Py_UCS4));
    copy->len = source->len;
    return 0;
}

/* The str of a text, in the narrowest kind (as every str is). */
static PyObject *text_to_str(const Text *text)
{
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, text->data, text->len);
}

static int text_equal(const Text *a, const Text *b)
{
    return a->len == b->len &&
           memcmp(a->data, b->data, (size_t)a->len * sizeof(Py_UCS4)) == 0;
}

/* ---- URL decoding (url_decode, _unquote) ---- */

static int is_ascii_letter(Py_UCS4 ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* [0-9a-fA-F]: ASCII only, as in the regexes and urllib's table. */
static int hex_value(Py_UCS4 ch)
{
    if (ch >= '0' && ch <= '9') {
        return (int)(ch - '0');
    }
    if (ch >= 'a' && ch <= 'f') {
        return (int)(ch - 'a' + 10);
    }
    if (ch >= 'A' && ch <= 'F') {
        return (int)(ch - 'A' + 10);
    }
    return -1;
}

/* A %XX escape at `at` (_URL_ESCAPE, and what urllib decodes). */
static int is_url_escape(const Py_UCS4 *data, Py_ssize_t length, Py_ssize_t at)
{
    return data[at] == '%' && at + 2 < length && hex_value(data[at + 1]) >= 0 &&
           hex_value(data[at + 2]) >= 0;
}

/* The first `ch` from `from` on, or -1: by the C library's wmemchr where a wchar_t is a
 * UCS4 character (it scans many at a time), else one by one. */
static Py_ssize_t text_find(const Text *text, Py_ssize_t from, Py_UCS4 ch)
{
    if (from >= text->len) {
        return -1;
    }
#if SIZEOF_WCHAR_T == 4
    const wchar_t *start = (const wchar_t *)text->data;
    const wchar_t *at = wmemchr(start + from, (wchar_t)ch, (size_t)(text->len - from));
    return at == NULL ? -1 : at - start;
#else
    for (Py_ssize_t i = from; i < text->len; i++) {
        if (text->data[i] == ch) {
            return i;
        }
    }
    return -1;
#endif
}

/* Whether a %XX escape stands at or after `from`. */
static int has_url_escape(const Text *text, Py_ssize_t from)
{
    for (Py_ssize_t i = text_find(text, from, '%'); i >= 0; i = text_find(text, i + 1, '%')) {
        if (is_url_escape(text->data, text->len, i)) {
            return 1;
        }
    }
    return 0;
}

/* The first %uXXXX at or after `from`, or -1. */
static Py_ssize_t find_iis_escape(const Text *text, Py_ssize_t from)
{
    const Py_UCS4 *data = text->data;
    for (Py_ssize_t i = text_find(text, from, '%'); i >= 0; i = text_find(text, i + 1, '%')) {
        if (i + 5 < text->len && data[i + 1] == 'u' && hex_value(data[i + 2]) >= 0 &&
            hex_value(data[i + 3]) >= 0 && hex_value(data[i + 4]) >= 0 &&
            hex_value(data[i + 5]) >= 0) {
            return i;
        }
    }
    return -1;
}

/* _IIS_UNICODE.sub: each %uXXXX (lower-case u, as the regex) becomes chr(0xXXXX), left to
 * right, in place (the text only shrinks, and each escape is read before it is overwritten). */
static void iis_decode(Text *text, Py_ssize_t from)
{
    from = find_iis_escape(text, from);
    if (from < 0) {
        return; /* none: the text stays as it is, unwritten */
    }
    Py_UCS4 *data = text->data;
    Py_ssize_t length = text->len, out = from, i = from;
    while (i < length) {
        if (data[i] == '%' && i + 5 < length && data[i + 1] == 'u') {
            int a = hex_value(data[i + 2]), b = hex_value(data[i + 3]);
            int c = hex_value(data[i + 4]), d = hex_value(data[i + 5]);
            if (a >= 0 && b >= 0 && c >= 0 && d >= 0) {
                data[out++] = (Py_UCS4)((a << 12) | (b << 8) | (c << 4) | d);
                i += 6;
                continue;
            }
        }
        data[out++] = data[i++];
    }
    text->len = out;
}

/* Append the bytes of an ASCII run with its escapes decoded: as they are when all are ASCII,
 * else decoded as UTF-8 with "replace" by CPython's decoder (what urllib calls). */
static int append_run(Text *out, const unsigned char *bytes, Py_ssize_t count, int high)
{
    if (!high) {
        for (Py_ssize_t i = 0; i < count; i++) {
            out->data[out->len++] = bytes[i];
        }
        return 0;
    }
    PyObject *decoded = PyUnicode_DecodeUTF8((const char *)bytes, count, "replace");
    if (decoded == NULL) {
        return -1;
    }
    int kind = PyUnicode_KIND(decoded);
    const void *data = PyUnicode_DATA(decoded);
    Py_ssize_t length = PyUnicode_GET_LENGTH(decoded); /* at most `count` */
    for (Py_ssize_t i = 0; i < length; i++) {
        out->data[out->len++] = PyUnicode_READ(kind, data, i);
    }
    Py_DECREF(decoded);
    return 0;
}

/* _unquote: urllib's unquote (unquote_plus with `plus`). urllib splits the text into runs of
 * ASCII characters, decodes the escapes of each run to bytes and those bytes as UTF-8 on their
 * own; other characters stay as they are. `bytes` has room for the text. */
static int unquote(const Text *text, int plus, Text *out, unsigned char *bytes)
{
    if (text_alloc(out, text->len) < 0) {
        return -1;
    }
    const Py_UCS4 *data = text->data;
    Py_ssize_t length = text->len, i = 0;
    while (i < length) {
        if (data[i] >= 0x80) {
            out->data[out->len++] = data[i++];
            continue;
        }
        Py_ssize_t count = 0;
        int high = 0;
        while (i < length && data[i] < 0x80) {
            if (data[i] == '%' && is_url_escape(data, length, i)) {
                int byte = (hex_value(data[i + 1]) << 4) | hex_value(data[i + 2]);
                high |= byte >= 0x80;
                bytes[count++] = (unsigned char)byte;
                i += 3;
            } else {
                bytes[count++] = (unsigned char)(plus && data[i] == '+' ? ' ' : data[i]);
                i++;
            }
        }
        if (append_run(out, bytes, count, high) < 0) {
            text_free(out);
            return -1;
        }
    }
    return 0;
}

/* url_decode: %XX (and %uXXXX) until stable, at most MAX_DECODE_ROUNDS rounds, in `text`. */
static int url_decode(Text *text, int plus)
{
    unsigned char *bytes = PyMem_Malloc((size_t)text->len + 1);
    if (bytes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int status = 0;
    for (int round = 0; round < MAX_DECODE_ROUNDS; round++) {
        Py_ssize_t first = text_find(text, 0, '%'); /* nothing before it changes */
        if (!plus && first < 0) {
            break;
        }
        if (first >= 0) {
            iis_decode(text, first); /* leaves a text without %uXXXX as it is */
            if (!plus && !has_url_escape(text, first)) {
                break;
            }
        }
        Text decoded;
        if (unquote(text, plus, &decoded, bytes) < 0) {
            status = -1;
            break;
        }
        plus = 0;
        if (text_equal(&decoded, text)) {
            text_free(&decoded);
            break;
        }
        text_free(text);
        *text = decoded;
    }
    PyMem_Free(bytes);
    return status;
}

/* ---- HTML entities (_entity_decoded, _may_hold_entity, html.unescape) ---- */

/* [^\t\n\f <&#;]: what a name of an entity may hold, for html.unescape and _NAMED_ENTITY. */
static int is_entity_name_char(Py_UCS4 ch)
{
    return !(ch == '\t' || ch == '\n' || ch == '\f' || ch == ' ' || ch == '<' || ch == '&' ||
             ch == '#' || ch == ';');
}

/* _NAMED_ENTITY, `&[^\t\n\f <&#;]{1,32};`, at `at` (an `&`): `;` is excluded, so only the
 * maximal run of allowed characters (up to 32) can be followed by it. */
static int named_entity_at(const Text *text, Py_ssize_t at)
{
    Py_ssize_t end = at + 1, limit = at + 1 + MAX_ENTITY_NAME;
    while (end < text->len && end < limit && is_entity_name_char(text->data[end])) {
        end++;
    }
    return end > at + 1 && end < text->len && text->data[end] == ';';
}

/* Whether a bare entity name starts `chars` (`available` of them; `exact`: is all of them). */
static int bare_name_at(const Py_UCS4 *chars, Py_ssize_t available, int exact)
{
    if (available < 1 || chars[0] >= 128) {
        return 0;
    }
    for (int name = bare_first[chars[0]]; name < bare_end[chars[0]]; name++) {
        Py_ssize_t length = bare_name_len[name], k = 1;
        if (length > available || (exact && length != available)) {
            continue;
        }
        while (k < length && chars[k] == (Py_UCS4)(unsigned char)bare_names[name][k]) {
            k++;
        }
        if (k == length) {
            return 1;
        }
    }
    return 0;
}

/* _BARE_ENTITY at `at` (an `&`): a name html.unescape expands without `;` follows. */
static int bare_entity_at(const Text *text, Py_ssize_t at)
{
    return bare_name_at(text->data + at + 1, text->len - at - 1, 0);
}

/* _may_hold_entity: whether html.unescape could change the text (`&#`, or an `&` that starts
 * a named entity with `;` or a bare one); False only when it certainly would not. */
static int may_hold_entity(const Text *text)
{
    for (Py_ssize_t i = text_find(text, 0, '&'); i >= 0; i = text_find(text, i + 1, '&')) {
        if ((i + 1 < text->len && text->data[i + 1] == '#') || named_entity_at(text, i) ||
            bare_entity_at(text, i)) {
            return 1;
        }
    }
    return 0;
}

static int append_str(Text *out, PyObject *str)
{
    int kind = PyUnicode_KIND(str);
    const void *data = PyUnicode_DATA(str);
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(str); i++) {
        out->data[out->len++] = PyUnicode_READ(kind, data, i);
    }
    return 0;
}

/* Append html5[name]: 1 if it is a key, 0 if not, -1 on error. Every key is ASCII letters
 * and digits, with or without a final `;` (configure checks): other names are no key. */
static int append_named(Text *out, const Py_UCS4 *name, Py_ssize_t length)
{
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS4 ch = name[i];
        int alnum = ch < 128 && (is_ascii_letter(ch) || (ch >= '0' && ch <= '9'));
        if (!alnum && !(ch == ';' && i == length - 1)) {
            return 0;
        }
    }
    PyObject *key = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, name, length);
    if (key == NULL) {
        return -1;
    }
    PyObject *value = PyDict_GetItemWithError(html5, key); /* borrowed */
    Py_DECREF(key);
    if (value == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    return append_str(out, value) == 0;
}

/* _replace_charref of a numeric reference: its `count` digits in `base`. */
static int append_numeric(Text *out, const Py_UCS4 *digits, Py_ssize_t count, int base)
{
    unsigned long number = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        number = number * (unsigned long)base + (unsigned long)hex_value(digits[i]);
        if (number > 0x110000) {
            number = 0x110000; /* beyond Unicode: every such number gives U+FFFD */
        }
    }
    PyObject *key = PyLong_FromUnsignedLong(number);
    if (key == NULL) {
        return -1;
    }
    PyObject *replacement = PyDict_GetItemWithError(invalid_charrefs, key); /* borrowed */
    int invalid = 0;
    if (replacement == NULL && !PyErr_Occurred() &&
        !((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF)) {
        invalid = PySet_Contains(invalid_codepoints, key);
    }
    Py_DECREF(key);
    if (PyErr_Occurred()) {
        return -1;
    }
    if (replacement != NULL) {
        return append_str(out, replacement);
    }
    if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) {
        out->data[out->len++] = 0xFFFD;
    } else if (!invalid) {
        out->data[out->len++] = (Py_UCS4)number;
    }
    return 0;
}

static int is_decimal_digit(Py_UCS4 ch) { return ch >= '0' && ch <= '9'; }

static int is_hex_digit(Py_UCS4 ch) { return hex_value(ch) >= 0; }

static Py_ssize_t skip(const Text *text, Py_ssize_t at, int (*accept)(Py_UCS4))
{
    while (at < text->len && accept(text->data[at])) {
        at++;
    }
    return at;
}

/* A numeric reference at `at` (an `&` before a `#`), `&#[0-9]+;?` or `&#[xX][0-9a-fA-F]+;?`:
 * its end, its replacement appended; `at` itself if there is none. */
static Py_ssize_t numeric_reference(const Text *text, Py_ssize_t at, Text *out, int *error)
{
    Py_ssize_t digits = at + 2, base = 10;
    if (digits < text->len && (text->data[digits] == 'x' || text->data[digits] == 'X')) {
        digits++;
        base = 16;
    }
    Py_ssize_t end = skip(text, digits, base == 10 ? is_decimal_digit : is_hex_digit);
    if (end == digits) {
        return at;
    }
    *error = append_numeric(out, text->data + digits, end - digits, (int)base) < 0;
    return end < text->len && text->data[end] == ';' ? end + 1 : end;
}

/* A named reference at `at` (an `&`), `&[^\t\n\f <&#;]{1,32};?`: its end, its replacement
 * appended (the whole name if it is one, else the longest bare name it starts with, and the
 * rest; else the reference as it is); `at` itself if there is none. */
static Py_ssize_t named_reference(const Text *text, Py_ssize_t at, Text *out, int *error)
{
    Py_ssize_t start = at + 1, end = start;
    while (end < text->len && end < start + MAX_ENTITY_NAME &&
           is_entity_name_char(text->data[end])) {
        end++;
    }
    if (end == start) {
        return at;
    }
    if (end < text->len && text->data[end] == ';') {
        end++;
    }
    const Py_UCS4 *name = text->data + start;
    Py_ssize_t length = end - start, prefix;
    int found = append_named(out, name, length);
    if (found != 0) {
        *error = found < 0;
        return end;
    }
    /* A shorter key holds no `;` (only the last character may be one): a bare name. */
    for (prefix = Py_MIN(length - 1, bare_longest); prefix >= 2; prefix--) {
        if (bare_name_at(name, prefix, 1)) {
            break;
        }
    }
    if (prefix >= 2) {
        found = append_named(out, name, prefix);
        *error = found <= 0;
        memcpy(out->data + out->len, name + prefix, (size_t)(length - prefix) * sizeof(Py_UCS4));
        out->len += length - prefix;
    } else {
        memcpy(out->data + out->len, text->data + at, (size_t)(length + 1) * sizeof(Py_UCS4));
        out->len += length + 1;
    }
    return end;
}

/* html.unescape: `_charref.sub(_replace_charref, text)`, left to right. Each reference of at
 * least 2 characters becomes at most MAX_ENTITY_VALUE plus what follows a bare name: the
 * result has at most twice the characters. */
static int unescape_text(const Text *text, Text *out)
{
    if (text_alloc(out, 2 * text->len + 2) < 0) {
        return -1;
    }
    Py_ssize_t i = 0;
    int error = 0;
    while (i < text->len && !error) {
        Py_ssize_t end = i;
        if (text->data[i] == '&') {
            if (i + 1 < text->len && text->data[i + 1] == '#') {
                end = numeric_reference(text, i, out, &error);
            } else {
                end = named_reference(text, i, out, &error);
            }
        }
        if (end == i) { /* no reference here */
            out->data[out->len++] = text->data[i++];
        } else {
            i = end;
        }
    }
    if (error) {
        text_free(out);
        return -1;
    }
    return 0;
}

/* One round of _entity_decoded: 1 if html.unescape changed `text` (now the unescaped
 * text), 0 if it could not or did not, -1 on error. */
static int unescape_once(Text *text)
{
    if (!may_hold_entity(text)) {
        return 0;
    }
    Text decoded;
    if (unescape_text(text, &decoded) < 0) {
        return -1;
    }
    if (text_equal(&decoded, text)) {
        text_free(&decoded);
        return 0;
    }
    text_free(text);
    *text = decoded;
    return 1;
}

/* _entity_decoded: unescape `text` until stable, at most MAX_DECODE_ROUNDS rounds; *stable
 * says whether unescaping once more would leave it as it is. */
static int entity_decode(Text *text, int *stable)
{
    for (int round = 0; round < MAX_DECODE_ROUNDS; round++) {
        int changed = unescape_once(text);
        if (changed <= 0) {
            *stable = 1;
            return changed;
        }
    }
    *stable = 0;
    return 0;
}

/* ---- decode ---- */

/* The form rule of decode: a '+' means a space when the value has no real space and some
 * '+' joins words (_PLUS_JOINS_WORDS: a letter before it or after it). */
static int plus_means_space(const Text *text)
{
    const Py_UCS4 *data = text->data;
    Py_ssize_t length = text->len;
    int joins = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        if (data[i] == ' ') {
            return 0;
        }
        if (data[i] == '+' && ((i > 0 && is_ascii_letter(data[i - 1])) ||
                               (i + 1 < length && is_ascii_letter(data[i + 1])))) {
            joins = 1;
        }
    }
    return joins;
}

/* decode: URL-decode and HTML-unescape alternately until stable, in `text`; `plus` is
 * plus_means_space of it. */
static int decode_text(Text *text, int plus)
{
    int stable = 0;
    for (int round = 0; round < MAX_DECODE_ROUNDS; round++) {
        Text decoded;
        if (text_copy(text, &decoded) < 0) {
            return -1;
        }
        if (url_decode(&decoded, plus) < 0) {
            text_free(&decoded);
            return -1;
        }
        plus = 0;
        if (stable && text_equal(&decoded, text)) {
            text_free(&decoded);
            break;
        }
        if (entity_decode(&decoded, &stable) < 0) {
            text_free(&decoded);
            return -1;
        }
        if (text_equal(&decoded, text)) {
            text_free(&decoded);
            break;
        }
        text_free(text);
        *text = decoded;
    }
    return 0;
}

/* plus_means_space of a one-byte text. */
static int latin1_plus_means_space(const Py_UCS1 *data, Py_ssize_t length)
{
    size_t size = (size_t)length;
    if (memchr(data, '+', size) == NULL || memchr(data, ' ', size) != NULL) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        if (data[i] == '+' && ((i > 0 && is_ascii_letter(data[i - 1])) ||
                               (i + 1 < length && is_ascii_letter(data[i + 1])))) {
            return 1;
        }
    }
    return 0;
}

/* Whether decode may change a one-byte text: only an escape, an `&` or a form `+` can. */
static int latin1_needs_decoding(const Py_UCS1 *data, Py_ssize_t length, int plus)
{
    return plus || memchr(data, '%', (size_t)length) != NULL ||
           memchr(data, '&', (size_t)length) != NULL;
}

/* ---- fold_unicode ---- */

/* str.lower of ASCII bytes into `out`, eight at a time: in each byte (all below 0x80), adding
 * 0x3F sets the top bit from 'A' up, adding 0x25 from past 'Z': where they differ, an upper-case
 * letter, to which 0x20 is added. */
static void ascii_lower_into(const Py_UCS1 *in, Py_UCS1 *out, Py_ssize_t length)
{
    Py_ssize_t i = 0;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, in + i, 8);
        uint64_t upper = ((word + 0x3F3F3F3F3F3F3F3FULL) ^ (word + 0x2525252525252525ULL)) &
                         0x8080808080808080ULL;
        word |= upper >> 2;
        memcpy(out + i, &word, 8);
    }
    for (; i < length; i++) {
        Py_UCS1 ch = in[i];
        out[i] = (Py_UCS1)(ch + (((Py_UCS1)(ch - 'A') < 26u) << 5));
    }
}

/* str.lower of ASCII text. */
static PyObject *ascii_lower(const Py_UCS1 *data, Py_ssize_t length)
{
    PyObject *lower = PyUnicode_New(length, 127);
    if (lower == NULL) {
        return NULL;
    }
    ascii_lower_into(data, PyUnicode_1BYTE_DATA(lower), length);
    return lower;
}

/* fold_unicode of Latin-1 text (`ascii`: known to be ASCII): each character on its own
 * (Latin-1 holds no combining character, and the specials fold to a text starting with a
 * character that composes with nothing before it, so NFKC of the whole is the NFKC of each),
 * by table. */
static PyObject *fold_latin1(const Py_UCS1 *data, Py_ssize_t length, int ascii)
{
    if (ascii) {
        return ascii_lower(data, length);
    }
    Py_UCS4 bits = 0; /* the OR of all output characters: its top bit gives the kind */
    int special = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        special |= special_len[data[i]] >= 0;
        bits |= latin1_lower[data[i]];
    }
    if (!special) { /* the common case: lower-casing, one byte per character */
        PyObject *folded = PyUnicode_New(length, bits);
        if (folded == NULL) {
            return NULL;
        }
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(folded);
        for (Py_ssize_t i = 0; i < length; i++) {
            out[i] = latin1_lower[data[i]];
        }
        return folded;
    }
    Text folded;
    if (text_alloc(&folded, length * MAX_FOLD_CHARS) < 0) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS1 ch = data[i];
        if (special_len[ch] < 0) {
            folded.data[folded.len++] = latin1_lower[ch];
            continue;
        }
        for (int k = 0; k < special_len[ch]; k++) {
            folded.data[folded.len++] = special_fold[ch][k];
        }
    }
    PyObject *result = text_to_str(&folded);
    text_free(&folded);
    return result;
}

/* fold_unicode of any text: Latin-1 here, wider text by the Python reference. */
static PyObject *fold_text(const Text *text)
{
    Py_UCS4 bits = 0;
    for (Py_ssize_t i = 0; i < text->len; i++) {
        bits |= text->data[i];
    }
    if (bits > 0xFF) {
        PyObject *str = text_to_str(text);
        if (str == NULL) {
            return NULL;
        }
        PyObject *folded = PyObject_CallOneArg(fold_python, str);
        Py_DECREF(str);
        return folded;
    }
    if (bits < 0x80) { /* ASCII: narrowed into the result, lower-cased there */
        PyObject *lower = PyUnicode_New(text->len, 127);
        if (lower == NULL) {
            return NULL;
        }
        Py_UCS1 *out = PyUnicode_1BYTE_DATA(lower);
        for (Py_ssize_t i = 0; i < text->len; i++) {
            out[i] = (Py_UCS1)text->data[i];
        }
        ascii_lower_into(out, out, text->len);
        return lower;
    }
    Py_UCS1 *narrow = PyMem_Malloc((size_t)text->len + 1);
    if (narrow == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < text->len; i++) {
        narrow[i] = (Py_UCS1)text->data[i];
    }
    PyObject *folded = fold_latin1(narrow, text->len, 0);
    PyMem_Free(narrow);
    return folded;
}

/* ---- clean: unwrap_comments, unquote_names, collapse_space on one-byte text ---- */

static int latin1_contains_pair(const Py_UCS1 *data, Py_ssize_t length, Py_UCS1 a, Py_UCS1 b)
{
    const Py_UCS1 *end = data + length, *at = data;
    while (end - at >= 2 && (at = memchr(at, a, (size_t)(end - at - 1))) != NULL) {
        if (at[1] == b) {
            return 1;
        }
        at++;
    }
    return 0;
}

/* _VERSION_COMMENT.sub(r" \1 ", text), `/\*!\d*(.*?)(?:\*\/|$)` with DOTALL: the content of
 * each MySQL version comment, its digits dropped, up to the first `*` `/`, or to the end (`$`
 * also matches before a newline that ends the text, which then stays). */
static Py_ssize_t unwrap_version(const Py_UCS1 *in, Py_ssize_t length, Py_UCS1 *out)
{
    Py_ssize_t i = 0, o = 0;
    while (i < length) {
        if (!(in[i] == '/' && i + 2 < length && in[i + 1] == '*' && in[i + 2] == '!')) {
            out[o++] = in[i++];
            continue;
        }
        Py_ssize_t start = i + 3;
        while (start < length && sqli_is_digit(in[start])) {
            start++;
        }
        Py_ssize_t end = start, next;
        for (;; end++) {
            if (end + 1 < length && in[end] == '*' && in[end + 1] == '/') {
                next = end + 2;
                break;
            }
            if (end == length || (end == length - 1 && in[end] == '\n')) {
                next = end;
                break;
            }
        }
        out[o++] = ' ';
        memcpy(out + o, in + start, (size_t)(end - start));
        o += end - start;
        out[o++] = ' ';
        i = next;
    }
    return o;
}

/* _BLOCK_COMMENT.sub(" ", text), `/\*(?!!).*?\*\/` with DOTALL: each closed block comment
 * that is not a version comment becomes a space. Once one is not closed, none after it is. */
static Py_ssize_t drop_block_comments(const Py_UCS1 *in, Py_ssize_t length, Py_UCS1 *out)
{
    Py_ssize_t i = 0, o = 0;
    while (i < length) {
        if (!(in[i] == '/' && i + 1 < length && in[i + 1] == '*' &&
              !(i + 2 < length && in[i + 2] == '!'))) {
            out[o++] = in[i++];
            continue;
        }
        Py_ssize_t end = i + 2;
        while (end + 1 < length && !(in[end] == '*' && in[end + 1] == '/')) {
            end++;
        }
        if (end + 1 >= length) { /* not closed: the rest stays as it is */
            memcpy(out + o, in + i, (size_t)(length - i));
            return o + (length - i);
        }
        out[o++] = ' ';
        i = end + 2;
    }
    return o;
}

/* [\w$.] of _BACKTICK_NAME. */
static int is_name_char(Py_UCS1 ch)
{
    return ch == '$' || ch == '.' || sqli_is_word(ch);
}

/* _BACKTICK_NAME.sub(r" \1 ", text), `` `([\w$.]+)` ``: back-quotes around a plain name
 * become spaces. */
static Py_ssize_t unquote_backticks(const Py_UCS1 *in, Py_ssize_t length, Py_UCS1 *out)
{
    Py_ssize_t i = 0, o = 0;
    while (i < length) {
        if (in[i] == '`') {
            Py_ssize_t end = i + 1;
            while (end < length && is_name_char(in[end])) {
                end++;
            }
            if (end > i + 1 && end < length && in[end] == '`') {
                out[o++] = ' ';
                memcpy(out + o, in + i + 1, (size_t)(end - i - 1));
                o += end - i - 1;
                out[o++] = ' ';
                i = end + 1;
                continue;
            }
        }
        out[o++] = in[i++];
    }
    return o;
}

/* What collapse makes of each Latin-1 character (filled at import from the two below). */
enum { OTHER, VERTICAL, HORIZONTAL };
static unsigned char space_class[256];

/* _VERTICAL_SPACE within Latin-1. */
static int is_vertical(Py_UCS1 ch)
{
    return ch == '\n' || ch == '\r' || ch == 0x85;
}

/* _ODD_SPACE within Latin-1, and the plain space, less what is vertical (that goes first). */
static int is_horizontal(Py_UCS1 ch)
{
    return ch == ' ' || ch <= 0x09 || ch == 0x0b || ch == 0x0c || (ch >= 0x0e && ch <= 0x1f) ||
           ch == 0x7f || ch == 0xa0;
}

/* collapse_space: each run of line breaks becomes a newline, each run of odd or plain spaces
 * one space (in printable text, the only such runs are of plain spaces: the same), then
 * str.strip. Returns the start of the result in `out`, its length in *result_length. */
static Py_UCS1 *collapse(const Py_UCS1 *in, Py_ssize_t length, Py_UCS1 *out,
                         Py_ssize_t *result_length)
{
    Py_ssize_t i = 0, o = 0;
    while (i < length) {
        Py_ssize_t end = i;
        while (end < length && space_class[in[end]] == OTHER) {
            end++;
        }
        memcpy(out + o, in + i, (size_t)(end - i));
        o += end - i;
        if (end == length) {
            break;
        }
        unsigned char run = space_class[in[end]];
        for (i = end; i < length && space_class[in[i]] == run; i++) {
        }
        out[o++] = run == VERTICAL ? '\n' : ' ';
    }
    Py_ssize_t start = 0;
    while (start < o && Py_UNICODE_ISSPACE(out[start])) {
        start++;
    }
    while (o > start && Py_UNICODE_ISSPACE(out[o - 1])) {
        o--;
    }
    *result_length = o - start;
    return out + start;
}

/* Whether collapse changes the text: a line break, an odd space, two spaces in a row, or
 * a space at either end. */
static int collapse_changes(const Py_UCS1 *data, Py_ssize_t length)
{
    if (length > 0 && (Py_UNICODE_ISSPACE(data[0]) || Py_UNICODE_ISSPACE(data[length - 1]))) {
        return 1;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS1 ch = data[i];
        if ((space_class[ch] != OTHER && ch != ' ') ||
            (ch == ' ' && i + 1 < length && data[i + 1] == ' ')) {
            return 1;
        }
    }
    return 0;
}

/* clean of a one-byte str: the same object where Python's steps return their argument (every
 * step that changes nothing, except the line-break substitution, which makes a new str). */
static PyObject *clean_latin1(PyObject *str, const Py_UCS1 *data, Py_ssize_t length)
{
    if (!latin1_contains_pair(data, length, '/', '*') && memchr(data, '`', (size_t)length) == NULL &&
        !collapse_changes(data, length)) {
        Py_INCREF(str); /* the common case: nothing to do, as Python returns its argument */
        return str;
    }
    Py_UCS1 *buffers = PyMem_Malloc(2 * ((size_t)length + 1));
    if (buffers == NULL) {
        return PyErr_NoMemory();
    }
    Py_UCS1 *spare[2] = {buffers, buffers + length + 1};
    const Py_UCS1 *text = data;
    Py_ssize_t size = length;
    if (latin1_contains_pair(text, size, '/', '*')) {
        size = unwrap_version(text, size, spare[0]);
        size = drop_block_comments(spare[0], size, spare[1]);
        text = spare[1];
    }
    if (memchr(text, '`', (size_t)size) != NULL) {
        Py_UCS1 *out = text == spare[0] ? spare[1] : spare[0];
        size = unquote_backticks(text, size, out);
        text = out;
    }
    Py_UCS1 *out = text == spare[0] ? spare[1] : spare[0];
    const Py_UCS1 *result = collapse(text, size, out, &size);
    PyObject *cleaned;
    if (size == length && memcmp(result, data, (size_t)size) == 0 &&
        memchr(data, '\n', (size_t)length) == NULL && memchr(data, '\r', (size_t)length) == NULL &&
        memchr(data, 0x85, (size_t)length) == NULL) {
        Py_INCREF(str);
        cleaned = str;
    } else if (PyUnicode_IS_ASCII(str)) { /* so is what is left of it */
        cleaned = PyUnicode_New(size, 127);
        if (cleaned != NULL) {
            memcpy(PyUnicode_1BYTE_DATA(cleaned), result, (size_t)size);
        }
    } else {
        cleaned = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, result, size);
    }
    PyMem_Free(buffers);
    return cleaned;
}

/* ---- the module's functions ---- */

static int check_configured(void)
{
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_normalise.configure was not called");
        return -1;
    }
    return 0;
}

/* Decode a str into `text`: 1 if decoding certainly leaves the one-byte str as it is (`text`
 * not filled), 0 with `text` decoded, -1 on error. */
static int decode_str(PyObject *str, Text *text)
{
    int plus;
    if (PyUnicode_KIND(str) == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *data = PyUnicode_1BYTE_DATA(str);
        Py_ssize_t length = PyUnicode_GET_LENGTH(str);
        plus = latin1_plus_means_space(data, length);
        if (!latin1_needs_decoding(data, length, plus)) {
            return 1;
        }
        if (text_from_str(str, text) < 0) {
            return -1;
        }
    } else {
        if (text_from_str(str, text) < 0) {
            return -1;
        }
        plus = plus_means_space(text);
    }
    if (decode_text(text, plus) < 0) {
        text_free(text);
        return -1;
    }
    return 0;
}

static int text_equals_str(const Text *text, PyObject *str)
{
    if (text->len != PyUnicode_GET_LENGTH(str)) {
        return 0;
    }
    int kind = PyUnicode_KIND(str);
    const void *data = PyUnicode_DATA(str);
    for (Py_ssize_t i = 0; i < text->len; i++) {
        if (text->data[i] != PyUnicode_READ(kind, data, i)) {
            return 0;
        }
    }
    return 1;
}

/* decode(text) -> str: the argument itself when nothing changed, as in Python (decoding only
 * ever shrinks or changes a text: it can't come back to it). */
static PyObject *native_decode(PyObject *module, PyObject *str)
{
    if (!PyUnicode_CheckExact(str)) {
        Py_RETURN_NONE;
    }
    if (check_configured() < 0) {
        return NULL;
    }
    Text text;
    int status = decode_str(str, &text);
    if (status != 0) {
        if (status > 0) {
            Py_INCREF(str);
            return str;
        }
        return NULL;
    }
    PyObject *decoded;
    if (text_equals_str(&text, str)) {
        Py_INCREF(str);
        decoded = str;
    } else {
        decoded = text_to_str(&text);
    }
    text_free(&text);
    return decoded;
}

/* unescape(text) -> str: html.unescape (for the tests; decode calls unescape_text). */
static PyObject *native_unescape(PyObject *module, PyObject *str)
{
    if (!PyUnicode_CheckExact(str)) {
        Py_RETURN_NONE;
    }
    if (check_configured() < 0) {
        return NULL;
    }
    Text text, unescaped;
    if (text_from_str(str, &text) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    if (unescape_text(&text, &unescaped) == 0) {
        result = text_to_str(&unescaped);
        text_free(&unescaped);
    }
    text_free(&text);
    return result;
}

/* fold_unicode(text) -> str, or None for text beyond Latin-1. */
static PyObject *native_fold_unicode(PyObject *module, PyObject *str)
{
    Py_ssize_t length;
    const Py_UCS1 *data = PyUnicode_CheckExact(str) ? sqli_latin1(str, &length) : NULL;
    if (data == NULL) {
        Py_RETURN_NONE;
    }
    if (check_configured() < 0) {
        return NULL;
    }
    return fold_latin1(data, length, PyUnicode_IS_ASCII(str));
}

/* canonical(value) -> str: what score._analyse computes first, the lower case of a plain
 * value, else fold_unicode(decode(value)) (one-byte text needing no decoding is both). */
static PyObject *native_canonical(PyObject *module, PyObject *str)
{
    if (!PyUnicode_CheckExact(str)) {
        Py_RETURN_NONE;
    }
    if (check_configured() < 0) {
        return NULL;
    }
    Text text;
    int status = decode_str(str, &text);
    if (status != 0) {
        return status > 0 ? fold_latin1(PyUnicode_1BYTE_DATA(str), PyUnicode_GET_LENGTH(str),
                                        PyUnicode_IS_ASCII(str))
                          : NULL;
    }
    PyObject *folded = fold_text(&text);
    text_free(&text);
    return folded;
}

/* clean(canonical) -> str, or None for text beyond Latin-1. */
static PyObject *native_clean(PyObject *module, PyObject *str)
{
    Py_ssize_t length;
    const Py_UCS1 *data = PyUnicode_CheckExact(str) ? sqli_latin1(str, &length) : NULL;
    if (data == NULL) {
        Py_RETURN_NONE;
    }
    return clean_latin1(str, data, length);
}

static void set_reference(PyObject **slot, PyObject *value)
{
    Py_INCREF(value);
    Py_XSETREF(*slot, value);
}

/* Fill the folding tables: `lower` holds str.lower of each Latin-1 character (256 bytes),
 * `specials` maps each special code to its fold (a str of at most MAX_FOLD_CHARS). */
static int configure_tables(PyObject *lower, PyObject *specials)
{
    if (!PyBytes_Check(lower) || PyBytes_GET_SIZE(lower) != 256 || !PyDict_Check(specials)) {
        PyErr_SetString(PyExc_TypeError, "configure: lower must be 256 bytes, specials a dict");
        return -1;
    }
    memcpy(latin1_lower, PyBytes_AS_STRING(lower), 256);
    memset(special_len, -1, sizeof special_len);
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(specials, &position, &key, &value)) {
        long code = PyLong_AsLong(key);
        if (code == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (code < 0 || code > 255 || !PyUnicode_Check(value) ||
            PyUnicode_GET_LENGTH(value) > MAX_FOLD_CHARS) {
            PyErr_SetString(PyExc_ValueError, "configure: bad special fold");
            return -1;
        }
        special_len[code] = (signed char)PyUnicode_GET_LENGTH(value);
        for (Py_ssize_t k = 0; k < PyUnicode_GET_LENGTH(value); k++) {
            special_fold[code][k] = PyUnicode_READ_CHAR(value, k);
        }
    }
    return 0;
}

/* Store the bare entity names (a sorted tuple of ASCII str, grouped by first character). */
static int configure_bare_names(PyObject *names)
{
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) > MAX_BARE_NAMES) {
        PyErr_SetString(PyExc_TypeError, "configure: bare names must be a short tuple");
        return -1;
    }
    for (int c = 0; c < 128; c++) {
        bare_first[c] = bare_end[c] = 0;
    }
    int previous = -1;
    bare_longest = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(names); i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyUnicode_Check(name) || !PyUnicode_IS_ASCII(name) ||
            PyUnicode_GET_LENGTH(name) < 1 || PyUnicode_GET_LENGTH(name) > MAX_BARE_NAME_CHARS) {
            PyErr_SetString(PyExc_ValueError, "configure: bad bare entity name");
            return -1;
        }
        const Py_UCS1 *chars = PyUnicode_1BYTE_DATA(name);
        int first = chars[0];
        if (first < previous) {
            PyErr_SetString(PyExc_ValueError, "configure: bare entity names must be sorted");
            return -1;
        }
        if (first != previous) {
            bare_first[first] = (int)i;
        }
        bare_end[first] = (int)i + 1;
        previous = first;
        bare_name_len[i] = (unsigned char)PyUnicode_GET_LENGTH(name);
        bare_longest = Py_MAX(bare_longest, bare_name_len[i]);
        memcpy(bare_names[i], chars, bare_name_len[i]);
    }
    return 0;
}

/* Check what unescape_text relies on: every html5 key is ASCII letters and digits with or
 * without a final `;`, every value at most MAX_ENTITY_VALUE characters. */
static int configure_entities(PyObject *entities, PyObject *charrefs, PyObject *codepoints)
{
    if (!PyDict_Check(entities) || !PyDict_Check(charrefs) || !PyAnySet_Check(codepoints)) {
        PyErr_SetString(PyExc_TypeError, "configure: html5 and charrefs dicts, codepoints a set");
        return -1;
    }
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(entities, &position, &key, &value)) {
        int good = PyUnicode_Check(key) && PyUnicode_IS_ASCII(key) && PyUnicode_Check(value) &&
                   PyUnicode_GET_LENGTH(value) <= MAX_ENTITY_VALUE &&
                   PyUnicode_GET_LENGTH(key) >= 1 && PyUnicode_GET_LENGTH(key) <= MAX_ENTITY_NAME;
        for (Py_ssize_t i = 0; good && i < PyUnicode_GET_LENGTH(key); i++) {
            Py_UCS1 ch = PyUnicode_1BYTE_DATA(key)[i];
            good = is_ascii_letter(ch) || (ch >= '0' && ch <= '9') ||
                   (ch == ';' && i == PyUnicode_GET_LENGTH(key) - 1);
        }
        if (!good) {
            PyErr_SetString(PyExc_ValueError, "configure: an html5 entity unescape_text can't do");
            return -1;
        }
    }
    position = 0;
    while (PyDict_Next(charrefs, &position, &key, &value)) {
        if (!PyUnicode_Check(value) || PyUnicode_GET_LENGTH(value) > MAX_ENTITY_VALUE) {
            PyErr_SetString(PyExc_ValueError, "configure: bad invalid charref");
            return -1;
        }
    }
    return 0;
}

/* configure(html5, invalid_charrefs, invalid_codepoints, bare_names, fold_python, lower,
 * specials) */
static PyObject *native_configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "configure takes 7 arguments");
        return NULL;
    }
    if (!PyCallable_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "configure: fold_python must be callable");
        return NULL;
    }
    configured = 0;
    if (configure_entities(args[0], args[1], args[2]) < 0 || configure_bare_names(args[3]) < 0 ||
        configure_tables(args[5], args[6]) < 0) {
        return NULL;
    }
    set_reference(&html5, args[0]);
    set_reference(&invalid_charrefs, args[1]);
    set_reference(&invalid_codepoints, args[2]);
    set_reference(&fold_python, args[4]);
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))native_configure, METH_FASTCALL,
     "Hand over the Python callables and folding tables."},
    {"canonical", native_canonical, METH_O, "score._analyse's canonical text of a value."},
    {"clean", native_clean, METH_O, "collapse_space(unquote_names(unwrap_comments(text)))."},
    {"decode", native_decode, METH_O, "normalise.decode."},
    {"unescape", native_unescape, METH_O, "html.unescape."},
    {"fold_unicode", native_fold_unicode, METH_O, "normalise.fold_unicode of Latin-1 text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_normalise", "Exact C port of parts of normalise.py.", -1, methods,
};

PyMODINIT_FUNC PyInit__normalise(void)
{
    for (int ch = 0; ch < 256; ch++) {
        space_class[ch] = is_vertical((Py_UCS1)ch)     ? VERTICAL
                          : is_horizontal((Py_UCS1)ch) ? HORIZONTAL
                                                       : OTHER;
    }
    return PyModule_Create(&module_definition);
}
