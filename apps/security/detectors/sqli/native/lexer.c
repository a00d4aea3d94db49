/* Exact port of `lexer.lex` (module `_lexer`): the kind string and the distinct tokens of
 * normalised text.
 *
 * The Python lexer works by a sequence of global rewrites of the whole text (str.replace and
 * re.sub), then `str.split`. Each rewrite sees what the ones before it made (a stray comment
 * closer turned into spaces, a ` ? ` whose spaces an earlier operator put there), so this port
 * does not tokenize in one tidy pass: it replays the same rewrites, in the same order, on a
 * buffer of UCS-2 code units that holds exactly the text the Python holds after each step,
 * placeholders included.
 *
 * The placeholders are the Python's own (U+E000 …, handed over by `configure`). They cannot
 * collide with the input: only one-byte strings (U+0000 … U+00FF) are lexed here, the rest is
 * declined (None) and the Python reference lexes them.
 *
 * The regexes are hand-written scans; each says which pattern it stands for. All of them run
 * on text whose only characters are Latin-1 ones and placeholders, where `\d` is [0-9] (Latin-1
 * has no other decimal digits: checked at import), which is also why the Python always takes
 * its "ASCII shape" branch. Its shape tests only skip patterns that cannot match (a property
 * tests/security/test_sql_injection.py checks); this port skips rewrites by a survey of its own
 * (`Survey`), by the same reasoning, which only ever skips what cannot match either.
 *
 * KIND is taken as constant once handed over: kinds of tokens seen are cached here.
 */
#include "common.h"

#include <stdint.h>
#include <string.h>

typedef Py_UCS2 Char; /* a Latin-1 character or a placeholder (U+E000 …) */

/* Texts longer than this are declined: far beyond the detector's 4,096 characters, and it keeps
 * every size computation (three times the length, at most) clear of overflow. */
#define MAX_LENGTH ((Py_ssize_t)1 << 24)
#define MAX_OPERATORS 64
#define MAX_OPERATOR_CHARS 3
#define MAX_KEYWORDS 64
#define MAX_KEYWORD_CHARS 32
#define MAX_CALLABLES 8
/* A replacement is " P " (three characters) or a kept character and a space (two). */
#define REPLACEMENT_CHARS 3
/* Shared buffers grown past this many characters are given back after the call. */
#define KEEP_CHARS ((Py_ssize_t)1 << 16)

typedef struct {
    Char pattern[MAX_OPERATOR_CHARS];
    Py_ssize_t length;
    Char replacement[REPLACEMENT_CHARS]; /* " P ": the Python's f" {placeholder} " */
} Operator;

typedef struct {
    Char chars[MAX_KEYWORD_CHARS];
    Py_ssize_t length;
} Keyword;

/* Everything `configure` hands over. */
static struct {
    int ready;
    PyObject *kind;      /* KIND: token → kind string */
    PyObject *lexed;     /* the Lexed NamedTuple type */
    int lexed_is_plain;  /* a tuple subclass without extra fields: built directly */
    PyObject *callables; /* ("mod", "div"): operators that are calls before "(" */
    Operator operators[MAX_OPERATORS];
    int operator_count;
    Keyword keywords[MAX_KEYWORDS];
    int keyword_count;
    Char prose, issue, number, variable;
    Py_ssize_t short_digits;     /* _SHORT_NUMBER_DIGITS */
    Py_ssize_t max_kind_length;  /* the longest kind string ("cnnn") */
    unsigned char punctuation[256];
} config;

/* Character classes of the Latin-1 range, computed once from common.h. */
static unsigned char word_table[256], space_table[256], keyword_start[256];

static inline int is_word(Char c) { return c < 256 ? word_table[c] : sqli_is_word(c); }
static inline int is_space(Char c) { return c < 256 ? space_table[c] : sqli_is_space(c); }
static inline int is_digit(Char c) { return c >= '0' && c <= '9'; }
static inline int is_hex(Char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }
static inline int is_word_or_dollar(Char c) { return c == '$' || is_word(c); }
static inline int is_punctuation(Char c) { return c < 256 && config.punctuation[c]; }

/* ---- buffers ---------------------------------------------------------------------------- */

typedef struct {
    Char *data;
    Py_ssize_t length, capacity;
} Buffer;

static int reserve(Buffer *buffer, Py_ssize_t capacity)
{
    if (capacity <= buffer->capacity) {
        return 0;
    }
    Char *grown = PyMem_Realloc(buffer->data, (size_t)capacity * sizeof(Char));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    buffer->data = grown;
    buffer->capacity = capacity;
    return 0;
}

static void release(Buffer *buffer)
{
    PyMem_Free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
}

/* Appends within the capacity reserved when the rewrite started. */
static inline void append(Buffer *out, const Char *chars, Py_ssize_t count)
{
    memcpy(out->data + out->length, chars, (size_t)count * sizeof(Char));
    out->length += count;
}

/* ---- one rewrite: re.sub / str.replace over the whole text ------------------------------- */

/* A match at `at` ends before the returned index (or -1: none), its replacement written to
 * `replacement`. Matches never overlap: the scan goes on at the end of each, as re.sub does. */
typedef Py_ssize_t (*Matcher)(const Char *text, Py_ssize_t length, Py_ssize_t at,
                              Char *replacement, Py_ssize_t *replacement_length);

/* Always inlined (as `step` is): each pass then calls its own matcher directly, not through a
 * pointer, once per candidate character. */
#define INLINE static inline __attribute__((always_inline))

/* Rewrite `in` into `out`: 1 when something matched, 0 when nothing did (`out` untouched, the
 * text is unchanged), -1 on error. Only characters in `starts` can start a match. Every
 * replacement is at most three characters for at least one: three times the length is room. */
INLINE int rewrite(const Buffer *in, Buffer *out, const unsigned char *starts, Matcher match)
{
    const Char *text = in->data;
    Py_ssize_t length = in->length, at = 0, copied = 0;
    int changed = 0;
    Char replacement[REPLACEMENT_CHARS];
    Py_ssize_t replacement_length = 0;
    while (at < length) {
        if (text[at] >= 256 || !starts[text[at]]) {
            at++;
            continue;
        }
        Py_ssize_t end = match(text, length, at, replacement, &replacement_length);
        if (end < 0) {
            at++;
            continue;
        }
        if (!changed) {
            if (reserve(out, REPLACEMENT_CHARS * length + REPLACEMENT_CHARS) < 0) {
                return -1;
            }
            out->length = 0;
            changed = 1;
        }
        append(out, text + copied, at - copied);
        append(out, replacement, replacement_length);
        at = copied = end;
    }
    if (changed) {
        append(out, text + copied, length - copied);
    }
    return changed;
}

/* str.replace(operator, f" {placeholder} "): leftmost, non-overlapping. */
static int replace_operator(const Buffer *in, Buffer *out, const Operator *operator)
{
    const Char *text = in->data, *pattern = operator->pattern;
    Py_ssize_t length = in->length, size = operator->length, at = 0, copied = 0;
    int changed = 0;
    while (at + size <= length) {
        if (text[at] != pattern[0] || memcmp(text + at, pattern, (size_t)size * sizeof(Char))) {
            at++;
            continue;
        }
        if (!changed) {
            if (reserve(out, REPLACEMENT_CHARS * length + REPLACEMENT_CHARS) < 0) {
                return -1;
            }
            out->length = 0;
            changed = 1;
        }
        append(out, text + copied, at - copied);
        append(out, operator->replacement, REPLACEMENT_CHARS);
        at = copied = at + size;
    }
    if (changed) {
        append(out, text + copied, length - copied);
    }
    return changed;
}

/* The Python's f" {placeholder} ". */
static inline void spaced(Char placeholder, Char *replacement, Py_ssize_t *length)
{
    replacement[0] = ' ';
    replacement[1] = placeholder;
    replacement[2] = ' ';
    *length = 3;
}

/* ---- the patterns ------------------------------------------------------------------------ */

/* `[^\W\d]`: a word character that is not a digit (a letter, `_`, ª, ² …). */
static inline int is_letter_like(Char c) { return is_word(c) && !is_digit(c); }

/* _DASH_TEXT `-- (?=[^\W\d])` → " PROSE ". */
static Py_ssize_t match_dash_text(const Char *text, Py_ssize_t length, Py_ssize_t at,
                                  Char *replacement, Py_ssize_t *replacement_length)
{
    if (at + 3 >= length || text[at + 1] != '-' || text[at + 2] != ' ' ||
        !is_letter_like(text[at + 3])) {
        return -1;
    }
    spaced(config.prose, replacement, replacement_length);
    return at + 3;
}

/* _HASH_TEXT `#(?: (?=[^\W\d])|(?=\d))` → " PROSE " for "# " before a letter (a heading),
 * " ISSUE " for "#" before a digit (#262), as `_hash_mark` says. */
static Py_ssize_t match_hash_text(const Char *text, Py_ssize_t length, Py_ssize_t at,
                                  Char *replacement, Py_ssize_t *replacement_length)
{
    if (at + 2 < length && text[at + 1] == ' ' && is_letter_like(text[at + 2])) {
        spaced(config.prose, replacement, replacement_length);
        return at + 2;
    }
    if (at + 1 < length && is_digit(text[at + 1])) {
        spaced(config.issue, replacement, replacement_length);
        return at + 1;
    }
    return -1;
}

/* _GLUED_KEYWORD `[\d.](?=(?:union|or|…)\b)` → the digit or dot and a space. */
static Py_ssize_t match_glued_keyword(const Char *text, Py_ssize_t length, Py_ssize_t at,
                                      Char *replacement, Py_ssize_t *replacement_length)
{
    Py_ssize_t next = at + 1;
    if (next >= length || text[next] >= 256 || !keyword_start[text[next]]) {
        return -1;
    }
    for (int index = 0; index < config.keyword_count; index++) {
        const Keyword *keyword = &config.keywords[index];
        Py_ssize_t end = next + keyword->length;
        if (end > length ||
            memcmp(text + next, keyword->chars, (size_t)keyword->length * sizeof(Char))) {
            continue;
        }
        if (end == length || !is_word(text[end])) { /* \b after the keyword's last letter */
            replacement[0] = text[at];
            replacement[1] = ' ';
            *replacement_length = 2;
            return at + 1;
        }
    }
    return -1;
}

static inline Py_ssize_t skip_digits(const Char *text, Py_ssize_t length, Py_ssize_t at)
{
    while (at < length && is_digit(text[at])) {
        at++;
    }
    return at;
}

/* `(?![\w$])`: the number does not run on into a word. */
static inline int number_ends(const Char *text, Py_ssize_t length, Py_ssize_t at)
{
    return at >= length || !is_word_or_dollar(text[at]);
}

/* `e[+-]?\d+(?![\w$])` from `at` (an `e`): its end, or -1. Backtracking cannot help: a shorter
 * run of digits stands before a digit, a word character. */
static Py_ssize_t exponent_end(const Char *text, Py_ssize_t length, Py_ssize_t at)
{
    if (at >= length || text[at] != 'e') {
        return -1;
    }
    Py_ssize_t digits = at + 1;
    if (digits < length && (text[digits] == '+' || text[digits] == '-')) {
        digits++;
    }
    Py_ssize_t end = skip_digits(text, length, digits);
    return end > digits && number_ends(text, length, end) ? end : -1;
}

/* `[0-9a-f]+` or `[01]+` after a 0x / 0b prefix at `at`, then (?![\w$]). */
static Py_ssize_t prefixed_end(const Char *text, Py_ssize_t length, Py_ssize_t at, int binary)
{
    Py_ssize_t end = at;
    while (end < length && (binary ? text[end] == '0' || text[end] == '1' : is_hex(text[end]))) {
        end++;
    }
    return end > at && number_ends(text, length, end) ? end : -1;
}

/* The digit branch of _LONG_NUMBER at a digit `at`:
 * (?<![\w@$.]\d)(?:(?<=0)x[0-9a-f]+|(?<=0)b[01]+|\d*(?:\.\d*)?e[+-]?\d+|\d*\.\d*|\d{4,})(?![\w$])
 * The alternatives are tried in order; within each, greedy runs of digits are all the engine
 * could try, since a shorter run leaves a digit (a word character) next. */
static Py_ssize_t long_number_from_digit(const Char *text, Py_ssize_t length, Py_ssize_t at)
{
    if (at > 0) {
        Char before = text[at - 1];
        if (before == '@' || before == '$' || before == '.' || is_word(before)) {
            return -1; /* inside a word, a variable or a dotted name */
        }
    }
    Py_ssize_t next = at + 1, end;
    if (text[at] == '0' && next < length && (text[next] == 'x' || text[next] == 'b')) {
        end = prefixed_end(text, length, next + 1, text[next] == 'b');
        if (end >= 0) {
            return end;
        }
    }
    Py_ssize_t digits_end = skip_digits(text, length, next);
    Py_ssize_t fraction_end = digits_end;
    if (fraction_end < length && text[fraction_end] == '.') {
        fraction_end = skip_digits(text, length, fraction_end + 1);
    }
    end = exponent_end(text, length, fraction_end); /* \d*(?:\.\d*)?e[+-]?\d+ */
    if (end >= 0) {
        return end;
    }
    if (digits_end < length && text[digits_end] == '.' &&
        number_ends(text, length, fraction_end)) {
        return fraction_end; /* \d*\.\d* */
    }
    if (digits_end - next >= config.short_digits && number_ends(text, length, digits_end)) {
        return digits_end; /* \d{4,}: five digits or more in all */
    }
    return -1;
}

/* The dot branch of _LONG_NUMBER at a dot `at`: (?<![\w.]\.)\d+(?:e[+-]?\d+)?(?![\w$]). */
static Py_ssize_t long_number_from_dot(const Char *text, Py_ssize_t length, Py_ssize_t at)
{
    if (at > 0 && (text[at - 1] == '.' || is_word(text[at - 1]))) {
        return -1;
    }
    Py_ssize_t digits_end = skip_digits(text, length, at + 1);
    if (digits_end == at + 1) {
        return -1;
    }
    Py_ssize_t end = exponent_end(text, length, digits_end);
    if (end >= 0) {
        return end;
    }
    /* Without the exponent: an `e` next is a word character, and the number runs on. */
    return number_ends(text, length, digits_end) ? digits_end : -1;
}

/* _LONG_NUMBER → " NUMBER ". */
static Py_ssize_t match_long_number(const Char *text, Py_ssize_t length, Py_ssize_t at,
                                    Char *replacement, Py_ssize_t *replacement_length)
{
    Py_ssize_t end = text[at] == '.' ? long_number_from_dot(text, length, at)
                                     : long_number_from_digit(text, length, at);
    if (end >= 0) {
        spaced(config.number, replacement, replacement_length);
    }
    return end;
}

/* _VARIABLE `@(?<![\w@$]@)@?[a-z_][\w$]*(?:\.[\w$]+)*` → " VARIABLE ". Nothing follows the
 * greedy runs, so the longest is the match. */
static Py_ssize_t match_variable(const Char *text, Py_ssize_t length, Py_ssize_t at,
                                 Char *replacement, Py_ssize_t *replacement_length)
{
    if (at > 0 && (text[at - 1] == '@' || is_word_or_dollar(text[at - 1]))) {
        return -1;
    }
    Py_ssize_t end = at + 1;
    if (end < length && text[end] == '@') {
        end++; /* @@version; without it, `[a-z_]` would face that `@` and fail all the same */
    }
    if (end >= length || !((text[end] >= 'a' && text[end] <= 'z') || text[end] == '_')) {
        return -1;
    }
    end++;
    while (end < length && is_word_or_dollar(text[end])) {
        end++;
    }
    while (end + 1 < length && text[end] == '.' && is_word_or_dollar(text[end + 1])) {
        end += 2;
        while (end < length && is_word_or_dollar(text[end])) {
            end++;
        }
    }
    spaced(config.variable, replacement, replacement_length);
    return end;
}

static unsigned char dash_starts[256], hash_starts[256], number_starts[256],
    variable_starts[256];

/* ---- the lexer ----------------------------------------------------------------------------- */

typedef struct {
    Buffer text, spare; /* the text as it stands, and room for the next rewrite */
    char *kinds;
    Py_ssize_t kinds_capacity;
} Workspace;

/* One workspace kept between calls; a call that finds it in use (a finalizer run by the
 * allocator during a call that lexes in turn) gets a fresh one. */
static Workspace shared;
static int shared_busy;

static void workspace_free(Workspace *work)
{
    release(&work->text);
    release(&work->spare);
    PyMem_Free(work->kinds);
    work->kinds = NULL;
    work->kinds_capacity = 0;
}

/* Run one rewrite and keep its result, if it changed anything. */
INLINE int step(Workspace *work, const unsigned char *starts, Matcher match)
{
    int changed = rewrite(&work->text, &work->spare, starts, match);
    if (changed > 0) {
        Buffer swap = work->text;
        work->text = work->spare;
        work->spare = swap;
    }
    return changed < 0 ? -1 : 0;
}

/* What the input holds, from one look at each character, to skip the rewrites that cannot
 * match. Every rewrite puts spaces around what it puts in, so two characters side by side in a
 * later text stood side by side in the input: what the input lacks, no later text holds. */
typedef struct {
    unsigned char present[256];
    uint32_t pairs[32]; /* bit b of pairs[a]: operator characters of classes a, b side by side */
    int numbers;        /* a digit or dot where _LONG_NUMBER could match */
    int glue;           /* a digit or dot before a glued keyword's first letter */
} Survey;

/* Operator characters by class (1 …; 0: none), given by configure. */
static unsigned char operator_class[256];

/* Characters as the Python's _SHAPE sees them, for the shapes a match needs. */
enum { DIGIT = 1, DOT = 2, HEX_PREFIX = 4, BINARY_OR_EXPONENT = 8, KEYWORD_START = 16 };
static unsigned char shape[256];

static inline void survey_char(Survey *survey, Py_UCS1 c, Py_UCS1 before, Py_ssize_t *digits)
{
    survey->present[c] = 1;
    int class = operator_class[c], class_before = operator_class[before];
    if (class && class_before) {
        survey->pairs[class_before] |= (uint32_t)1 << class;
    }
    unsigned char now = shape[c], then = shape[before];
    *digits = now & DIGIT ? *digits + 1 : 0;
    if (*digits > config.short_digits) {
        survey->numbers = 1; /* five digits in a row */
    }
    if (then & (DIGIT | DOT)) {
        /* 0x, 0b, 1e, 1., .5: what every long number starts with (_LONG_SHAPES) */
        if ((then & DIGIT && now & (HEX_PREFIX | BINARY_OR_EXPONENT | DOT)) ||
            (then & DOT && now & DIGIT)) {
            survey->numbers = 1;
        }
        if (now & KEYWORD_START) {
            survey->glue = 1; /* 1union, .or, 1xor (_GLUED_SHAPES) */
        }
    }
}

/* Whether `operator` may occur: all its characters but spaces in the input, and side by side
 * there unless a space of it could be one a rewrite put in (" ? "). */
static int may_occur(const Operator *operator, const Survey *survey)
{
    int spaced = 0;
    for (Py_ssize_t index = 0; index < operator->length; index++) {
        Char c = operator->pattern[index];
        spaced |= c == ' ';
        if (c != ' ' && !survey->present[c]) {
            return 0;
        }
    }
    for (Py_ssize_t index = 1; index < operator->length && !spaced; index++) {
        int before = operator_class[operator->pattern[index - 1]];
        if (!(survey->pairs[before] & (uint32_t)1 << operator_class[operator->pattern[index]])) {
            return 0;
        }
    }
    return 1;
}

/* `_replace_operators` then `_replace_literals`, on the workspace text. */
static int replace_all(Workspace *work, const Survey *survey)
{
    int dash = operator_class['-'];
    if (survey->pairs[dash] & (uint32_t)1 << dash && step(work, dash_starts, match_dash_text) < 0) {
        return -1;
    }
    if (survey->present['#'] && step(work, hash_starts, match_hash_text) < 0) {
        return -1;
    }
    for (int index = 0; index < config.operator_count; index++) {
        const Operator *operator = &config.operators[index];
        if (!may_occur(operator, survey)) {
            continue;
        }
        int changed = replace_operator(&work->text, &work->spare, operator);
        if (changed < 0) {
            return -1;
        }
        if (changed) {
            Buffer swap = work->text;
            work->text = work->spare;
            work->spare = swap;
        }
    }
    /* Keywords glued to numbers are split off before long numbers are replaced. */
    if ((survey->glue && step(work, number_starts, match_glued_keyword) < 0) ||
        (survey->numbers && step(work, number_starts, match_long_number) < 0)) {
        return -1;
    }
    if (survey->present['@'] && step(work, variable_starts, match_variable) < 0) {
        return -1;
    }
    return 0;
}

/* The token text[start:end] as a str. */
static PyObject *token(const Char *text, Py_ssize_t start, Py_ssize_t end, Char widest)
{
    if (end - start == 1 && widest < 256) {
        return PyUnicode_FromOrdinal(text[start]); /* a cached one-character string */
    }
    PyObject *made = PyUnicode_New(end - start, widest);
    if (made == NULL) {
        return NULL;
    }
    int kind = PyUnicode_KIND(made);
    void *data = PyUnicode_DATA(made);
    for (Py_ssize_t index = start; index < end; index++) {
        PyUnicode_WRITE(kind, data, index - start, text[index]);
    }
    return made;
}

/* KIND.get(word, "n") as an ASCII string: its characters and length (borrowed from KIND, or a
 * static "n"), or NULL with an error set. */
static const char *kind_of(PyObject *word, Py_ssize_t *length, PyObject **kind)
{
    *kind = PyDict_GetItemWithError(config.kind, word);
    if (*kind == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        *length = 1;
        return "n";
    }
    *length = PyUnicode_GET_LENGTH(*kind); /* ASCII, checked by configure */
    return (const char *)PyUnicode_1BYTE_DATA(*kind);
}

/* Tokens already seen, with their kinds: most tokens are the same few words again and again,
 * and a hit spares making the str and looking it up in KIND. Direct-mapped, a bounded size;
 * tokens longer than CACHED_CHARS are never cached. */
#define CACHE_SLOTS 4096
#define CACHED_CHARS 24

typedef struct {
    PyObject *word; /* the token as a str (NULL: an empty slot) */
    PyObject *kind; /* its kind, or NULL for the default "n" */
    Py_ssize_t length;
    Char chars[CACHED_CHARS];
} Cached;

static Cached cache[CACHE_SLOTS];

static void cache_clear(void)
{
    for (Py_ssize_t slot = 0; slot < CACHE_SLOTS; slot++) {
        Py_CLEAR(cache[slot].word);
        Py_CLEAR(cache[slot].kind);
        cache[slot].length = 0;
    }
}

static inline size_t slot_of(const Char *chars, Py_ssize_t length)
{
    size_t hash = 2166136261u; /* FNV-1a */
    for (Py_ssize_t index = 0; index < length; index++) {
        hash = (hash ^ chars[index]) * 16777619u;
    }
    return hash & (CACHE_SLOTS - 1);
}

/* The token text[start:end] (a new reference), its kind's characters appended to `kinds`. */
static PyObject *lookup(const Char *chars, Py_ssize_t length, Char widest, char *kinds,
                        Py_ssize_t *kinds_length)
{
    Cached *cached = NULL;
    if (length <= CACHED_CHARS) {
        cached = &cache[slot_of(chars, length)];
        if (cached->word != NULL && cached->length == length &&
            !memcmp(cached->chars, chars, (size_t)length * sizeof(Char))) {
            Py_ssize_t size = cached->kind ? PyUnicode_GET_LENGTH(cached->kind) : 1;
            memcpy(kinds + *kinds_length,
                   cached->kind ? (const char *)PyUnicode_1BYTE_DATA(cached->kind) : "n",
                   (size_t)size);
            *kinds_length += size;
            return Py_NewRef(cached->word);
        }
    }
    PyObject *word = token(chars, 0, length, widest), *kind;
    Py_ssize_t size;
    const char *kind_chars = word ? kind_of(word, &size, &kind) : NULL;
    if (kind_chars == NULL) {
        Py_XDECREF(word);
        return NULL;
    }
    memcpy(kinds + *kinds_length, kind_chars, (size_t)size);
    *kinds_length += size;
    if (cached != NULL) {
        /* Slot first, then the old references: their release runs no Python code (str). */
        PyObject *old_word = cached->word, *old_kind = cached->kind;
        cached->word = Py_NewRef(word);
        cached->kind = Py_XNewRef(kind);
        cached->length = length;
        memcpy(cached->chars, chars, (size_t)length * sizeof(Char));
        Py_XDECREF(old_word);
        Py_XDECREF(old_kind);
    }
    return word;
}

/* `tokens` after the rewrites: every punctuation character a token of its own (the Python
 * spaces them out), then str.split; each token's kind into `kinds`, each token into `words`,
 * in order (the set is built as set(tokens) builds it). */
static int split(Workspace *work, PyObject *words, Py_ssize_t *kinds_length)
{
    const Char *text = work->text.data;
    Py_ssize_t length = work->text.length, at = 0;
    while (at < length) {
        Char c = text[at];
        if (is_space(c)) {
            at++;
            continue;
        }
        Py_ssize_t end = at + 1;
        Char widest = c;
        if (!is_punctuation(c)) {
            while (end < length && !is_space(text[end]) && !is_punctuation(text[end])) {
                widest = text[end] > widest ? text[end] : widest;
                end++;
            }
        }
        PyObject *word = lookup(text + at, end - at, widest, work->kinds, kinds_length);
        if (word == NULL) {
            return -1;
        }
        int failed = PySet_Add(words, word) < 0;
        Py_DECREF(word);
        if (failed) {
            return -1;
        }
        at = end;
    }
    return 0;
}

/* MOD(…), DIV(…) are calls, not operators: joined.replace("l(", "f(") when one is a word. */
static int mark_calls(PyObject *words, char *kinds, Py_ssize_t length)
{
    int called = 0;
    for (Py_ssize_t index = 0; index < PyTuple_GET_SIZE(config.callables) && !called; index++) {
        called = PySet_Contains(words, PyTuple_GET_ITEM(config.callables, index));
        if (called < 0) {
            return -1;
        }
    }
    if (called) {
        for (Py_ssize_t index = 0; index + 1 < length; index++) {
            if (kinds[index] == 'l' && kinds[index + 1] == '(') {
                kinds[index] = 'f';
            }
        }
    }
    return 0;
}

/* Lexed(kinds, words), stealing both. */
static PyObject *lexed(PyObject *kinds, PyObject *words)
{
    if (kinds == NULL || words == NULL) {
        Py_XDECREF(kinds);
        Py_XDECREF(words);
        return NULL;
    }
    PyTypeObject *type = (PyTypeObject *)config.lexed;
    if (config.lexed_is_plain) {
        /* What tuple.__new__ does for a subclass: allocate, then fill. */
        PyObject *made = type->tp_alloc(type, 2);
        if (made == NULL) {
            Py_DECREF(kinds);
            Py_DECREF(words);
            return NULL;
        }
        PyTuple_SET_ITEM(made, 0, kinds);
        PyTuple_SET_ITEM(made, 1, words);
        return made;
    }
    PyObject *made = PyObject_CallFunctionObjArgs(config.lexed, kinds, words, NULL);
    Py_DECREF(kinds);
    Py_DECREF(words);
    return made;
}

/* Load the input into the workspace, surveying it. */
static int load(Workspace *work, const Py_UCS1 *chars, Py_ssize_t length, Survey *survey)
{
    if (reserve(&work->text, length + 1) < 0) {
        return -1;
    }
    Py_ssize_t digits = 0;
    Py_UCS1 before = ' '; /* nothing of interest */
    for (Py_ssize_t index = 0; index < length; index++) {
        work->text.data[index] = chars[index];
        survey_char(survey, chars[index], before, &digits);
        before = chars[index];
    }
    work->text.length = length;
    return 0;
}

static PyObject *lex_with(Workspace *work, const Py_UCS1 *chars, Py_ssize_t length)
{
    Survey survey;
    memset(&survey, 0, sizeof survey);
    if (load(work, chars, length, &survey) < 0 || replace_all(work, &survey) < 0) {
        return NULL;
    }
    /* One kind (at most max_kind_length characters) a token, at most one token a character. */
    Py_ssize_t room = work->text.length * config.max_kind_length + 1;
    if (room > work->kinds_capacity) {
        char *grown = PyMem_Realloc(work->kinds, (size_t)room);
        if (grown == NULL) {
            return PyErr_NoMemory();
        }
        work->kinds = grown;
        work->kinds_capacity = room;
    }
    PyObject *words = PySet_New(NULL);
    if (words == NULL) {
        return NULL;
    }
    Py_ssize_t kinds_length = 0;
    if (split(work, words, &kinds_length) < 0 ||
        mark_calls(words, work->kinds, kinds_length) < 0) {
        Py_DECREF(words);
        return NULL;
    }
    return lexed(PyUnicode_DecodeASCII(work->kinds, kinds_length, NULL), words);
}

static PyObject *lexer_lex(PyObject *module, PyObject *text)
{
    if (!config.ready) {
        PyErr_SetString(PyExc_RuntimeError, "_lexer.configure was not called");
        return NULL;
    }
    Py_ssize_t length;
    const Py_UCS1 *chars = sqli_latin1(text, &length);
    if (chars == NULL || length > MAX_LENGTH) {
        Py_RETURN_NONE; /* wider than Latin-1 (or absurdly long): the Python lexes it */
    }
    Workspace local = {0};
    Workspace *work = shared_busy ? &local : &shared;
    int *busy = work == &shared ? &shared_busy : NULL;
    if (busy) {
        *busy = 1;
    }
    PyObject *result = lex_with(work, chars, length);
    if (busy) {
        *busy = 0;
        if (shared.text.capacity > KEEP_CHARS || shared.spare.capacity > KEEP_CHARS) {
            workspace_free(&shared); /* bounded memory between calls */
        }
    } else {
        workspace_free(&local);
    }
    return result;
}

/* ---- configure ------------------------------------------------------------------------------ */

/* The one character of `text` (a placeholder), or (Py_UCS4)-1 with an error set. */
static Py_UCS4 single(PyObject *text, const char *what)
{
    if (!PyUnicode_Check(text) || PyUnicode_GET_LENGTH(text) != 1) {
        PyErr_Format(PyExc_ValueError, "%s must be one character", what);
        return (Py_UCS4)-1;
    }
    return PyUnicode_READ_CHAR(text, 0);
}

/* A placeholder: outside Latin-1 (so no input character is one), within UCS-2, and neither a
 * word character nor a space (the Python's patterns and str.split see it so). */
static int placeholder(PyObject *text, const char *what, Char *out)
{
    Py_UCS4 c = single(text, what);
    if (c == (Py_UCS4)-1) {
        return -1;
    }
    if (c < 256 || c > 0xffff || sqli_is_word(c) || sqli_is_space(c)) {
        PyErr_Format(PyExc_ValueError, "%s is not a usable placeholder", what);
        return -1;
    }
    *out = (Char)c;
    return 0;
}

/* A class for each character of an operator but spaces (and `-`, which the dash-text pattern
 * needs twice over), for the survey of pairs side by side. */
static int configure_classes(void)
{
    int classes = 0;
    memset(operator_class, 0, sizeof operator_class);
    operator_class['-'] = (unsigned char)++classes;
    for (int index = 0; index < config.operator_count; index++) {
        const Operator *operator = &config.operators[index];
        for (Py_ssize_t at = 0; at < operator->length; at++) {
            Char c = operator->pattern[at];
            if (c != ' ' && !operator_class[c]) {
                if (classes == 31) {
                    PyErr_SetString(PyExc_ValueError, "too many operator characters");
                    return -1;
                }
                operator_class[c] = (unsigned char)++classes;
            }
        }
    }
    return 0;
}

static int configure_operators(PyObject *operators)
{
    PyObject *items = PySequence_Fast(operators, "operators must be a sequence");
    if (items == NULL) {
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    int failed = count > MAX_OPERATORS;
    for (Py_ssize_t index = 0; index < count && !failed; index++) {
        PyObject *operator, *replacement;
        Operator *into = &config.operators[index];
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(items, index), "UU", &operator,
                              &replacement)) {
            failed = 1;
            break;
        }
        into->length = PyUnicode_GET_LENGTH(operator);
        failed = into->length < 1 || into->length > MAX_OPERATOR_CHARS ||
                 PyUnicode_KIND(operator) != PyUnicode_1BYTE_KIND;
        for (Py_ssize_t at = 0; at < into->length && !failed; at++) {
            into->pattern[at] = PyUnicode_READ_CHAR(operator, at);
        }
        Py_UCS4 stand_in = failed ? 0 : single(replacement, "an operator's placeholder");
        /* "*" + "/" becomes plain spaces; every other operator a placeholder. */
        failed = failed || stand_in == (Py_UCS4)-1 || stand_in > 0xffff ||
                 (stand_in != ' ' && (stand_in < 256 || sqli_is_word(stand_in)));
        into->replacement[0] = into->replacement[2] = ' ';
        into->replacement[1] = (Char)stand_in;
    }
    Py_DECREF(items);
    if (failed) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "unusable operators");
        }
        return -1;
    }
    config.operator_count = (int)count;
    return configure_classes();
}

static int configure_keywords(PyObject *keywords)
{
    PyObject *items = PySequence_Fast(keywords, "keywords must be a sequence");
    if (items == NULL) {
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    int failed = count > MAX_KEYWORDS;
    memset(keyword_start, 0, sizeof keyword_start);
    for (int c = 0; c < 256; c++) {
        shape[c] &= (unsigned char)~KEYWORD_START;
    }
    for (Py_ssize_t index = 0; index < count && !failed; index++) {
        PyObject *keyword = PySequence_Fast_GET_ITEM(items, index);
        Keyword *into = &config.keywords[index];
        failed = !PyUnicode_Check(keyword) || !PyUnicode_IS_ASCII(keyword) ||
                 PyUnicode_GET_LENGTH(keyword) < 1 ||
                 PyUnicode_GET_LENGTH(keyword) > MAX_KEYWORD_CHARS;
        if (failed) {
            break;
        }
        into->length = PyUnicode_GET_LENGTH(keyword);
        for (Py_ssize_t at = 0; at < into->length; at++) {
            into->chars[at] = PyUnicode_1BYTE_DATA(keyword)[at];
            /* `\b` after the keyword assumes it ends in a word character. */
            failed = failed || !word_table[into->chars[at]];
        }
        keyword_start[into->chars[0]] = 1;
        shape[into->chars[0]] |= KEYWORD_START;
    }
    Py_DECREF(items);
    if (failed) {
        PyErr_SetString(PyExc_ValueError, "keywords must be short ASCII words");
        return -1;
    }
    config.keyword_count = (int)count;
    return 0;
}

/* The longest kind, checking that every kind is an ASCII string. */
static int configure_kinds(PyObject *kind)
{
    Py_ssize_t position = 0, longest = 1;
    PyObject *key, *value;
    while (PyDict_Next(kind, &position, &key, &value)) {
        if (!PyUnicode_Check(value) || !PyUnicode_IS_ASCII(value)) {
            PyErr_SetString(PyExc_ValueError, "kinds must be ASCII strings");
            return -1;
        }
        if (PyUnicode_GET_LENGTH(value) > longest) {
            longest = PyUnicode_GET_LENGTH(value);
        }
    }
    config.max_kind_length = longest;
    return 0;
}

static int configure_punctuation(PyObject *punctuation)
{
    memset(config.punctuation, 0, sizeof config.punctuation);
    for (Py_ssize_t at = 0; at < PyUnicode_GET_LENGTH(punctuation); at++) {
        Py_UCS4 c = PyUnicode_READ_CHAR(punctuation, at);
        if (c >= 256 || sqli_is_space(c)) {
            PyErr_SetString(PyExc_ValueError, "punctuation must be Latin-1, not spaces");
            return -1;
        }
        config.punctuation[c] = 1;
    }
    return 0;
}

static int configure_callables(PyObject *callables)
{
    PyObject *items = PySequence_Tuple(callables);
    if (items == NULL) {
        return -1;
    }
    if (PyTuple_GET_SIZE(items) > MAX_CALLABLES) {
        Py_DECREF(items);
        PyErr_SetString(PyExc_ValueError, "too many callable operators");
        return -1;
    }
    Py_XSETREF(config.callables, items);
    return 0;
}

static int configure_lexed(PyObject *type)
{
    if (!PyType_Check(type) || !PyType_IsSubtype((PyTypeObject *)type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "lexed must be a tuple type");
        return -1;
    }
    PyTypeObject *tuple_type = (PyTypeObject *)type;
    /* A NamedTuple has __slots__ = (): the tuple's own layout, built as tuple.__new__ does. */
    config.lexed_is_plain = tuple_type->tp_basicsize == PyTuple_Type.tp_basicsize &&
                            tuple_type->tp_itemsize == PyTuple_Type.tp_itemsize &&
                            tuple_type->tp_dictoffset == 0;
    Py_INCREF(type);
    Py_XSETREF(config.lexed, type);
    return 0;
}

PyDoc_STRVAR(configure_doc,
             "configure(kind, operators, prose, issue, number, variable, glued_keywords,\n"
             "          short_digits, punctuation, callables, lexed)\n"
             "Hand over the lexer's tables: KIND, the (operator, placeholder) pairs in the order\n"
             "they are replaced, the placeholders of prose comments, issue numbers, numbers and\n"
             "variables, GLUED_KEYWORDS, _SHORT_NUMBER_DIGITS, the punctuation characters, the\n"
             "operators that are calls before '(', and the Lexed type.");

static PyObject *lexer_configure(PyObject *module, PyObject *args)
{
    PyObject *kind, *operators, *prose, *issue, *number, *variable, *keywords, *punctuation;
    PyObject *callables, *type;
    Py_ssize_t short_digits;
    config.ready = 0;
    if (!PyArg_ParseTuple(args, "O!OUUUUOnUOO", &PyDict_Type, &kind, &operators, &prose, &issue,
                          &number, &variable, &keywords, &short_digits, &punctuation,
                          &callables, &type)) {
        return NULL;
    }
    if (configure_kinds(kind) < 0 || configure_operators(operators) < 0 ||
        placeholder(prose, "the prose placeholder", &config.prose) < 0 ||
        placeholder(issue, "the issue placeholder", &config.issue) < 0 ||
        placeholder(number, "the number placeholder", &config.number) < 0 ||
        placeholder(variable, "the variable placeholder", &config.variable) < 0 ||
        configure_keywords(keywords) < 0 || configure_punctuation(punctuation) < 0 ||
        configure_callables(callables) < 0 || configure_lexed(type) < 0) {
        return NULL;
    }
    if (short_digits < 1) {
        PyErr_SetString(PyExc_ValueError, "short_digits must be positive");
        return NULL;
    }
    config.short_digits = short_digits;
    cache_clear(); /* its kinds came from the KIND handed over before */
    Py_INCREF(kind);
    Py_XSETREF(config.kind, kind);
    config.ready = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(lex_doc, "lex(text) -> Lexed | None\n"
                      "lexer.lex for a one-byte string; None for any other (declined).");

static PyMethodDef lexer_methods[] = {
    {"configure", lexer_configure, METH_VARARGS, configure_doc},
    {"lex", lexer_lex, METH_O, lex_doc},
    {NULL, NULL, 0, NULL},
};

static void lexer_free(void *module)
{
    workspace_free(&shared);
    cache_clear();
    Py_CLEAR(config.kind);
    Py_CLEAR(config.lexed);
    Py_CLEAR(config.callables);
    config.ready = 0;
}

static struct PyModuleDef lexer_module = {
    PyModuleDef_HEAD_INIT, "_lexer", "Exact native port of lexer.lex.", -1, lexer_methods,
    NULL, NULL, NULL, lexer_free,
};

/* The character tables; \d and [0-9] are one class only if Latin-1 has no other decimals. */
static int init_tables(void)
{
    for (Py_UCS4 c = 0; c < 256; c++) {
        word_table[c] = (unsigned char)sqli_is_word(c);
        space_table[c] = (unsigned char)sqli_is_space(c);
        if (sqli_is_digit(c) != (c >= '0' && c <= '9')) {
            PyErr_SetString(PyExc_ImportError, "Latin-1 digits are not ASCII ones here");
            return -1;
        }
    }
    dash_starts['-'] = hash_starts['#'] = variable_starts['@'] = 1;
    number_starts['.'] = 1;
    shape['.'] = DOT;
    shape['x'] = HEX_PREFIX;
    shape['b'] = shape['e'] = BINARY_OR_EXPONENT;
    for (Py_UCS4 c = '0'; c <= '9'; c++) {
        number_starts[c] = 1;
        shape[c] = DIGIT;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__lexer(void)
{
    if (init_tables() < 0) {
        return NULL;
    }
    return PyModule_Create(&lexer_module);
}
