"""Text people write: what the diary can store, export and mail."""

from __future__ import annotations

import re
import unicodedata


def encodable(text: str) -> bool:
    """True when the text can be stored and exported as UTF-8 (JSON may carry lone
    surrogates such as \\ud800, which no file or e-mail can hold)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# C0 controls people never mean to type (and DEL); tab, line feed and carriage return
# are text.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# What ends a line for a reader (str.splitlines): a one-line value holds none of these.
_LINE_BREAKS = re.compile("[\r\n\x85\u2028\u2029]")


def problem(text: str, *, one_line: bool = False) -> str | None:
    """Why a string cannot be kept as text (as one line when `one_line`: a name, a
    term, a code, which lists, CSV rows, e-mail subjects and the audit trail show on a
    line of their own), in words for the field's message; None if fine."""
    if not encodable(text):
        return "contains characters that are not valid text"
    if _CONTROLS.search(text):
        return "contains a control character (such as NUL)"
    if one_line and _LINE_BREAKS.search(text):
        return "must be one line (no line breaks)"
    return None


# Characters that show nothing on their own: spaces and separators of every kind, format
# characters (zero-width spaces and joiners, direction marks, the byte-order mark) and
# controls.
_UNSEEN = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc"})


def blank(text: str) -> bool:
    """True when the text shows nothing: empty, or only spaces and invisible characters
    (a term, a name or a reason that says nothing)."""
    return all(ch.isspace() or unicodedata.category(ch) in _UNSEEN for ch in text)
