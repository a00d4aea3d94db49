/* The evidence stage of the SQL-injection check (`score.py`, `grammar.py`), in C.
 *
 * Exact ports of `score._token_findings` (its body: `grammar.contexts`, `grammar.fold`,
 * `grammar.mark`, `_context_evidence`, `_candidates`, `_weigh`, `_complete`, `_confidence`),
 * `score._text_evidence`, `score._combine`, `score._evasive` and `score._prose_prefix`.
 *
 * The signatures themselves stay Python regular expressions: porting some fifty backtracking
 * patterns exactly would be unreasonable, so C calls their compiled `match`/`search` methods.
 * What C saves is the Python around them: the folding and marking of kinds, the gates that
 * decide which patterns run, the weighing and the noisy-OR. Every table (signatures, gates,
 * bad pairs, weights, limits) comes from the Python modules through `configure`; the few
 * simple regular expressions ported by hand (`_FOLD`, `_MID_COMMENT`, `_ODD_SEPARATOR`) are
 * handed to `configure` too, which refuses to run if their source differs from the one ported.
 *
 * Declines (None, and the Python reference runs): strings wider than one byte per character,
 * kind strings that are not ASCII (the lexer only makes ASCII kinds), arguments of another type
 * than the Python callers pass, and `_combine` of values that are not plain floats or of names
 * that are not str (only the Python callers' own dicts are handled).
 */
#include "common.h"

#include <string.h>

/* The hand-ported patterns, as their Python source reads: `configure` compares. */
static const char PORTED_FOLD[] = "'[^']*'?|\\\"[^\\\"]*\\\"?|`[^`]*`?|\\{.*|c[^N]*N?|N";
static const char PORTED_MID_COMMENT[] = "c[^N]*N.";
static const char PORTED_ODD_SEPARATOR[] =
    "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\xa0](?<=\\w[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\xa0])"
    "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\xa0]*\\w";

#define ASCII 128
#define SCOPES 2 /* 0: the as-is context, 1: the quote contexts */
#define NOT_FOLDED (-2) /* a head character `_FOLDED` has no entry for */
#define FOLDS_TO_NOTHING (-1)

typedef struct {
    uint64_t low, high; /* a set of ASCII characters */
} KindSet;

static inline void kind_set_add(KindSet *set, unsigned char kind)
{
    if (kind < 64) {
        set->low |= (uint64_t)1 << kind;
    } else {
        set->high |= (uint64_t)1 << (kind - 64);
    }
}

static inline int kind_sets_meet(const KindSet *a, const KindSet *b)
{
    return (a->low & b->low) || (a->high & b->high);
}

typedef struct {
    Py_ssize_t name; /* index into `names` */
    double weight, incomplete, unclosed;
    int gated;
    KindSet gate;
    PyObject *find, *prefind; /* bound `match`/`search` of compiled patterns */
} TokenSignature;

typedef struct {
    PyObject *name, *weight, *search;
} TextSignature;

typedef struct {
    Py_ssize_t index;
    PyObject *words; /* tuple of str: all of them must be among the value's words */
} WordGate;

typedef struct {
    const char *bytes; /* the UTF-8 (here: ASCII or Latin-1 as one byte) of `text` */
    Py_ssize_t length;
    PyObject *text;       /* owns `bytes` */
    Py_ssize_t *indices;  /* the text signatures it lets through */
    Py_ssize_t count;
} Fragment;

/* Everything `configure` hands over. A fresh `configure` frees the old one first. */
static struct {
    int ready;
    /* names of token signatures (and of evasion), each once */
    PyObject **names;
    Py_ssize_t name_count;
    TokenSignature *token;
    Py_ssize_t token_count;
    /* per scope and first kind: the token signatures to try, in order */
    Py_ssize_t *candidates[SCOPES][ASCII];
    Py_ssize_t candidate_count[SCOPES][ASCII];
    unsigned char bad[ASCII][ASCII]; /* 1 for a pair of kinds that cannot be neighbours */
    int folded[ASCII];               /* `_FOLDED`: NOT_FOLDED, FOLDS_TO_NOTHING or a kind */
    Py_ssize_t prose_tokens;
    Py_ssize_t evasion_name;
    double evasion_weight, strong, cap, double_quote, reason_weight;
    Py_ssize_t prose_words;
    /* text signatures */
    TextSignature *text;
    Py_ssize_t text_count;
    WordGate *word_gates;
    Py_ssize_t word_gate_count;
    Fragment *fragments;
    Py_ssize_t fragment_count;
    /* the fragments by first character (`heads` of a character: from heads_start[c] to
     * heads_start[c + 1]); the pairs of characters that start one, and the characters
     * that start one of a single character: the text is scanned once for all of them */
    Py_ssize_t *heads, heads_start[257];
    unsigned char fragment_pairs[256 * 256 / 8], single_heads[256];
    PyObject *bare_match, *bare_name, *bare_weight;
    Py_ssize_t bare_chars;
} config;

/* Interned strings and constants made once. */
static PyObject *str_span, *str_round, *str_comma, *str_empty, *str_single, *str_double;
static PyObject *float_zero, *int_three;
/* Character classes of one-byte text, as Python sees them. */
static unsigned char is_word[256], is_printable[256], is_odd[256];

static void free_config(void)
{
    for (Py_ssize_t i = 0; i < config.name_count; i++) {
        Py_XDECREF(config.names[i]);
    }
    PyMem_Free(config.names);
    for (Py_ssize_t i = 0; i < config.token_count; i++) {
        Py_XDECREF(config.token[i].find);
        Py_XDECREF(config.token[i].prefind);
    }
    PyMem_Free(config.token);
    for (int scope = 0; scope < SCOPES; scope++) {
        for (int kind = 0; kind < ASCII; kind++) {
            PyMem_Free(config.candidates[scope][kind]);
        }
    }
    for (Py_ssize_t i = 0; i < config.text_count; i++) {
        Py_XDECREF(config.text[i].name);
        Py_XDECREF(config.text[i].weight);
        Py_XDECREF(config.text[i].search);
    }
    PyMem_Free(config.text);
    for (Py_ssize_t i = 0; i < config.word_gate_count; i++) {
        Py_XDECREF(config.word_gates[i].words);
    }
    PyMem_Free(config.word_gates);
    for (Py_ssize_t i = 0; i < config.fragment_count; i++) {
        Py_XDECREF(config.fragments[i].text);
        PyMem_Free(config.fragments[i].indices);
    }
    PyMem_Free(config.fragments);
    PyMem_Free(config.heads);
    Py_XDECREF(config.bare_match);
    Py_XDECREF(config.bare_name);
    Py_XDECREF(config.bare_weight);
    memset(&config, 0, sizeof config);
}

/* ------------------------------------------------------------------ configure helpers */

static int as_double(PyObject *value, double *out)
{
    *out = PyFloat_AsDouble(value);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* The one-byte characters of an ASCII str, or NULL with a ValueError. */
static const char *ascii_of(PyObject *text, Py_ssize_t *length, const char *what)
{
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) {
        PyErr_Format(PyExc_ValueError, "%s must be an ASCII str", what);
        return NULL;
    }
    *length = PyUnicode_GET_LENGTH(text);
    return (const char *)PyUnicode_1BYTE_DATA(text);
}

static int kind_set_of(PyObject *text, KindSet *set, const char *what)
{
    Py_ssize_t length;
    const char *chars = ascii_of(text, &length, what);
    if (chars == NULL) {
        return -1;
    }
    memset(set, 0, sizeof *set);
    for (Py_ssize_t i = 0; i < length; i++) {
        kind_set_add(set, (unsigned char)chars[i]);
    }
    return 0;
}

/* The index of `name` among the names seen so far (`ids`: name → index), added if new. */
static Py_ssize_t name_index(PyObject *ids, PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "signature names must be str");
        return -1;
    }
    PyObject *known = PyDict_GetItemWithError(ids, name);
    if (known != NULL) {
        return PyLong_AsSsize_t(known);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    Py_ssize_t index = PyDict_GET_SIZE(ids);
    PyObject *number = PyLong_FromSsize_t(index);
    if (number == NULL || PyDict_SetItem(ids, name, number) < 0) {
        Py_XDECREF(number);
        return -1;
    }
    Py_DECREF(number);
    return index;
}

/* One token signature (a `signatures.Signature`) into `sig`. */
static int read_token_signature(PyObject *ids, PyObject *item, TokenSignature *sig)
{
    PyObject *name = PyObject_GetAttrString(item, "name");
    PyObject *weight = PyObject_GetAttrString(item, "weight");
    PyObject *incomplete = PyObject_GetAttrString(item, "incomplete");
    PyObject *unclosed = PyObject_GetAttrString(item, "unclosed");
    PyObject *gate = PyObject_GetAttrString(item, "gate");
    int status = -1;
    if (name && weight && incomplete && unclosed && gate) {
        sig->name = name_index(ids, name);
        if (sig->name >= 0 && as_double(weight, &sig->weight) == 0 &&
            as_double(incomplete, &sig->incomplete) == 0 &&
            as_double(unclosed, &sig->unclosed) == 0 &&
            kind_set_of(gate, &sig->gate, "a signature's gate") == 0) {
            sig->gated = PyUnicode_GET_LENGTH(gate) > 0;
            sig->find = PyObject_GetAttrString(item, "find");
            sig->prefind = PyObject_GetAttrString(item, "prefind");
            status = (sig->find && sig->prefind) ? 0 : -1;
        }
    }
    Py_XDECREF(name);
    Py_XDECREF(weight);
    Py_XDECREF(incomplete);
    Py_XDECREF(unclosed);
    Py_XDECREF(gate);
    return status;
}

/* The index of token signature `item` (by identity, `seen`: id → index), read if new. */
static Py_ssize_t token_index(PyObject *seen, PyObject *ids, PyObject *item)
{
    PyObject *key = PyLong_FromVoidPtr(item);
    if (key == NULL) {
        return -1;
    }
    PyObject *known = PyDict_GetItemWithError(seen, key);
    if (known != NULL) {
        Py_DECREF(key);
        return PyLong_AsSsize_t(known);
    }
    Py_ssize_t index = config.token_count;
    PyObject *number = PyErr_Occurred() ? NULL : PyLong_FromSsize_t(index);
    if (number == NULL || PyDict_SetItem(seen, key, number) < 0) {
        Py_DECREF(key);
        Py_XDECREF(number);
        return -1;
    }
    Py_DECREF(key);
    Py_DECREF(number);
    TokenSignature *grown =
        PyMem_Realloc(config.token, (size_t)(index + 1) * sizeof(TokenSignature));
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    config.token = grown;
    memset(&config.token[index], 0, sizeof(TokenSignature));
    config.token_count++; /* counted before reading, so that free_config frees a half-read */
    return read_token_signature(ids, item, &config.token[index]) < 0 ? -1 : index;
}

/* `_SIGNATURES`: per scope ("as-is", "quote"), per kind of `KINDS`, a tuple of signatures. */
static int read_token_signatures(PyObject *signatures, PyObject *kinds, PyObject *ids)
{
    static const char *scopes[SCOPES] = {"as-is", "quote"};
    Py_ssize_t kind_count;
    const char *kind_chars = ascii_of(kinds, &kind_count, "KINDS");
    if (kind_chars == NULL || !PyDict_Check(signatures)) {
        if (kind_chars != NULL) {
            PyErr_SetString(PyExc_TypeError, "signatures must be a dict");
        }
        return -1;
    }
    PyObject *seen = PyDict_New();
    if (seen == NULL) {
        return -1;
    }
    int status = 0;
    for (int scope = 0; scope < SCOPES && status == 0; scope++) {
        PyObject *by_kind = PyDict_GetItemString(signatures, scopes[scope]);
        if (by_kind == NULL || !PyDict_Check(by_kind)) {
            PyErr_Format(PyExc_ValueError, "signatures[%s] must be a dict", scopes[scope]);
            status = -1;
            break;
        }
        for (Py_ssize_t k = 0; k < kind_count && status == 0; k++) {
            unsigned char kind = (unsigned char)kind_chars[k];
            PyObject *key = PyUnicode_FromStringAndSize(&kind_chars[k], 1);
            PyObject *tuple = key ? PyDict_GetItemWithError(by_kind, key) : NULL;
            Py_XDECREF(key);
            if (tuple == NULL || !PyTuple_Check(tuple)) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_ValueError, "every kind needs a tuple of signatures");
                }
                status = -1;
                break;
            }
            Py_ssize_t count = PyTuple_GET_SIZE(tuple);
            Py_ssize_t *list = PyMem_Calloc((size_t)count + 1, sizeof(Py_ssize_t));
            if (list == NULL) {
                PyErr_NoMemory();
                status = -1;
                break;
            }
            PyMem_Free(config.candidates[scope][kind]); /* a kind twice in KINDS */
            config.candidates[scope][kind] = list;
            config.candidate_count[scope][kind] = count;
            for (Py_ssize_t i = 0; i < count; i++) {
                list[i] = token_index(seen, ids, PyTuple_GET_ITEM(tuple, i));
                if (list[i] < 0) {
                    status = -1;
                    break;
                }
            }
        }
    }
    Py_DECREF(seen);
    return status;
}

static int read_bad_pairs(PyObject *pairs)
{
    PyObject *iterator = PyObject_GetIter(pairs);
    if (iterator == NULL) {
        return -1;
    }
    PyObject *pair;
    while ((pair = PyIter_Next(iterator)) != NULL) {
        Py_ssize_t length;
        const char *chars = ascii_of(pair, &length, "a bad pair");
        if (chars == NULL || length != 2) {
            if (chars != NULL) {
                PyErr_SetString(PyExc_ValueError, "a bad pair is two kinds");
            }
            Py_DECREF(pair);
            Py_DECREF(iterator);
            return -1;
        }
        config.bad[(unsigned char)chars[0]][(unsigned char)chars[1]] = 1;
        Py_DECREF(pair);
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

/* `_FOLDED`: head character → the kind it folds into (one character or none). */
static int read_folded(PyObject *folded)
{
    for (int kind = 0; kind < ASCII; kind++) {
        config.folded[kind] = NOT_FOLDED;
    }
    if (!PyDict_Check(folded)) {
        PyErr_SetString(PyExc_TypeError, "folded must be a dict");
        return -1;
    }
    Py_ssize_t position = 0;
    PyObject *key, *value;
    while (PyDict_Next(folded, &position, &key, &value)) {
        Py_ssize_t key_length, value_length;
        const char *head = ascii_of(key, &key_length, "a folded head");
        const char *into = head ? ascii_of(value, &value_length, "a folded kind") : NULL;
        if (into == NULL || key_length != 1 || value_length > 1) {
            if (into != NULL) {
                PyErr_SetString(PyExc_ValueError, "folding maps one kind to at most one");
            }
            return -1;
        }
        config.folded[(unsigned char)head[0]] =
            value_length ? (unsigned char)into[0] : FOLDS_TO_NOTHING;
    }
    return 0;
}

static int read_text_signatures(PyObject *signatures)
{
    if (!PyTuple_Check(signatures)) {
        PyErr_SetString(PyExc_TypeError, "text_signatures must be a tuple");
        return -1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(signatures);
    config.text = PyMem_Calloc((size_t)count + 1, sizeof(TextSignature));
    if (config.text == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    config.text_count = count;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyTuple_GET_ITEM(signatures, i);
        TextSignature *sig = &config.text[i];
        sig->name = PyObject_GetAttrString(item, "name");
        sig->weight = PyObject_GetAttrString(item, "weight");
        sig->search = PyObject_GetAttrString(item, "search");
        if (sig->name == NULL || sig->weight == NULL || sig->search == NULL) {
            return -1;
        }
    }
    return 0;
}

static int check_index(Py_ssize_t index)
{
    if (index < 0 || index >= config.text_count) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "a gate names no text signature");
        }
        return -1;
    }
    return 0;
}

/* `_WORD_GATES`: (index, frozenset of words) pairs. */
static int read_word_gates(PyObject *gates)
{
    if (!PyTuple_Check(gates)) {
        PyErr_SetString(PyExc_TypeError, "word_gates must be a tuple");
        return -1;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(gates);
    config.word_gates = PyMem_Calloc((size_t)count + 1, sizeof(WordGate));
    if (config.word_gates == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    config.word_gate_count = count;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *gate = PyTuple_GET_ITEM(gates, i);
        if (!PyTuple_Check(gate) || PyTuple_GET_SIZE(gate) != 2) {
            PyErr_SetString(PyExc_ValueError, "a word gate is (index, words)");
            return -1;
        }
        config.word_gates[i].index = PyLong_AsSsize_t(PyTuple_GET_ITEM(gate, 0));
        if (check_index(config.word_gates[i].index) < 0) {
            return -1;
        }
        config.word_gates[i].words = PySequence_Tuple(PyTuple_GET_ITEM(gate, 1));
        if (config.word_gates[i].words == NULL) {
            return -1;
        }
    }
    return 0;
}

/* The fragments by first character, and the pairs of characters that start one. */
static int index_fragments(void)
{
    config.heads = PyMem_Calloc((size_t)config.fragment_count + 1, sizeof(Py_ssize_t));
    if (config.heads == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t written = 0;
    for (int head = 0; head < 256; head++) {
        config.heads_start[head] = written;
        for (Py_ssize_t i = 0; i < config.fragment_count; i++) {
            const Fragment *fragment = &config.fragments[i];
            const unsigned char *bytes = (const unsigned char *)fragment->bytes;
            if (fragment->length == 0 || bytes[0] != head) {
                continue; /* an empty fragment is in every text: no scan needed */
            }
            config.heads[written++] = i;
            if (fragment->length == 1) {
                config.single_heads[head] = 1;
            } else {
                unsigned pair = (unsigned)head << 8 | bytes[1];
                config.fragment_pairs[pair >> 3] |= (unsigned char)(1u << (pair & 7));
            }
        }
    }
    config.heads_start[256] = written;
    return 0;
}

/* `_GATED_BY_FRAGMENT`: fragment → list of text signature indices, in dict order. */
static int read_fragments(PyObject *fragments)
{
    if (!PyDict_Check(fragments)) {
        PyErr_SetString(PyExc_TypeError, "fragments must be a dict");
        return -1;
    }
    Py_ssize_t count = PyDict_GET_SIZE(fragments);
    config.fragments = PyMem_Calloc((size_t)count + 1, sizeof(Fragment));
    if (config.fragments == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t position = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(fragments, &position, &key, &value) && i < count) {
        Fragment *fragment = &config.fragments[i++];
        config.fragment_count = i;
        if (!PyUnicode_Check(key) || PyUnicode_KIND(key) != PyUnicode_1BYTE_KIND) {
            PyErr_SetString(PyExc_ValueError, "a fragment must be a one-byte str");
            return -1;
        }
        Py_INCREF(key);
        fragment->text = key;
        fragment->bytes = (const char *)PyUnicode_1BYTE_DATA(key);
        fragment->length = PyUnicode_GET_LENGTH(key);
        PyObject *indices = PySequence_Tuple(value);
        if (indices == NULL) {
            return -1;
        }
        fragment->count = PyTuple_GET_SIZE(indices);
        fragment->indices = PyMem_Calloc((size_t)fragment->count + 1, sizeof(Py_ssize_t));
        if (fragment->indices == NULL) {
            Py_DECREF(indices);
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t j = 0; j < fragment->count; j++) {
            fragment->indices[j] = PyLong_AsSsize_t(PyTuple_GET_ITEM(indices, j));
            if (check_index(fragment->indices[j]) < 0) {
                Py_DECREF(indices);
                return -1;
            }
        }
        Py_DECREF(indices);
    }
    return index_fragments();
}

/* Whether the Python pattern `compiled` (a re.Pattern) is the one ported here as `source`. */
static int check_ported(PyObject *compiled, const char *source, const char *what)
{
    PyObject *pattern = PyObject_GetAttrString(compiled, "pattern");
    if (pattern == NULL) {
        return -1;
    }
    const char *text = PyUnicode_Check(pattern) ? PyUnicode_AsUTF8(pattern) : NULL;
    int same = text != NULL && strcmp(text, source) == 0;
    Py_DECREF(pattern);
    if (!same) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_ValueError, "%s changed: port it to signatures.c again", what);
        }
        return -1;
    }
    return 0;
}

static int read_constants(PyObject *evasion, PyObject *strong, PyObject *cap,
                          PyObject *double_quote, PyObject *reason_weight)
{
    if (!PyTuple_Check(evasion) || PyTuple_GET_SIZE(evasion) != 2) {
        PyErr_SetString(PyExc_ValueError, "evasion is (name, weight)");
        return -1;
    }
    if (as_double(PyTuple_GET_ITEM(evasion, 1), &config.evasion_weight) < 0 ||
        as_double(strong, &config.strong) < 0 || as_double(cap, &config.cap) < 0 ||
        as_double(double_quote, &config.double_quote) < 0 ||
        as_double(reason_weight, &config.reason_weight) < 0) {
        return -1;
    }
    return 0;
}

/* configure(signatures=…, kinds=…, …): every keyword is required (see evidence_native.py).
 * Called at import, before any other function of the module runs; calling it again replaces
 * the configuration (so not while another thread is inside this module). */
static PyObject *configure(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *keywords[] = {
        "signatures", "kinds", "bad_pairs", "fold", "folded", "prose_tokens", "evasion",
        "strong", "cap", "double_quote", "reason_weight", "prose_words", "mid_comment",
        "odd_separator", "text_signatures", "word_gates", "fragments", "bare_operator",
        "bare_operator_chars", "bare_operator_name", "bare_operator_weight", NULL};
    PyObject *signatures, *kinds, *bad_pairs, *fold, *folded, *evasion, *strong, *cap;
    PyObject *double_quote, *reason_weight, *mid_comment, *odd_separator, *text_signatures;
    PyObject *word_gates, *fragments, *bare_match, *bare_name, *bare_weight;
    Py_ssize_t prose_tokens, prose_words, bare_chars;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "OOOOOnOOOOOnOOOOOOnUO:configure", keywords, &signatures, &kinds,
            &bad_pairs, &fold, &folded, &prose_tokens, &evasion, &strong, &cap, &double_quote,
            &reason_weight, &prose_words, &mid_comment, &odd_separator, &text_signatures,
            &word_gates, &fragments, &bare_match, &bare_chars, &bare_name, &bare_weight)) {
        return NULL;
    }
    free_config();
    PyObject *ids = PyDict_New(); /* name → index */
    if (ids == NULL) {
        return NULL;
    }
    int status = -1;
    if (check_ported(fold, PORTED_FOLD, "grammar._FOLD") == 0 &&
        check_ported(mid_comment, PORTED_MID_COMMENT, "score._MID_COMMENT") == 0 &&
        check_ported(odd_separator, PORTED_ODD_SEPARATOR, "score._ODD_SEPARATOR") == 0 &&
        read_constants(evasion, strong, cap, double_quote, reason_weight) == 0 &&
        (config.evasion_name = name_index(ids, PyTuple_GET_ITEM(evasion, 0))) >= 0 &&
        read_token_signatures(signatures, kinds, ids) == 0 && read_bad_pairs(bad_pairs) == 0 &&
        read_folded(folded) == 0 && read_text_signatures(text_signatures) == 0 &&
        read_word_gates(word_gates) == 0 && read_fragments(fragments) == 0) {
        status = 0;
    }
    if (status == 0) {
        /* the names in index order */
        config.name_count = PyDict_GET_SIZE(ids);
        config.names = PyMem_Calloc((size_t)config.name_count + 1, sizeof(PyObject *));
        if (config.names == NULL) {
            PyErr_NoMemory();
            status = -1;
        } else {
            Py_ssize_t position = 0;
            PyObject *key, *value;
            while (PyDict_Next(ids, &position, &key, &value)) {
                Py_INCREF(key);
                config.names[PyLong_AsSsize_t(value)] = key;
            }
        }
    }
    Py_DECREF(ids);
    if (status < 0) {
        free_config();
        return NULL;
    }
    config.prose_tokens = prose_tokens;
    config.prose_words = prose_words;
    config.bare_chars = bare_chars;
    Py_INCREF(bare_match);
    config.bare_match = bare_match;
    Py_INCREF(bare_name);
    config.bare_name = bare_name;
    Py_INCREF(bare_weight);
    config.bare_weight = bare_weight;
    config.ready = 1;
    Py_RETURN_NONE;
}

static int ready(void)
{
    if (!config.ready) {
        PyErr_SetString(PyExc_RuntimeError, "_signatures.configure() was not called");
    }
    return config.ready;
}

/* ------------------------------------------------------------------ grammar */

/* `grammar._fold_one`: the kind (or -1: none) that a string, back-quoted name or comment
 * `text` (the match of `_FOLD`) folds into. */
static int fold_one(const char *text, Py_ssize_t length)
{
    unsigned char head = (unsigned char)text[0];
    if (head == '\'' || head == '"') {
        /* The application closes an open string itself; a long open one is mostly prose. */
        int is_open = length == 1 || (unsigned char)text[length - 1] != head;
        return is_open && length > config.prose_tokens + 1 ? 'z' : 's';
    }
    if (head < ASCII && config.folded[head] != NOT_FOLDED) {
        return config.folded[head];
    }
    if (text[length - 1] == 'N') {
        return FOLDS_TO_NOTHING; /* a line comment that a newline ends is just space */
    }
    return length <= config.prose_tokens ? 'C' : 'D';
}

/* The length of the match of `_FOLD` at `kinds[at]`, 0 where none starts there. */
static Py_ssize_t fold_match(const char *kinds, Py_ssize_t length, Py_ssize_t at)
{
    char head = kinds[at];
    Py_ssize_t end = at + 1;
    switch (head) {
    case '\'':
    case '"':
    case '`': /* '[^']*'? and the like: to the partner, or to the end */
        while (end < length && kinds[end] != head) {
            end++;
        }
        return (end < length ? end + 1 : end) - at;
    case '{': /* \{.* : `.` stops at a newline */
        while (end < length && kinds[end] != '\n') {
            end++;
        }
        return end - at;
    case 'c': /* c[^N]*N? */
        while (end < length && kinds[end] != 'N') {
            end++;
        }
        return (end < length ? end + 1 : end) - at;
    case 'N':
        return 1;
    default:
        return 0;
    }
}

/* `grammar.fold`: `out` gets at most `length` kinds; returns how many. */
static Py_ssize_t fold(const char *kinds, Py_ssize_t length, char *out)
{
    Py_ssize_t written = 0;
    for (Py_ssize_t at = 0; at < length;) {
        Py_ssize_t matched = fold_match(kinds, length, at);
        if (matched == 0) {
            out[written++] = kinds[at++];
            continue;
        }
        int kind = fold_one(kinds + at, matched);
        if (kind != FOLDS_TO_NOTHING) {
            out[written++] = (char)kind;
        }
        at += matched;
    }
    return written;
}

/* `grammar.mark`: a `|` between every two kinds that cannot be neighbours in SQL. */
static Py_ssize_t mark(const char *folded, Py_ssize_t length, char *out)
{
    Py_ssize_t written = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        out[written++] = folded[i];
        if (i + 1 < length && config.bad[(unsigned char)folded[i]][(unsigned char)folded[i + 1]]) {
            out[written++] = '|';
        }
    }
    return written;
}

/* `grammar._closes` */
static int closes(const char *folded, Py_ssize_t length, int balanced)
{
    if (balanced) {
        return 1;
    }
    char last = length ? folded[length - 1] : 0;
    return last == 'C' || last == 'D' || last == ';';
}

/* ------------------------------------------------------------------ token evidence */

enum { CONTEXT_AS_IS, CONTEXT_SINGLE, CONTEXT_DOUBLE };

typedef struct {
    int name;
    const char *folded;
    Py_ssize_t length;
    int closes;
} Context;

/* The evidence found so far: names in the order found, with their weights (a small dict). */
typedef struct {
    Py_ssize_t *order;  /* name indices */
    double *weight;     /* per position in `order` */
    Py_ssize_t *slot;   /* per name index: its position in `order`, or -1 */
    Py_ssize_t count;
} Found;

static void found_set(Found *found, Py_ssize_t name, double weight)
{
    if (found->slot[name] < 0) {
        found->slot[name] = found->count;
        found->order[found->count++] = name;
    }
    found->weight[found->slot[name]] = weight;
}

/* `_confidence`: the noisy-OR of the evidence, in the order found, capped. */
static double confidence_of(const double *weights, Py_ssize_t count)
{
    double miss = 1.0;
    for (Py_ssize_t i = 0; i < count; i++) {
        miss *= 1.0 - weights[i];
    }
    double confidence = 1.0 - miss;
    return config.cap < confidence ? config.cap : confidence; /* min(), as Python's */
}

/* `_complete`: whether the island holding marked[start:end] runs on to the end, a comment or
 * a `;`. */
static int complete(const char *marked, Py_ssize_t length, Py_ssize_t start, Py_ssize_t end)
{
    const char *bar = memchr(marked + end, '|', (size_t)(length - end));
    if (bar == NULL || memchr(marked + start, 'C', (size_t)(end - start)) ||
        memchr(marked + start, 'D', (size_t)(end - start))) {
        return 1;
    }
    for (const char *tail = marked + end; tail < bar; tail++) {
        if (*tail == 'C' || *tail == 'D' || *tail == ';') {
            return 1;
        }
    }
    return 0;
}

/* The span of a match of `marked`, checked; -1 on error. */
static int span_of(PyObject *match, Py_ssize_t length, Py_ssize_t *start, Py_ssize_t *end)
{
    PyObject *span = PyObject_CallMethodNoArgs(match, str_span);
    if (span == NULL) {
        return -1;
    }
    int ok = PyTuple_Check(span) && PyTuple_GET_SIZE(span) == 2;
    if (ok) {
        *start = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 0));
        *end = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
        ok = !PyErr_Occurred() && 0 <= *start && *start <= *end && *end <= length;
    }
    Py_DECREF(span);
    if (!ok) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "a signature matched outside the marked kinds");
        }
        return -1;
    }
    return 0;
}

/* `_weigh`: the weight of one match, less where the SQL around it breaks. */
static double weigh(const Context *context, const TokenSignature *sig, const char *marked,
                    Py_ssize_t length, Py_ssize_t start, Py_ssize_t end)
{
    double weight = sig->weight;
    if (context->name == CONTEXT_DOUBLE && weight < config.strong) {
        weight *= config.double_quote; /* a " is more often an inch mark than SQL */
    }
    if (!complete(marked, length, start, end)) {
        weight *= sig->incomplete;
    }
    if (!context->closes) {
        weight *= sig->unclosed;
    }
    return weight;
}

static PyObject *ascii_str(const char *chars, Py_ssize_t length)
{
    PyObject *text = PyUnicode_New(length, 127);
    if (text != NULL) {
        memcpy(PyUnicode_1BYTE_DATA(text), chars, (size_t)length);
    }
    return text;
}

/* A truthy result of calling `pattern` on `text` (a match): 1, none: 0, error: -1. */
static int matches(PyObject *pattern, PyObject *text, PyObject **match)
{
    PyObject *result = PyObject_CallOneArg(pattern, text);
    if (result == NULL) {
        return -1;
    }
    int truth = result == Py_None ? 0 : PyObject_IsTrue(result);
    if (truth > 0 && match != NULL) {
        *match = result;
    } else {
        Py_DECREF(result);
    }
    return truth;
}

/* Per context, the Python strings handed to the patterns, made when first needed. */
typedef struct {
    PyObject *folded, *marked;
    char *marked_chars;
    Py_ssize_t marked_length;
} Strings;

/* Try one candidate signature: 1 when the confidence reached the cap, 0, -1 on error. */
static int try_signature(const Context *context, const TokenSignature *sig, Strings *strings,
                         Found *found)
{
    if (strings->folded == NULL &&
        (strings->folded = ascii_str(context->folded, context->length)) == NULL) {
        return -1;
    }
    /* The pattern on the unmarked kinds first: most cannot match, and then no marking. */
    int hit = matches(sig->prefind, strings->folded, NULL);
    if (hit <= 0) {
        return hit;
    }
    if (strings->marked == NULL) {
        strings->marked_length = mark(context->folded, context->length, strings->marked_chars);
        strings->marked = ascii_str(strings->marked_chars, strings->marked_length);
        if (strings->marked == NULL) {
            return -1;
        }
    }
    PyObject *match = NULL;
    hit = matches(sig->find, strings->marked, &match);
    if (hit <= 0) {
        return hit;
    }
    Py_ssize_t start, end;
    int status = span_of(match, strings->marked_length, &start, &end);
    Py_DECREF(match);
    if (status < 0) {
        return -1;
    }
    double weight = weigh(context, sig, strings->marked_chars, strings->marked_length, start, end);
    Py_ssize_t slot = found->slot[sig->name];
    if (weight > (slot < 0 ? 0.0 : found->weight[slot])) {
        found_set(found, sig->name, weight);
        if (confidence_of(found->weight, found->count) >= config.cap) {
            return 1;
        }
    }
    return 0;
}

/* `_context_evidence`: 1 once the confidence cannot grow any more, 0, -1 on error. */
static int context_evidence(const Context *context, char *marked_chars, Found *found)
{
    if (context->length == 0) {
        return 0;
    }
    int scope = context->name == CONTEXT_AS_IS ? 0 : 1;
    unsigned char first = (unsigned char)context->folded[0];
    KindSet present = {0, 0};
    for (Py_ssize_t i = 0; i < context->length; i++) {
        kind_set_add(&present, (unsigned char)context->folded[i]);
    }
    Strings strings = {NULL, NULL, marked_chars, 0};
    int status = 0;
    const Py_ssize_t *candidates = config.candidates[scope][first];
    for (Py_ssize_t i = 0; i < config.candidate_count[scope][first] && status == 0; i++) {
        const TokenSignature *sig = &config.token[candidates[i]];
        /* `_candidates`: the gate of a signature needs one of the kinds present */
        if (sig->gated && !kind_sets_meet(&sig->gate, &present)) {
            continue;
        }
        status = try_signature(context, sig, &strings, found);
    }
    Py_XDECREF(strings.folded);
    Py_XDECREF(strings.marked);
    return status;
}

static Py_ssize_t count_char(const char *text, Py_ssize_t length, char wanted)
{
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < length; i++) {
        count += text[i] == wanted;
    }
    return count;
}

/* `grammar.contexts`: the as-is context and one per quote character the kinds hold. `buffer`
 * holds 3 * (length + 1) kinds. Returns how many contexts. */
static int make_contexts(const char *kinds, Py_ssize_t length, const int prose[2], char *buffer,
                         Context contexts[3])
{
    Py_ssize_t singles = count_char(kinds, length, '\''), doubles = count_char(kinds, length, '"');
    Py_ssize_t folded = fold(kinds, length, buffer);
    contexts[0] = (Context){CONTEXT_AS_IS, buffer, folded,
                            closes(buffer, folded, singles % 2 == 0 && doubles % 2 == 0)};
    int count = 1;
    static const char quotes[2] = {'\'', '"'};
    for (int q = 0; q < 2; q++) {
        Py_ssize_t quote_count = q == 0 ? singles : doubles, other = q == 0 ? doubles : singles;
        if (!quote_count) {
            continue;
        }
        /* Everything up to the first quote completes the application's own string. */
        char *out = buffer + (Py_ssize_t)count * (length + 1);
        const char *after = (const char *)memchr(kinds, quotes[q], (size_t)length) + 1;
        out[0] = prose[q] ? 'z' : 's';
        folded = 1 + fold(after, kinds + length - after, out + 1);
        contexts[count++] = (Context){q == 0 ? CONTEXT_SINGLE : CONTEXT_DOUBLE, out, folded,
                                      closes(out, folded, quote_count % 2 == 0 && other % 2 == 0)};
    }
    return count;
}

static PyObject *found_items(const Found *found)
{
    PyObject *items = PyTuple_New(found->count);
    for (Py_ssize_t i = 0; items != NULL && i < found->count; i++) {
        PyObject *weight = PyFloat_FromDouble(found->weight[i]);
        PyObject *pair = weight ? PyTuple_Pack(2, config.names[found->order[i]], weight) : NULL;
        Py_XDECREF(weight);
        if (pair == NULL) {
            Py_CLEAR(items);
            break;
        }
        PyTuple_SET_ITEM(items, i, pair);
    }
    return items;
}

/* The evidence of every context, with the buffers allocated. */
static PyObject *token_findings_in(const char *kinds, Py_ssize_t length, const int prose[2],
                                   int evasive, char *buffer, Found *found)
{
    /* buffer: three folded contexts, then the marked kinds of one */
    char *marked_chars = buffer + 3 * (length + 1);
    if (evasive) {
        found_set(found, config.evasion_name, config.evasion_weight);
    }
    Context contexts[3];
    int count = make_contexts(kinds, length, prose, buffer, contexts);
    for (int i = 0; i < count; i++) {
        int status = context_evidence(&contexts[i], marked_chars, found);
        if (status < 0) {
            return NULL;
        }
        if (status > 0) {
            break;
        }
    }
    return found_items(found);
}

/* token_findings(kinds, prose_single, prose_double, evasive): `_token_findings` (uncached). */
static PyObject *token_findings(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!ready()) {
        return NULL;
    }
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "token_findings takes 4 arguments");
        return NULL;
    }
    if (!PyUnicode_Check(args[0]) || !PyUnicode_IS_ASCII(args[0])) {
        Py_RETURN_NONE; /* the lexer only makes ASCII kinds */
    }
    int prose[2], evasive;
    if ((prose[0] = PyObject_IsTrue(args[1])) < 0 || (prose[1] = PyObject_IsTrue(args[2])) < 0 ||
        (evasive = PyObject_IsTrue(args[3])) < 0) {
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(args[0]);
    const char *kinds = (const char *)PyUnicode_1BYTE_DATA(args[0]);
    /* three folded contexts (each at most length + 1 kinds), the marked kinds (2 * length) */
    char *buffer = PyMem_Malloc((size_t)(5 * (length + 1)));
    Py_ssize_t names = config.name_count + 1;
    Py_ssize_t *indices = PyMem_Malloc((size_t)(2 * names) * sizeof(Py_ssize_t));
    double *weights = PyMem_Malloc((size_t)names * sizeof(double));
    PyObject *result = NULL;
    if (buffer == NULL || indices == NULL || weights == NULL) {
        PyErr_NoMemory();
    } else {
        Found found = {indices, weights, indices + names, 0};
        for (Py_ssize_t i = 0; i < names; i++) {
            found.slot[i] = -1;
        }
        result = token_findings_in(kinds, length, prose, evasive, buffer, &found);
    }
    PyMem_Free(buffer);
    PyMem_Free(indices);
    PyMem_Free(weights);
    return result;
}

/* ------------------------------------------------------------------ text evidence */

/* `found[name] = max(found.get(name, 0.0), weight)`, as Python compares. */
static int keep_strongest(PyObject *found, PyObject *name, PyObject *weight)
{
    PyObject *current = PyDict_GetItemWithError(found, name);
    if (current == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        current = float_zero;
    }
    Py_INCREF(current); /* setting the item may drop the dict's reference */
    int greater = PyObject_RichCompareBool(weight, current, Py_GT);
    int status = greater < 0 ? -1 : PyDict_SetItem(found, name, greater ? weight : current);
    Py_DECREF(current);
    return status;
}

/* Whether all `words` (a tuple) are in the set `present`: 1, 0, -1 on error. */
static int all_in(PyObject *words, PyObject *present)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(words); i++) {
        int in = PySet_Contains(present, PyTuple_GET_ITEM(words, i));
        if (in <= 0) {
            return in;
        }
    }
    return 1;
}

/* Which fragments occur in `text` (`fragment in text` for each), in one scan: only where
 * the two characters at a position start some fragment are the fragments compared. */
static void find_fragments(const unsigned char *text, Py_ssize_t length, char *present)
{
    for (Py_ssize_t i = 0; i < config.fragment_count; i++) {
        present[i] = config.fragments[i].length == 0;
    }
    for (Py_ssize_t at = 0; at < length; at++) {
        unsigned head = text[at];
        unsigned pair = at + 1 < length ? head << 8 | text[at + 1] : 0;
        int maybe = config.single_heads[head] ||
                    (at + 1 < length && (config.fragment_pairs[pair >> 3] >> (pair & 7) & 1));
        if (!maybe) {
            continue;
        }
        for (Py_ssize_t h = config.heads_start[head]; h < config.heads_start[head + 1]; h++) {
            const Fragment *fragment = &config.fragments[config.heads[h]];
            if (!present[config.heads[h]] && fragment->length <= length - at &&
                memcmp(text + at, fragment->bytes, (size_t)fragment->length) == 0) {
                present[config.heads[h]] = 1;
            }
        }
    }
}

/* Mark the text signatures whose gates `text` and `words` pass. */
static int mark_gated(const char *text, Py_ssize_t length, PyObject *words, char *gated)
{
    for (Py_ssize_t i = 0; i < config.word_gate_count; i++) {
        int all = all_in(config.word_gates[i].words, words);
        if (all < 0) {
            return -1;
        }
        if (all) {
            gated[config.word_gates[i].index] = 1;
        }
    }
    char *present = PyMem_Calloc((size_t)config.fragment_count + 1, 1);
    if (present == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    find_fragments((const unsigned char *)text, length, present);
    for (Py_ssize_t i = 0; i < config.fragment_count; i++) {
        const Fragment *fragment = &config.fragments[i];
        for (Py_ssize_t j = 0; present[i] && j < fragment->count; j++) {
            gated[fragment->indices[j]] = 1;
        }
    }
    PyMem_Free(present);
    return 0;
}

/* The gated text signatures, in order, on `text`; -1 on error. */
static int search_gated(PyObject *text, PyObject *found, const char *gated)
{
    for (Py_ssize_t i = 0; i < config.text_count; i++) {
        if (!gated[i]) {
            continue;
        }
        const TextSignature *sig = &config.text[i];
        int hit = matches(sig->search, text, NULL);
        if (hit < 0 || (hit && keep_strongest(found, sig->name, sig->weight) < 0)) {
            return -1;
        }
    }
    return 0;
}

/* text_evidence(text, words, found): `_text_evidence`; True when done, None when declined. */
static PyObject *text_evidence(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!ready()) {
        return NULL;
    }
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "text_evidence takes 3 arguments");
        return NULL;
    }
    PyObject *text = args[0], *words = args[1], *found = args[2];
    Py_ssize_t length;
    const char *chars = (const char *)sqli_latin1(text, &length);
    if (chars == NULL || !PyAnySet_Check(words) || !PyDict_CheckExact(found)) {
        Py_RETURN_NONE;
    }
    if (length <= config.bare_chars) {
        int bare = matches(config.bare_match, text, NULL);
        if (bare < 0 || (bare && PyDict_SetItem(found, config.bare_name, config.bare_weight) < 0)) {
            return NULL;
        }
    }
    char *gated = PyMem_Calloc((size_t)config.text_count + 1, 1);
    if (gated == NULL) {
        return PyErr_NoMemory();
    }
    int status = mark_gated(chars, length, words, gated);
    if (status == 0) {
        status = search_gated(text, found, gated);
    }
    PyMem_Free(gated);
    if (status < 0) {
        return NULL;
    }
    Py_RETURN_TRUE;
}

/* ------------------------------------------------------------------ combine */

/* The reason: the names of the (at most three) strongest signals, ", "-joined. */
static PyObject *reason_of(PyObject *const *names, const double *weights, Py_ssize_t count)
{
    /* sorted(reverse=True) by weight is stable: an insertion sort of positions keeps it. */
    Py_ssize_t ranked[3];
    Py_ssize_t kept = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t at = kept < 3 ? kept : 3;
        while (at > 0 && weights[ranked[at - 1]] < weights[i]) {
            if (at < 3) {
                ranked[at] = ranked[at - 1];
            }
            at--;
        }
        if (at < 3) {
            ranked[at] = i;
            kept += kept < 3;
        }
    }
    PyObject *strong = PyList_New(0);
    for (Py_ssize_t i = 0; strong != NULL && i < kept; i++) {
        if (weights[ranked[i]] >= config.reason_weight &&
            PyList_Append(strong, names[ranked[i]]) < 0) {
            Py_CLEAR(strong);
        }
    }
    if (strong == NULL) {
        return NULL;
    }
    PyObject *reason = PyUnicode_Join(str_comma, strong);
    Py_DECREF(strong);
    return reason;
}

/* combine(found): `_combine`; None (declined) unless the names are str and the weights
 * floats that are not NaN, as the Python callers' own dicts are. */
static PyObject *combine(PyObject *module, PyObject *found)
{
    if (!ready()) {
        return NULL;
    }
    if (!PyDict_CheckExact(found)) {
        Py_RETURN_NONE; /* a subclass may read or write its items otherwise */
    }
    Py_ssize_t count = PyDict_GET_SIZE(found);
    if (count == 0) {
        return Py_BuildValue("(dO)", 0.0, str_empty);
    }
    PyObject **names = PyMem_Malloc((size_t)count * sizeof(PyObject *));
    double *weights = PyMem_Malloc((size_t)count * sizeof(double));
    PyObject *result = NULL;
    if (names == NULL || weights == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t position = 0, i = 0;
    PyObject *key, *value;
    while (PyDict_Next(found, &position, &key, &value)) {
        if (!PyUnicode_Check(key) || !PyFloat_CheckExact(value) ||
            Py_IS_NAN(PyFloat_AS_DOUBLE(value))) {
            result = Py_None;
            Py_INCREF(result);
            goto done;
        }
        names[i] = key; /* borrowed: nothing below runs Python code that may change `found` */
        weights[i++] = PyFloat_AS_DOUBLE(value);
    }
    PyObject *reason = reason_of(names, weights, count);
    PyObject *confidence = reason ? PyFloat_FromDouble(confidence_of(weights, count)) : NULL;
    /* round(…, 3) exactly as Python rounds: by the float's own method */
    PyObject *args[2] = {confidence, int_three};
    PyObject *rounded = confidence ? PyObject_VectorcallMethod(str_round, args, 2, NULL) : NULL;
    if (rounded != NULL) {
        result = PyTuple_Pack(2, rounded, reason);
    }
    Py_XDECREF(reason);
    Py_XDECREF(confidence);
    Py_XDECREF(rounded);
done:
    PyMem_Free(names);
    PyMem_Free(weights);
    return result;
}

/* ------------------------------------------------------------------ evasion and prose */

/* `_MID_COMMENT` (c[^N]*N.) searched in `kinds`: a line comment that a newline ends, with
 * something (other than a newline: `.`) after it. The first N after a `c` is the only one
 * its [^N]* can reach. */
static int mid_comment(const char *kinds, Py_ssize_t length)
{
    Py_ssize_t newline = -1; /* the first N at or after the current position */
    for (Py_ssize_t i = 0; i < length; i++) {
        if (kinds[i] != 'c') {
            continue;
        }
        if (newline <= i) {
            const char *found = memchr(kinds + i + 1, 'N', (size_t)(length - i - 1));
            if (found == NULL) {
                return 0; /* no later `c` has one either */
            }
            newline = found - kinds;
        }
        if (newline + 1 < length && kinds[newline + 1] != '\n') {
            return 1;
        }
    }
    return 0;
}

/* `_ODD_SEPARATOR` searched in `text`: a word character, a run of odd (control or no-break
 * space) characters, a word character. (No odd character is a word character.) */
static int odd_separator(const Py_UCS1 *text, Py_ssize_t length)
{
    for (Py_ssize_t i = 1; i < length; i++) {
        if (!is_odd[text[i]] || !is_word[text[i - 1]]) {
            continue;
        }
        Py_ssize_t end = i;
        while (end < length && is_odd[text[end]]) {
            end++;
        }
        if (end < length && is_word[text[end]]) {
            return 1;
        }
        i = end; /* a run that no word ends: none of its characters starts a match */
    }
    return 0;
}

static int printable(const Py_UCS1 *text, Py_ssize_t length)
{
    for (Py_ssize_t i = 0; i < length; i++) {
        if (!is_printable[text[i]]) {
            return 0;
        }
    }
    return 1;
}

/* evasive(canonical, text, kinds): `_evasive`; None (declined) for a canonical text or kinds
 * wider than one byte. */
static PyObject *evasive(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "evasive takes 3 arguments");
        return NULL;
    }
    Py_ssize_t length = 0, kinds_length = 0;
    const Py_UCS1 *canonical = sqli_latin1(args[0], &length);
    const Py_UCS1 *kinds = sqli_latin1(args[2], &kinds_length);
    if (canonical == NULL || kinds == NULL || !PyUnicode_Check(args[1])) {
        Py_RETURN_NONE;
    }
    if (length >= 2 && PyUnicode_GET_LENGTH(args[1]) < length &&
        memmem(canonical, (size_t)length, "/*", 2)) {
        Py_RETURN_TRUE;
    }
    if (mid_comment((const char *)kinds, kinds_length)) {
        Py_RETURN_TRUE;
    }
    return PyBool_FromLong(!printable(canonical, length) && odd_separator(canonical, length));
}

/* prose_prefix(text): `_prose_prefix`; None (declined) for a text wider than one byte. */
static PyObject *prose_prefix(PyObject *module, PyObject *text)
{
    if (!ready()) {
        return NULL;
    }
    Py_ssize_t length;
    const Py_UCS1 *chars = sqli_latin1(text, &length);
    if (chars == NULL) {
        Py_RETURN_NONE;
    }
    PyObject *found = PyDict_New();
    PyObject *keys[2] = {str_single, str_double};
    static const Py_UCS1 quotes[2] = {'\'', '"'};
    for (int q = 0; found != NULL && q < 2; q++) {
        const Py_UCS1 *start = memchr(chars, quotes[q], (size_t)length);
        Py_ssize_t spaces = start ? count_char((const char *)chars, start - chars, ' ') : 0;
        int prose = start != NULL && spaces >= config.prose_words;
        if (PyDict_SetItem(found, keys[q], prose ? Py_True : Py_False) < 0) {
            Py_CLEAR(found);
        }
    }
    return found;
}

/* ------------------------------------------------------------------ for the tests */

static const char *const context_names[3] = {"as-is", "'", "\""};

/* _contexts(kinds, prose_single, prose_double): [(name, folded, closes)] as
 * `grammar.contexts` gives them, for the tests of folding; None where it declines. */
static PyObject *contexts_for_tests(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (!ready()) {
        return NULL;
    }
    if (nargs != 3 || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "_contexts takes kinds and two flags");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(args[0])) {
        Py_RETURN_NONE;
    }
    int prose[2] = {PyObject_IsTrue(args[1]), PyObject_IsTrue(args[2])};
    if (prose[0] < 0 || prose[1] < 0) {
        return NULL;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(args[0]);
    char *buffer = PyMem_Malloc((size_t)(3 * (length + 1)));
    if (buffer == NULL) {
        return PyErr_NoMemory();
    }
    Context contexts[3];
    int count = make_contexts((const char *)PyUnicode_1BYTE_DATA(args[0]), length, prose, buffer,
                              contexts);
    PyObject *list = PyList_New(count);
    for (int i = 0; list != NULL && i < count; i++) {
        PyObject *item = Py_BuildValue("(ss#O)", context_names[contexts[i].name],
                                       contexts[i].folded, contexts[i].length,
                                       contexts[i].closes ? Py_True : Py_False);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
    }
    PyMem_Free(buffer);
    return list;
}

/* _mark(folded): `grammar.mark`, for the tests; None where it declines. */
static PyObject *mark_for_tests(PyObject *module, PyObject *folded)
{
    if (!ready()) {
        return NULL;
    }
    if (!PyUnicode_Check(folded) || !PyUnicode_IS_ASCII(folded)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t length = PyUnicode_GET_LENGTH(folded);
    char *buffer = PyMem_Malloc((size_t)(2 * length + 1));
    if (buffer == NULL) {
        return PyErr_NoMemory();
    }
    Py_ssize_t marked = mark((const char *)PyUnicode_1BYTE_DATA(folded), length, buffer);
    PyObject *result = ascii_str(buffer, marked);
    PyMem_Free(buffer);
    return result;
}

/* ------------------------------------------------------------------ module */

static PyMethodDef methods[] = {
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "Hand over the signatures, tables and constants of score.py and grammar.py."},
    {"token_findings", (PyCFunction)(void (*)(void))token_findings, METH_FASTCALL,
     "score._token_findings without its cache; None where it declines."},
    {"text_evidence", (PyCFunction)(void (*)(void))text_evidence, METH_FASTCALL,
     "score._text_evidence: updates `found`; True, or None where it declines."},
    {"combine", combine, METH_O, "score._combine; None where it declines."},
    {"evasive", (PyCFunction)(void (*)(void))evasive, METH_FASTCALL,
     "score._evasive; None where it declines."},
    {"prose_prefix", prose_prefix, METH_O, "score._prose_prefix; None where it declines."},
    {"_contexts", (PyCFunction)(void (*)(void))contexts_for_tests, METH_FASTCALL,
     "grammar.contexts as (name, folded, closes) tuples, for the tests."},
    {"_mark", mark_for_tests, METH_O, "grammar.mark, for the tests."},
    {NULL, NULL, 0, NULL},
};

static void free_module(void *module) { free_config(); }

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_signatures",
    "The evidence stage of the SQL-injection check (score.py), in C.", -1, methods,
    NULL, NULL, NULL, free_module,
};

static int make_constants(void)
{
    str_span = PyUnicode_InternFromString("span");
    str_round = PyUnicode_InternFromString("__round__");
    str_comma = PyUnicode_InternFromString(", ");
    str_empty = PyUnicode_InternFromString("");
    str_single = PyUnicode_InternFromString("'");
    str_double = PyUnicode_InternFromString("\"");
    float_zero = PyFloat_FromDouble(0.0);
    int_three = PyLong_FromLong(3);
    for (int ch = 0; ch < 256; ch++) {
        is_word[ch] = (unsigned char)sqli_is_word((Py_UCS4)ch);
        is_printable[ch] = (unsigned char)Py_UNICODE_ISPRINTABLE((Py_UCS4)ch);
        /* _ODD: [\x00-\x08\x0b\x0c\x0e-\x1f\x7f\xa0] */
        is_odd[ch] = (unsigned char)((ch <= 0x08) || ch == 0x0b || ch == 0x0c ||
                                     (ch >= 0x0e && ch <= 0x1f) || ch == 0x7f || ch == 0xa0);
    }
    return (str_span && str_round && str_comma && str_empty && str_single && str_double &&
            float_zero && int_three)
               ? 0
               : -1;
}

PyMODINIT_FUNC PyInit__signatures(void)
{
    if (make_constants() < 0) {
        return NULL;
    }
    return PyModule_Create(&definition);
}
