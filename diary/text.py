"""Text people write: what the diary can store, export and mail."""

from __future__ import annotations


def encodable(text: str) -> bool:
    """True when the text can be stored and exported as UTF-8 (JSON may carry lone
    surrogates such as \\ud800, which no file or e-mail can hold)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
