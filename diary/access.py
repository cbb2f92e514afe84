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
            if getattr(current_user, "needs_second_factor", False):
                raise second_factor_first()
            if not current_user.can(permission):
                raise APIError(403, f"Your role ({current_user.role}) cannot do this.")
            return view(*args, **kwargs)

        return wrapped

    return decorator


def second_factor_first() -> APIError:
    return APIError(
        403,
        "Set up two-step sign-in first: your role must sign in with a code from an"
        " authenticator app.",
        code="second_factor_setup_required",
    )


def staff_signed_in(view: Callable) -> Callable:
    """Any signed-in staff member, even one who has still to set up the second factor
    their role requires: for their own password and second factor only."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            raise APIError(401, "Sign in first (your session may have ended).")
        if current_user.kind != "staff":
            raise APIError(403, "This is for study staff only.")
        return view(*args, **kwargs)

    return wrapped
