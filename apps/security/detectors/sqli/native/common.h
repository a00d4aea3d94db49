/* Shared by the native parts of the SQL-injection check: character classes exactly as
 * Python's `re` and `str` methods see them, for one-byte (Latin-1) strings. */
#ifndef AIVMON_SQLI_COMMON_H
#define AIVMON_SQLI_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* `\w` of a str pattern: alphanumeric (str.isalnum) or `_`. */
static inline int sqli_is_word(Py_UCS4 ch) { return ch == '_' || Py_UNICODE_ISALNUM(ch); }

/* `\d` of a str pattern: a decimal digit of any script (none outside ASCII in Latin-1). */
static inline int sqli_is_digit(Py_UCS4 ch) { return Py_UNICODE_ISDECIMAL(ch); }

/* `\s` of a str pattern (str.isspace). */
static inline int sqli_is_space(Py_UCS4 ch) { return Py_UNICODE_ISSPACE(ch); }

/* The bytes of a one-byte (Latin-1) str, or NULL for a wider one: the caller then declines
 * (returns None) and the Python reference does the work. */
static inline const Py_UCS1 *sqli_latin1(PyObject *text, Py_ssize_t *length)
{
    if (!PyUnicode_Check(text) || PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        return NULL;
    }
    *length = PyUnicode_GET_LENGTH(text);
    return PyUnicode_1BYTE_DATA(text);
}

#endif
