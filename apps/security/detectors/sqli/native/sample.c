/* `sample` and `anchored` of sample.py, in C: the same anchors, windows, budget and gaps, for
 * the same results, bit for bit (and the very text itself where the Python returns it).
 *
 * The anchor patterns of `_ANY_ANCHOR` are scanned by hand. Each starts with a literal led by a
 * character of its own, so that at a place at most one of them can match: the scan looks at the
 * pattern of the character there, and, like `finditer`, goes on after the match (after the
 * literal: the rest is look-arounds), or at the next character. `\s`, `\w`, `\d` and `\b` are
 * those of `re` on a str pattern (common.h). The words of the look-aheads, the strengths, the
 * callee words (from WORD_KIND) and the constants come from sample.py by `configure`.
 *
 * Declined (None, the Python reference does the work): a str subclass, whose slices the Python
 * copies where it would return the text itself; a text with a character above U+00FF. */
#include "common.h"

#include <string.h>

typedef struct {
    Py_ssize_t at;
    long strength;
} Anchor;

typedef struct {
    Py_ssize_t start;
    Py_ssize_t stop;
} Span;

typedef struct {
    Span *items;
    Py_ssize_t count;
    Py_ssize_t capacity;
} Spans;

typedef struct {
    const Py_UCS1 *bytes;
    Py_ssize_t length;
    long value;
} Word;

/* A set of Latin-1 words with a value each, sorted by (length, bytes) for bisection. */
typedef struct {
    Word *words;
    Py_UCS1 *storage;
    Py_ssize_t count;
    Py_ssize_t longest;
} WordTable;

/* The characters that lead the patterns, in the order of `_ANCHOR_PATTERNS`. */
static const char HEADS[] = "'\";=u(@-i0s";
#define HEAD_COUNT ((int)(sizeof(HEADS) - 1))

static int configured;
static Py_ssize_t long_chars, head_chars, tail_chars, before_chars, after_chars, budget_chars;
static Py_ssize_t min_strength, min_end_strength, max_anchors, max_gap_quotes, callee_chars;
static Py_ssize_t cut_chars;
#define MAX_DENSE 8
static Py_ssize_t dense_chars[MAX_DENSE];
static double dense_each[MAX_DENSE];
static Py_ssize_t dense_count;
static long head_strength[256];
static signed char head_index[256]; /* -1, or which pattern the character leads */
static WordTable clause_words, stacked_words, call_words;
static Py_UCS1 gap_text[64];
static Py_ssize_t gap_length;
/* Scratch for the anchors of one call, sized by `configure`: every call runs under the GIL
 * and calls nothing that could release it or re-enter, so one set serves all. */
static Anchor *anchor_scratch;

/* `\w`, `\s`, `\d` of `re` for every Latin-1 character, computed once. */
static unsigned char is_word[256], is_space[256], is_digit[256];

static void init_classes(void)
{
    for (int ch = 0; ch < 256; ch++) {
        is_word[ch] = (unsigned char)sqli_is_word((Py_UCS4)ch);
        is_space[ch] = (unsigned char)sqli_is_space((Py_UCS4)ch);
        is_digit[ch] = (unsigned char)sqli_is_digit((Py_UCS4)ch);
    }
    memset(head_index, -1, sizeof(head_index));
    for (int index = 0; index < HEAD_COUNT; index++) {
        head_index[(unsigned char)HEADS[index]] = (signed char)index;
    }
}

/* ---- word tables ---------------------------------------------------------------------- */

static int compare_words(const void *left, const void *right)
{
    const Word *a = left, *b = right;
    if (a->length != b->length) {
        return a->length < b->length ? -1 : 1;
    }
    return memcmp(a->bytes, b->bytes, (size_t)a->length);
}

static void table_free(WordTable *table)
{
    PyMem_Free(table->words);
    PyMem_Free(table->storage);
    memset(table, 0, sizeof(*table));
}

/* The value of `bytes` in `table`, or 0. */
static long table_get(const WordTable *table, const Py_UCS1 *bytes, Py_ssize_t length)
{
    if (length > table->longest) {
        return 0;
    }
    Word key = {bytes, length, 0};
    const Word *found =
        bsearch(&key, table->words, (size_t)table->count, sizeof(Word), compare_words);
    return found ? found->value : 0;
}

/* Fill `table` from (word, value) pairs; words that are not Latin-1 can never equal a piece
 * of Latin-1 text and are left out; `words_only` requires every word to be a run of `\w`
 * (a look-ahead `(?:w1|w2|...)\b` matches where the run of `\w` there is one of them). */
static int table_fill(WordTable *table, PyObject *pairs, int words_only)
{
    Py_ssize_t count = PyList_GET_SIZE(pairs), total = 0;
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *word = PyTuple_GET_ITEM(PyList_GET_ITEM(pairs, index), 0);
        total += PyUnicode_GET_LENGTH(word);
    }
    WordTable built = {0};
    built.words = PyMem_Calloc((size_t)count + 1, sizeof(Word));
    built.storage = PyMem_Malloc((size_t)total + 1);
    if (!built.words || !built.storage) {
        table_free(&built);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t used = 0;
    for (Py_ssize_t index = 0; index < count; index++) {
        PyObject *pair = PyList_GET_ITEM(pairs, index);
        PyObject *word = PyTuple_GET_ITEM(pair, 0);
        long value = PyLong_AsLong(PyTuple_GET_ITEM(pair, 1));
        if (value == -1 && PyErr_Occurred()) {
            table_free(&built);
            return -1;
        }
        Py_ssize_t length = 0;
        const Py_UCS1 *bytes = sqli_latin1(word, &length);
        if (!bytes || length == 0 || value <= 0) {
            if (words_only) {
                table_free(&built);
                PyErr_SetString(PyExc_ValueError, "look-ahead words must be Latin-1 \\w runs");
                return -1;
            }
            continue;
        }
        for (Py_ssize_t at = 0; words_only && at < length; at++) {
            if (!is_word[bytes[at]]) {
                table_free(&built);
                PyErr_SetString(PyExc_ValueError, "look-ahead words must be Latin-1 \\w runs");
                return -1;
            }
        }
        memcpy(built.storage + used, bytes, (size_t)length);
        built.words[built.count++] = (Word){built.storage + used, length, value};
        used += length;
        if (length > built.longest) {
            built.longest = length;
        }
    }
    qsort(built.words, (size_t)built.count, sizeof(Word), compare_words);
    table_free(table);
    *table = built;
    return 0;
}

/* ---- the anchor patterns -------------------------------------------------------------- */

static Py_ssize_t skip_space(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at)
{
    while (at < n && is_space[s[at]]) {
        at++;
    }
    return at;
}

/* `(?:w1|w2|...)\b` at `at`: the run of `\w` there is one of the words. */
static int word_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at, const WordTable *table)
{
    Py_ssize_t end = at;
    while (end < n && is_word[s[end]] && end - at <= table->longest) {
        end++;
    }
    return end > at && table_get(table, s + at, end - at) != 0;
}

static int starts_with(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at, const char *literal,
                       Py_ssize_t length)
{
    return at + length <= n && memcmp(s + at, literal, (size_t)length) == 0;
}

/* `select\b` at `at`. */
static int select_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at)
{
    return starts_with(s, n, at, "select", 6) && (at + 6 == n || !is_word[s[at + 6]]);
}

static int opens(Py_UCS1 ch) { return ch == '=' || ch == '<' || ch == '>' || ch == '('; }

/* The class `[;=<>!)|&#+*\/-]` that an operator after a quote starts with. */
static int operator_char(Py_UCS1 ch)
{
    switch (ch) {
    case ';': case '=': case '<': case '>': case '!': case ')': case '|': case '&': case '#':
    case '+': case '*': case '/': case '-':
        return 1;
    default:
        return 0;
    }
}

/* A quote Q at `at`: `(?<=[=<>(]Q)|(?<=[=<>(] Q)|(?=\s*[;=<>!)|&#+*\/-])`, or, after `\w` or
 * `)`, `(?=\s*CLAUSE\b)`. (`\s*` gives nothing back that could help: a space is neither an
 * operator nor the start of a word.) */
static int quote_anchor(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at)
{
    if (at >= 1 && opens(s[at - 1])) {
        return 1;
    }
    if (at >= 2 && s[at - 1] == ' ' && opens(s[at - 2])) {
        return 1;
    }
    Py_ssize_t next = skip_space(s, n, at + 1);
    if (next < n && operator_char(s[next])) {
        return 1;
    }
    return at >= 1 && (is_word[s[at - 1]] || s[at - 1] == ')') &&
           word_at(s, n, next, &clause_words);
}

static int literal_char(Py_UCS1 ch) { return is_digit[ch] || ch == '\'' || ch == '"'; }

/* `=(?:(?<=[\d'"] =)|(?<=[\d'"]=))(?= ?[\d'"])`: two literals compared. */
static int compared_anchor(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at)
{
    int before = (at >= 1 && literal_char(s[at - 1])) ||
                 (at >= 2 && s[at - 1] == ' ' && literal_char(s[at - 2]));
    int after = (at + 1 < n && literal_char(s[at + 1])) ||
                (at + 2 < n && s[at + 1] == ' ' && literal_char(s[at + 2]));
    return before && after;
}

/* `union(?=\s+(?:all\s+|distinct\s+)?(?:select\b|\())`, `union` matched at `at`. Where the
 * optional group matches but what follows it does not, the regex retries without the group,
 * at `all` or `distinct`, which is neither `select` nor `(`: no match either way. */
static int union_anchor(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at)
{
    Py_ssize_t next = at + 5;
    if (next >= n || !is_space[s[next]]) {
        return 0;
    }
    next = skip_space(s, n, next);
    if (starts_with(s, n, next, "all", 3) && next + 3 < n && is_space[s[next + 3]]) {
        next = skip_space(s, n, next + 3);
    } else if (starts_with(s, n, next, "distinct", 8) && next + 8 < n && is_space[s[next + 8]]) {
        next = skip_space(s, n, next + 8);
    }
    return select_at(s, n, next) || (next < n && s[next] == '(');
}

/* The length of the anchor that the pattern led by `s[at]` matches at `at`, or 0. */
static Py_ssize_t anchor_at(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t at)
{
    switch (s[at]) {
    case '\'':
    case '"':
        return quote_anchor(s, n, at);
    case ';':
        return word_at(s, n, skip_space(s, n, at + 1), &stacked_words);
    case '=':
        return compared_anchor(s, n, at);
    case 'u':
        return starts_with(s, n, at, "union", 5) && union_anchor(s, n, at) ? 5 : 0;
    case '(':
        return select_at(s, n, skip_space(s, n, at + 1));
    case '@':
        return starts_with(s, n, at, "@@", 2) ? 2 : 0;
    case '-':
        return starts_with(s, n, at, "--", 2) ? 2 : 0;
    case 'i':
        return starts_with(s, n, at, "information_schema", 18) ? 18 : 0;
    case '0':
        return starts_with(s, n, at, "0x", 2) ? 2 : 0;
    case 's':
        return starts_with(s, n, at, "select", 6) ? 6 : 0;
    default:
        return 0;
    }
}

/* `_ANY_ANCHOR.finditer` kept to the first `max_anchors` of each pattern
 * (`_first_per_pattern`), appended to `found`; the scan stops once they add up to `enough`
 * (when `stop`), where the caller's answer no longer depends on the rest. */
static Py_ssize_t pattern_anchors(const Py_UCS1 *s, Py_ssize_t n, Anchor *found, int stop,
                                  double enough, long *sum)
{
    Py_ssize_t counted[HEAD_COUNT] = {0}, count = 0;
    Py_ssize_t at = 0;
    while (at < n) {
        int head = head_index[s[at]];
        Py_ssize_t length = head < 0 ? 0 : anchor_at(s, n, at);
        if (length == 0) {
            at++;
            continue;
        }
        if (++counted[head] <= max_anchors) {
            found[count].at = at;
            found[count].strength = head_strength[s[at]];
            *sum += found[count++].strength;
            if (stop && (double)*sum >= enough) {
                break;
            }
        }
        at += length;
    }
    return count;
}

/* `_call_anchors`: of the first `max_anchors` `(` right after `[\w$]`, those whose callee (the
 * run of `[\w$]` before, at most `callee_chars` of it) is a word with a call strength. */
static Py_ssize_t call_anchors(const Py_UCS1 *s, Py_ssize_t n, Anchor *found, long *sum)
{
    Py_ssize_t calls = 0, count = 0;
    const Py_UCS1 *bracket = memchr(s, '(', (size_t)n);
    while (bracket && calls < max_anchors) {
        Py_ssize_t at = bracket - s;
        if (at >= 1 && (is_word[s[at - 1]] || s[at - 1] == '$')) {
            calls++;
            Py_ssize_t begin = at;
            while (begin > 0 && at - begin < callee_chars &&
                   (is_word[s[begin - 1]] || s[begin - 1] == '$')) {
                begin--;
            }
            long strength = table_get(&call_words, s + begin, at - begin);
            if (strength) {
                found[count].at = at;
                found[count].strength = strength;
                *sum += found[count++].strength;
            }
        }
        bracket = at + 1 < n ? memchr(s + at + 1, '(', (size_t)(n - at - 1)) : NULL;
    }
    return count;
}

/* `_anchors(text, enough)`, into `anchor_scratch`; `stop` lets the scan end early once the
 * pattern anchors add up to `enough` (their sum is then at least that, not all of it). */
static Py_ssize_t find_anchors(const Py_UCS1 *s, Py_ssize_t n, int has_enough, double enough,
                               int stop, long *sum)
{
    *sum = 0;
    Py_ssize_t count = pattern_anchors(s, n, anchor_scratch, stop && has_enough, enough, sum);
    if (!has_enough || (double)*sum < enough) {
        count += call_anchors(s, n, anchor_scratch + count, sum);
    }
    return count;
}

/* ---- windows -------------------------------------------------------------------------- */

static int spans_reserve(Spans *spans, Py_ssize_t more)
{
    if (spans->count + more <= spans->capacity) {
        return 0;
    }
    Py_ssize_t capacity = (spans->capacity + more) * 2;
    Span *items = PyMem_Realloc(spans->items, (size_t)capacity * sizeof(Span));
    if (!items) {
        PyErr_NoMemory();
        return -1;
    }
    spans->items = items;
    spans->capacity = capacity;
    return 0;
}

static int span_before(Span a, Span b)
{
    return a.start < b.start || (a.start == b.start && a.stop < b.stop);
}

/* `insort(spans, span)`: after the spans not above it. */
static int spans_insort(Spans *spans, Span span)
{
    if (spans_reserve(spans, 1) < 0) {
        return -1;
    }
    Py_ssize_t low = 0, high = spans->count;
    while (low < high) {
        Py_ssize_t middle = (low + high) / 2;
        if (span_before(span, spans->items[middle])) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    memmove(spans->items + low + 1, spans->items + low,
            (size_t)(spans->count - low) * sizeof(Span));
    spans->items[low] = span;
    spans->count++;
    return 0;
}

static int spans_push(Spans *spans, Py_ssize_t start, Py_ssize_t stop)
{
    if (spans_reserve(spans, 1) < 0) {
        return -1;
    }
    spans->items[spans->count++] = (Span){start, stop};
    return 0;
}

/* `_uncovered`: the parts of start…stop that none of the (sorted) `spans` covers. */
static int uncovered(const Spans *spans, Py_ssize_t start, Py_ssize_t stop, Spans *parts)
{
    parts->count = 0;
    for (Py_ssize_t index = 0; index < spans->count; index++) {
        Span span = spans->items[index];
        if (span.start >= stop) {
            break;
        }
        if (span.stop > start) {
            if (span.start > start && spans_push(parts, start, span.start) < 0) {
                return -1;
            }
            start = Py_MAX(start, span.stop);
        }
    }
    return start < stop ? spans_push(parts, start, stop) : 0;
}

static int compare_anchors(const void *left, const void *right)
{
    const Anchor *a = left, *b = right;
    if (a->at != b->at) {
        return a->at < b->at ? -1 : 1;
    }
    return (a->strength > b->strength) - (a->strength < b->strength);
}

/* `sorted(zip(strengths, positions), reverse=True)`: by strength, then by place, both
 * descending. */
static int compare_ranked(const void *left, const void *right)
{
    const Anchor *a = left, *b = right;
    if (a->strength != b->strength) {
        return a->strength > b->strength ? -1 : 1;
    }
    return (a->at < b->at) - (a->at > b->at);
}

/* The first index of the sorted anchors at or after `at` (`bisect_left`). */
static Py_ssize_t first_from(const Anchor *anchors, Py_ssize_t count, Py_ssize_t at)
{
    Py_ssize_t low = 0, high = count;
    while (low < high) {
        Py_ssize_t middle = (low + high) / 2;
        if (anchors[middle].at < at) {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    return low;
}

/* `_add_windows`: the strongest windows, as far as not covered yet, within the budget.
 * `anchors` are sorted, `summed` their running sums (count + 1 of them). `ranked` holds the
 * window strengths as (strength, place) pairs, in Anchor's two fields. */
static int add_windows(Py_ssize_t length, const Anchor *anchors, const long *summed,
                       Py_ssize_t count, Anchor *ranked, Spans *spans)
{
    for (Py_ssize_t index = 0; index < count; index++) {
        Py_ssize_t end = first_from(anchors, count, anchors[index].at + after_chars);
        ranked[index].strength = summed[end] - summed[index];
        ranked[index].at = anchors[index].at;
    }
    qsort(ranked, (size_t)count, sizeof(Anchor), compare_ranked);
    Spans parts = {0};
    Py_ssize_t budget = budget_chars - tail_chars;
    int status = 0;
    for (Py_ssize_t index = 0; index < count && status == 0; index++) {
        if (ranked[index].strength < min_strength || budget <= 0) {
            break;
        }
        Py_ssize_t at = ranked[index].at;
        status = uncovered(spans, Py_MAX(at - before_chars, 0), at + after_chars, &parts);
        for (Py_ssize_t part = 0; part < parts.count && status == 0; part++) {
            Py_ssize_t start = parts.items[part].start;
            Py_ssize_t stop = Py_MIN(Py_MIN(parts.items[part].stop, length), start + budget);
            status = spans_insort(spans, (Span){start, stop});
            budget -= stop - start;
        }
    }
    PyMem_Free(parts.items);
    return status;
}

/* `_cut_back`: the end of a span moved back to a space within `cut_chars` before it (with
 * `str.rfind`'s reading of a negative start: from the end, which leaves nothing to search). */
static Py_ssize_t cut_back(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t stop)
{
    if (stop >= n) {
        return n;
    }
    Py_ssize_t low = stop - cut_chars;
    if (low < 0) {
        low = Py_MAX(low + n, 0);
    }
    for (Py_ssize_t at = stop - 1; at >= low; at--) {
        if (s[at] == ' ') {
            return at > 0 ? at : stop;
        }
    }
    return stop;
}

/* `_cut_forward`: the start of a span moved past a space within `cut_chars` after it. */
static Py_ssize_t cut_forward(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t start)
{
    if (start <= 0) {
        return 0;
    }
    Py_ssize_t high = Py_MIN(start + cut_chars, n);
    for (Py_ssize_t at = start; at < high; at++) {
        if (s[at] == ' ') {
            return at + 1;
        }
    }
    return start;
}

/* `_windows`: the spans to keep, in order, merged and cut at spaces, into `spans`. */
static int windows(const Py_UCS1 *s, Py_ssize_t n, Anchor *anchors, Py_ssize_t count,
                   Spans *spans)
{
    qsort(anchors, (size_t)count, sizeof(Anchor), compare_anchors);
    long *summed = PyMem_Malloc(((size_t)count + 1) * sizeof(long));
    Anchor *ranked = PyMem_Malloc(((size_t)count + 1) * sizeof(Anchor));
    int status = summed && ranked ? 0 : -1;
    if (status < 0) {
        PyErr_NoMemory();
    } else {
        summed[0] = 0;
        for (Py_ssize_t index = 0; index < count; index++) {
            summed[index + 1] = summed[index] + anchors[index].strength;
        }
        long head = summed[first_from(anchors, count, head_chars)];
        long tail = summed[count] - summed[first_from(anchors, count, n - tail_chars)];
        if (head >= min_end_strength) {
            status = spans_push(spans, 0, head_chars);
        }
        if (status == 0 && tail >= min_end_strength) {
            status = spans_push(spans, n - tail_chars, n);
        }
        if (status == 0 && summed[count] >= min_strength) {
            status = add_windows(n, anchors, summed, count, ranked, spans);
        }
    }
    PyMem_Free(summed);
    PyMem_Free(ranked);
    if (status < 0) {
        return -1;
    }
    /* sorted already (the head before the tail, the windows insorted): merge in place */
    Py_ssize_t merged = 0;
    for (Py_ssize_t index = 0; index < spans->count; index++) {
        Span span = spans->items[index];
        if (merged && span.start <= spans->items[merged - 1].stop) {
            Span *last = &spans->items[merged - 1];
            last->stop = Py_MAX(span.stop, last->stop);
        } else {
            spans->items[merged++] = span;
        }
    }
    spans->count = merged;
    for (Py_ssize_t index = 0; index < merged; index++) {
        Span *span = &spans->items[index];
        span->start = cut_forward(s, n, span->start);
        span->stop = cut_back(s, n, span->stop);
    }
    return 0;
}

/* `_gap(text, start, stop)` written at `out`; returns its length. `stack` has room for
 * stop - start quotes. Cancelling two like quotes in a row, again and again, leaves what
 * cancelling against the last one kept leaves (each quote undoes itself), in one pass. */
static Py_ssize_t write_gap(const Py_UCS1 *s, Py_ssize_t n, Py_ssize_t start, Py_ssize_t stop,
                            Py_UCS1 *stack, Py_UCS1 *out)
{
    stop = Py_MIN(stop, n);
    Py_ssize_t depth = 0;
    for (Py_ssize_t at = start; at < stop; at++) {
        Py_UCS1 ch = s[at];
        if (ch == '\'' || ch == '"' || ch == '`') {
            if (depth && stack[depth - 1] == ch) {
                depth--;
            } else {
                stack[depth++] = ch;
            }
        }
    }
    if (depth > max_gap_quotes) { /* the first half and the last (`-M // 2` rounds down) */
        Py_ssize_t front = max_gap_quotes / 2, back = max_gap_quotes - front;
        memmove(stack + front, stack + depth - back, (size_t)back);
        depth = front + back;
    }
    Py_ssize_t length = 0;
    memcpy(out, gap_text, (size_t)gap_length);
    length += gap_length;
    if (depth) {
        for (Py_ssize_t index = 0; index < depth; index++) {
            if (index) {
                out[length++] = ' ';
            }
            out[length++] = stack[index];
        }
        memcpy(out + length, gap_text, (size_t)gap_length);
        length += gap_length;
    }
    return length;
}

/* The sample from its spans: each span's text, gaps between and around. The text itself
 * where one span covers it all (`"".join([text[0:len]])` is `text`). */
static PyObject *join_spans(PyObject *text, const Py_UCS1 *s, Py_ssize_t n, const Spans *spans)
{
    if (spans->count == 1 && spans->items[0].start == 0 && spans->items[0].stop >= n) {
        return Py_NewRef(text);
    }
    size_t gap_room = (size_t)(2 * gap_length + 2 * max_gap_quotes);
    size_t room = (size_t)n + ((size_t)spans->count + 1) * gap_room;
    Py_UCS1 *out = PyMem_Malloc(room + (size_t)n + 1);
    if (!out) {
        return PyErr_NoMemory();
    }
    Py_UCS1 *stack = out + room;
    Py_ssize_t length = 0, end = 0;
    for (Py_ssize_t index = 0; index < spans->count; index++) {
        Py_ssize_t start = spans->items[index].start, stop = spans->items[index].stop;
        if (start > end) {
            length += write_gap(s, n, end, start, stack, out + length);
        }
        Py_ssize_t slice_stop = Py_MIN(stop, n);
        if (start < slice_stop) {
            memcpy(out + length, s + start, (size_t)(slice_stop - start));
            length += slice_stop - start;
        }
        end = stop;
    }
    if (end < n) {
        length += write_gap(s, n, end, n, stack, out + length);
    }
    PyObject *sampled = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, out, length);
    PyMem_Free(out);
    return sampled;
}

/* ---- the functions -------------------------------------------------------------------- */

static int check_configured(void)
{
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "_sample.configure() was not called");
    }
    return configured;
}

/* `sample(text)`, or None where declined. */
static PyObject *sample(PyObject *module, PyObject *text)
{
    if (!check_configured()) {
        return NULL;
    }
    if (!PyUnicode_CheckExact(text)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n <= long_chars) {
        return Py_NewRef(text);
    }
    const Py_UCS1 *s = sqli_latin1(text, &n);
    if (!s) {
        Py_RETURN_NONE;
    }
    int dense = 0;
    double threshold = 0.0;
    for (Py_ssize_t index = 0; index < dense_count; index++) {
        double each = dense_each[index] * (double)n;
        if (n <= dense_chars[index] && (!dense || each < threshold)) {
            threshold = each;
            dense = 1;
        }
    }
    long total = 0;
    Py_ssize_t count = find_anchors(s, n, dense, threshold, 1, &total);
    if (dense && (double)total >= threshold) {
        return Py_NewRef(text);
    }
    if (total < min_end_strength) {
        return PyUnicode_New(0, 0);
    }
    Spans spans = {0};
    if (windows(s, n, anchor_scratch, count, &spans) < 0) {
        PyMem_Free(spans.items);
        return NULL;
    }
    PyObject *sampled = spans.count ? join_spans(text, s, n, &spans) : PyUnicode_New(0, 0);
    PyMem_Free(spans.items);
    return sampled;
}

/* `anchored(text)`, or None where declined. The strengths are positive: the sum only grows,
 * so the scan may stop as soon as it is enough. */
static PyObject *anchored(PyObject *module, PyObject *text)
{
    if (!check_configured()) {
        return NULL;
    }
    Py_ssize_t n = 0;
    const Py_UCS1 *s = PyUnicode_CheckExact(text) ? sqli_latin1(text, &n) : NULL;
    if (!s) {
        Py_RETURN_NONE;
    }
    long total = 0;
    find_anchors(s, n, 1, (double)min_end_strength, 1, &total);
    return PyBool_FromLong(total >= min_end_strength);
}

/* `_anchors(text, enough)` as a list of (place, strength), or None where declined: for the
 * tests, which compare it with the Python's. */
static PyObject *anchors(PyObject *module, PyObject *args)
{
    PyObject *text, *enough = Py_None;
    if (!check_configured() || !PyArg_ParseTuple(args, "O|O:anchors", &text, &enough)) {
        return NULL;
    }
    double threshold = enough == Py_None ? 0.0 : PyFloat_AsDouble(enough);
    if (threshold == -1.0 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t n = 0;
    const Py_UCS1 *s = PyUnicode_CheckExact(text) ? sqli_latin1(text, &n) : NULL;
    if (!s) {
        Py_RETURN_NONE;
    }
    long total = 0;
    Py_ssize_t count = find_anchors(s, n, enough != Py_None, threshold, 0, &total);
    /* copied out of the scratch first: building the list may collect garbage, and a
     * finaliser may sample another text */
    Anchor *copy = PyMem_Malloc(((size_t)count + 1) * sizeof(Anchor));
    if (!copy) {
        return PyErr_NoMemory();
    }
    memcpy(copy, anchor_scratch, (size_t)count * sizeof(Anchor));
    PyObject *found = PyList_New(count);
    for (Py_ssize_t index = 0; found && index < count; index++) {
        PyObject *pair = Py_BuildValue("(nl)", copy[index].at, copy[index].strength);
        if (!pair) {
            Py_CLEAR(found);
            break;
        }
        PyList_SET_ITEM(found, index, pair);
    }
    PyMem_Free(copy);
    return found;
}

/* ---- configure ------------------------------------------------------------------------ */

/* A list of (word, value) pairs from a dict (str -> int) or from words (each value 1). */
static PyObject *word_pairs(PyObject *words)
{
    if (PyDict_Check(words)) {
        return PyDict_Items(words);
    }
    PyObject *list = PySequence_List(words);
    for (Py_ssize_t index = 0; list && index < PyList_GET_SIZE(list); index++) {
        PyObject *pair = Py_BuildValue("(Oi)", PyList_GET_ITEM(list, index), 1);
        if (!pair) {
            Py_CLEAR(list);
            break;
        }
        PyList_SetItem(list, index, pair);
    }
    return list;
}

static int checked_pairs(PyObject *pairs)
{
    for (Py_ssize_t index = 0; index < PyList_GET_SIZE(pairs); index++) {
        PyObject *pair = PyList_GET_ITEM(pairs, index);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            !PyUnicode_Check(PyTuple_GET_ITEM(pair, 0)) ||
            !PyLong_Check(PyTuple_GET_ITEM(pair, 1))) {
            PyErr_SetString(PyExc_TypeError, "words: str keys with int values");
            return -1;
        }
    }
    return 0;
}

static int fill_words(WordTable *table, PyObject *words, int words_only)
{
    PyObject *pairs = word_pairs(words);
    int status = pairs ? checked_pairs(pairs) : -1;
    if (status == 0) {
        status = table_fill(table, pairs, words_only);
    }
    Py_XDECREF(pairs);
    return status;
}

static int fill_heads(PyObject *strengths)
{
    long found[256] = {0};
    for (int index = 0; index < HEAD_COUNT; index++) {
        char key[2] = {HEADS[index], 0};
        PyObject *value = PyDict_GetItemString(strengths, key); /* borrowed */
        long strength = value ? PyLong_AsLong(value) : -1;
        if (strength <= 0) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_ValueError, "no positive strength for %s", key);
            }
            return -1;
        }
        found[(unsigned char)HEADS[index]] = strength;
    }
    if (PyDict_Size(strengths) != HEAD_COUNT) {
        PyErr_SetString(PyExc_ValueError, "the anchor heads are not those the C scans for");
        return -1;
    }
    memcpy(head_strength, found, sizeof(found));
    return 0;
}

static int fill_dense(PyObject *dense)
{
    PyObject *items = PySequence_Fast(dense, "dense: (chars, each) pairs");
    if (!items) {
        return -1;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    int status = count <= MAX_DENSE ? 0 : -1;
    if (status < 0) {
        PyErr_SetString(PyExc_ValueError, "too many dense thresholds");
    }
    for (Py_ssize_t index = 0; status == 0 && index < count; index++) {
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(items, index), "nd", &dense_chars[index],
                              &dense_each[index])) {
            status = -1;
        }
    }
    dense_count = status == 0 ? count : 0;
    Py_DECREF(items);
    return status;
}

static int fill_gap(PyObject *gap)
{
    Py_ssize_t length = 0;
    const Py_UCS1 *bytes = sqli_latin1(gap, &length);
    if (!bytes || length == 0 || length > (Py_ssize_t)sizeof(gap_text)) {
        PyErr_SetString(PyExc_ValueError, "gap: a short Latin-1 str");
        return -1;
    }
    memcpy(gap_text, bytes, (size_t)length);
    gap_length = length;
    return 0;
}

static int fill_scratch(void)
{
    Py_ssize_t capacity = (HEAD_COUNT + 1) * max_anchors;
    Anchor *scratch = PyMem_Realloc(anchor_scratch, (size_t)(capacity + 1) * sizeof(Anchor));
    if (!scratch) {
        PyErr_NoMemory();
        return -1;
    }
    anchor_scratch = scratch;
    return 0;
}

static PyObject *configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {
        "long_chars", "head_chars", "tail_chars", "before_chars", "after_chars",
        "budget_chars", "dense", "min_strength", "min_end_strength", "max_anchors",
        "max_gap_quotes", "callee_chars", "cut_chars", "strength_by_head", "clause_words",
        "stacked_words", "call_strength", "gap", NULL,
    };
    PyObject *dense, *strengths, *clause, *stacked, *calls, *gap;
    configured = 0;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "$nnnnnnOnnnnnnO!OOO!U:configure", names, &long_chars, &head_chars,
            &tail_chars, &before_chars, &after_chars, &budget_chars, &dense, &min_strength,
            &min_end_strength, &max_anchors, &max_gap_quotes, &callee_chars, &cut_chars,
            &PyDict_Type, &strengths, &clause, &stacked, &PyDict_Type, &calls, &gap)) {
        return NULL;
    }
    if (long_chars < 0 || head_chars < 0 || tail_chars <= 0 || tail_chars > long_chars ||
        before_chars < 0 || after_chars < 0 || max_anchors <= 0 || max_gap_quotes <= 0 ||
        callee_chars <= 0 || cut_chars < 0 || min_end_strength <= 0) {
        PyErr_SetString(PyExc_ValueError, "configure: a constant out of range");
        return NULL;
    }
    if (fill_dense(dense) < 0 || fill_heads(strengths) < 0 || fill_gap(gap) < 0 ||
        fill_words(&clause_words, clause, 1) < 0 || fill_words(&stacked_words, stacked, 1) < 0 ||
        fill_words(&call_words, calls, 0) < 0 || fill_scratch() < 0) {
        return NULL;
    }
    configured = 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Hand the constants, strengths and words of sample.py to the C scan."},
    {"sample", sample, METH_O, "sample(text): as sample.py's, or None where declined."},
    {"anchored", anchored, METH_O, "anchored(text): as sample.py's, or None where declined."},
    {"anchors", anchors, METH_VARARGS,
     "anchors(text, enough=None): as sample.py's _anchors, or None where declined."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_sample", "The sampling of long values of sample.py, in C.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__sample(void)
{
    init_classes();
    return PyModule_Create(&module_def);
}
