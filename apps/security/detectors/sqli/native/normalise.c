/* Exact port of normalise.py's canonical text (decode, fold_unicode) and its clean-up
 * (unwrap_comments, unquote_names, collapse_space): same strings for every input.
 *
 * Decoding works on a UCS4 copy of the text, whatever its kind: a decoded %e2%80%98 or
 * %u2018 yields characters beyond Latin-1 mid-way, and every later round must see them.
 * What is not ported, and is called back instead (all handed over by `configure`):
 * - HTML entities: html.unescape, and the two regexes that tell whether it could change the
 *   text, run only when the text holds an `&` (rare in a value; never in the common case);
 * - UTF-8 decoding of the bytes %XX escapes make: CPython's own decoder with "replace", so the
 *   U+FFFD of an invalid sequence are exactly urllib's;
 * - Unicode folding of text beyond Latin-1 (NFKC and full case folding): the Python reference.
 * Folding and the clean-up of Latin-1 text are table-driven here, the tables computed by
 * Python at configure time. `clean` and `fold_unicode` decline (None) any text that is not
 * one byte per character, and every function declines a str subclass (whose methods may
 * differ): the Python reference does those. */
#include "common.h"

#define MAX_DECODE_ROUNDS 3 /* normalise.MAX_DECODE_ROUNDS */
#define MAX_FOLD_CHARS 3    /* the longest fold of one Latin-1 character: ¼ is 1⁄4 */

static PyObject *html_unescape;      /* html.unescape */
static PyObject *named_entity_search; /* normalise._NAMED_ENTITY.search */
static PyObject *bare_entity_search;  /* normalise._BARE_ENTITY.search */
static PyObject *fold_python;         /* normalise._fold_unicode_python, for wide text */
static Py_UCS1 latin1_lower[256];     /* str.lower of each Latin-1 character */
/* Per Latin-1 character that NFKC, the look-alike map or case-folding changes otherwise than
 * str.lower: the fold of the character alone (-1 in special_len: not special). */
static signed char special_len[256];
static Py_UCS4 special_fold[256][MAX_FOLD_CHARS];
static int configured;

/* ---- a growable-free UCS4 text: every step here keeps or shrinks its input ---- */

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

static int text_from_latin1(const Py_UCS1 *data, Py_ssize_t length, Text *text)
{
    if (text_alloc(text, length) < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < length; i++) {
        text->data[i] = data[i];
    }
    text->len = length;
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

static int text_contains(const Text *text, Py_UCS4 ch)
{
    for (Py_ssize_t i = 0; i < text->len; i++) {
        if (text->data[i] == ch) {
            return 1;
        }
    }
    return 0;
}

static int text_is_latin1(const Text *text)
{
    for (Py_ssize_t i = 0; i < text->len; i++) {
        if (text->data[i] > 0xFF) {
            return 0;
        }
    }
    return 1;
}

/* ---- URL decoding (url_decode, _unquote) ---- */

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

static int has_url_escape(const Text *text)
{
    for (Py_ssize_t i = 0; i < text->len; i++) {
        if (is_url_escape(text->data, text->len, i)) {
            return 1;
        }
    }
    return 0;
}

/* _IIS_UNICODE.sub: each %uXXXX (lower-case u, as the regex) becomes chr(0xXXXX), left to
 * right, in place (the text only shrinks, and each escape is read before it is overwritten). */
static void iis_decode(Text *text)
{
    Py_UCS4 *data = text->data;
    Py_ssize_t length = text->len, out = 0, i = 0;
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
            if (is_url_escape(data, length, i)) {
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
        if (!plus && !text_contains(text, '%')) {
            break;
        }
        iis_decode(text); /* leaves a text without %uXXXX as it is */
        if (!plus && !has_url_escape(text)) {
            break;
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

/* ---- HTML entities (_entity_decoded, _may_hold_entity): called back, `&` only ---- */

static int text_contains_pair(const Text *text, Py_UCS4 first, Py_UCS4 second)
{
    for (Py_ssize_t i = 0; i + 1 < text->len; i++) {
        if (text->data[i] == first && text->data[i + 1] == second) {
            return 1;
        }
    }
    return 0;
}

/* Whether search(str) finds a match: 1, 0, or -1 on error. */
static int found(PyObject *search, PyObject *str)
{
    PyObject *match = PyObject_CallOneArg(search, str);
    if (match == NULL) {
        return -1;
    }
    int result = match != Py_None;
    Py_DECREF(match);
    return result;
}

/* _may_hold_entity of a text that holds an `&` (`str` is the text). */
static int may_hold_entity(const Text *text, PyObject *str)
{
    if (text_contains_pair(text, '&', '#')) {
        return 1;
    }
    if (text_contains(text, ';')) {
        int named = found(named_entity_search, str);
        if (named != 0) {
            return named;
        }
    }
    return found(bare_entity_search, str);
}

/* One round of _entity_decoded: 1 if html.unescape changed `text` (now the unescaped
 * text), 0 if it could not or did not, -1 on error. */
static int unescape_once(Text *text)
{
    if (!text_contains(text, '&')) {
        return 0;
    }
    PyObject *str = text_to_str(text);
    if (str == NULL) {
        return -1;
    }
    int may = may_hold_entity(text, str);
    if (may <= 0) {
        Py_DECREF(str);
        return may;
    }
    PyObject *unescaped = PyObject_CallOneArg(html_unescape, str);
    Py_DECREF(str);
    if (unescaped == NULL) {
        return -1;
    }
    if (!PyUnicode_Check(unescaped)) {
        Py_DECREF(unescaped);
        PyErr_SetString(PyExc_TypeError, "html.unescape returned no str");
        return -1;
    }
    Text decoded;
    int status = text_from_str(unescaped, &decoded);
    Py_DECREF(unescaped);
    if (status < 0) {
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

static int is_ascii_letter(Py_UCS4 ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

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

/* decode: URL-decode and HTML-unescape alternately until stable, in `text`. */
static int decode_text(Text *text)
{
    int plus = plus_means_space(text);
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

/* Whether decode certainly leaves a one-byte text as it is: nothing to unescape, no '+'. */
static int latin1_needs_decoding(const Py_UCS1 *data, Py_ssize_t length)
{
    for (Py_ssize_t i = 0; i < length; i++) {
        Py_UCS1 ch = data[i];
        if (ch == '%' || ch == '&' || ch == '+') {
            return 1;
        }
    }
    return 0;
}

/* ---- fold_unicode ---- */

/* fold_unicode of Latin-1 text: each character on its own (Latin-1 holds no combining
 * character, and the specials fold to a text starting with a character that composes with
 * nothing before it, so NFKC of the whole is the NFKC of each), by table. */
static PyObject *fold_latin1(const Py_UCS1 *data, Py_ssize_t length)
{
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
    if (!text_is_latin1(text)) {
        PyObject *str = text_to_str(text);
        if (str == NULL) {
            return NULL;
        }
        PyObject *folded = PyObject_CallOneArg(fold_python, str);
        Py_DECREF(str);
        return folded;
    }
    Py_UCS1 *narrow = PyMem_Malloc((size_t)text->len + 1);
    if (narrow == NULL) {
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < text->len; i++) {
        narrow[i] = (Py_UCS1)text->data[i];
    }
    PyObject *folded = fold_latin1(narrow, text->len);
    PyMem_Free(narrow);
    return folded;
}

/* ---- clean: unwrap_comments, unquote_names, collapse_space on one-byte text ---- */

static int latin1_contains_pair(const Py_UCS1 *data, Py_ssize_t length, Py_UCS1 a, Py_UCS1 b)
{
    for (Py_ssize_t i = 0; i + 1 < length; i++) {
        if (data[i] == a && data[i + 1] == b) {
            return 1;
        }
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
        if (is_vertical(in[i])) {
            while (i < length && is_vertical(in[i])) {
                i++;
            }
            out[o++] = '\n';
        } else if (is_horizontal(in[i])) {
            while (i < length && is_horizontal(in[i])) {
                i++;
            }
            out[o++] = ' ';
        } else {
            out[o++] = in[i++];
        }
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

/* clean of a one-byte str: the same object where Python's steps return their argument (every
 * step that changes nothing, except the line-break substitution, which makes a new str). */
static PyObject *clean_latin1(PyObject *str, const Py_UCS1 *data, Py_ssize_t length)
{
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

/* decode(text) -> str: the argument itself when there is nothing to decode, as in Python. */
static PyObject *native_decode(PyObject *module, PyObject *str)
{
    if (!PyUnicode_CheckExact(str)) {
        Py_RETURN_NONE;
    }
    if (check_configured() < 0) {
        return NULL;
    }
    if (PyUnicode_KIND(str) == PyUnicode_1BYTE_KIND &&
        !latin1_needs_decoding(PyUnicode_1BYTE_DATA(str), PyUnicode_GET_LENGTH(str))) {
        Py_INCREF(str);
        return str;
    }
    Text text, original;
    if (text_from_str(str, &text) < 0) {
        return NULL;
    }
    if (text_copy(&text, &original) < 0) {
        text_free(&text);
        return NULL;
    }
    PyObject *decoded = NULL;
    if (decode_text(&text) == 0) {
        if (text_equal(&text, &original)) { /* decoding only shrinks: nothing was changed */
            Py_INCREF(str);
            decoded = str;
        } else {
            decoded = text_to_str(&text);
        }
    }
    text_free(&original);
    text_free(&text);
    return decoded;
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
    return fold_latin1(data, length);
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
    if (PyUnicode_KIND(str) == PyUnicode_1BYTE_KIND) {
        const Py_UCS1 *data = PyUnicode_1BYTE_DATA(str);
        Py_ssize_t length = PyUnicode_GET_LENGTH(str);
        if (!latin1_needs_decoding(data, length)) {
            return fold_latin1(data, length);
        }
        if (text_from_latin1(data, length, &text) < 0) {
            return NULL;
        }
    } else if (text_from_str(str, &text) < 0) {
        return NULL;
    }
    PyObject *folded = decode_text(&text) == 0 ? fold_text(&text) : NULL;
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

/* configure(unescape, named_search, bare_search, fold_python, lower, specials) */
static PyObject *native_configure(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "configure takes 6 arguments");
        return NULL;
    }
    for (int i = 0; i < 4; i++) {
        if (!PyCallable_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "configure: the first four must be callable");
            return NULL;
        }
    }
    if (configure_tables(args[4], args[5]) < 0) {
        configured = 0;
        return NULL;
    }
    set_reference(&html_unescape, args[0]);
    set_reference(&named_entity_search, args[1]);
    set_reference(&bare_entity_search, args[2]);
    set_reference(&fold_python, args[3]);
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))native_configure, METH_FASTCALL,
     "Hand over the Python callables and folding tables."},
    {"canonical", native_canonical, METH_O, "score._analyse's canonical text of a value."},
    {"clean", native_clean, METH_O, "collapse_space(unquote_names(unwrap_comments(text)))."},
    {"decode", native_decode, METH_O, "normalise.decode."},
    {"fold_unicode", native_fold_unicode, METH_O, "normalise.fold_unicode of Latin-1 text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT, "_normalise", "Exact C port of parts of normalise.py.", -1, methods,
};

PyMODINIT_FUNC PyInit__normalise(void) { return PyModule_Create(&module_definition); }
