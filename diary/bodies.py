"""Every JSON request body is decoded here, and only here (SPEC §9): bounded in
nesting, and every string in it valid text — no lone UTF-16 surrogate (JSON can
spell one, no file, database export or e-mail can hold it) and no control
character but tab, line feed and carriage return. A body that breaks a rule is a
4xx naming the field, before any view or schema sees it, so nothing is written."""

from __future__ import annotations

import json
from typing import Any

from flask import Request
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from .errors import APIError
from .text import problem

MAX_DEPTH = 16  # the deepest real body (an entry's doses) is 3 levels


def _path(parts: list[Any]) -> str:
    return ".".join(str(p) for p in parts) or "_schema"


def check(value: Any) -> None:
    """Refuse a decoded body that is nested too deeply or holds a string that is not
    valid text (keys included), naming the first such field."""
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            raise _too_deep()
        if isinstance(item, str):
            trouble = problem(item)
            if trouble:
                raise APIError(
                    422, "The request has invalid fields.", fields={_path(path): [trouble]}
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                trouble = problem(key)
                if trouble:
                    raise APIError(
                        422,
                        "The request has invalid fields.",
                        fields={"_schema": [f"a field name {trouble}"]},
                    )
                stack.append((child, [*path, key]))
        elif isinstance(item, list):
            stack.extend((child, [*path, i]) for i, child in enumerate(item))


def _too_deep() -> APIError:
    return APIError(
        400, f"The request body is nested more than {MAX_DEPTH} levels deep.", code="bad_request"
    )


def decode(raw: bytes | str) -> Any:
    """A request body as JSON, checked; 400 when it is not JSON at all."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError):
        raise APIError(400, "The request body is not valid JSON.", code="bad_request") from None
    check(value)
    return value


class CheckedRequest(Request):
    """Flask's request, whose get_json() applies the same checks: once per decoded body
    (the 415 guard decodes every body first; a view's schema then gets the same value)."""

    _checked: Any = None

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            value = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise _too_deep() from None
        if value is None or value is not self._checked:
            check(value)
            if cache:
                self._checked = value
        return value


class CheckedParser(FlaskParser):
    """webargs' parser (which decodes bodies itself) through `decode`."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return missing
        return req.get_json()
