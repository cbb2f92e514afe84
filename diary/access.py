"""Who may call a view: the decorators every endpoint states its caller with (SPEC §8).

They ask only what Flask-Login's `current_user` says of itself (`kind`, and for
staff `can(permission)` and `role`), so any package may use them, whatever it
lies above or below: the sign-in machinery that makes the user is in `auth`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask_login import current_user

from .errors import APIError


def participant_required(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            raise APIError(401, "Sign in first (your session may have ended).")
        if current_user.kind != "participant":
            raise APIError(403, "This is for participants only.")
        return view(*args, **kwargs)

    return wrapped


def staff_required(permission: str) -> Callable[[Callable], Callable]:
    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                raise APIError(401, "Sign in first (your session may have ended).")
            if current_user.kind != "staff":
                raise APIError(403, "This is for study staff only.")
            if not current_user.can(permission):
                raise APIError(403, f"Your role ({current_user.role}) cannot do this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator
