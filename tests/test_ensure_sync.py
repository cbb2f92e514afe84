"""Whether a view or hook is a coroutine function, asked more cheaply (diary.DiaryFlask):
a plain function is served as it is, and a coroutine function, a partial or a method
still goes through Flask's own check, so an `async def` is never called as if it were
synchronous (which would answer with an unawaited coroutine)."""

from __future__ import annotations

import functools

import pytest


def test_a_plain_function_is_served_as_it_is(app):
    def view():
        return "ok"

    assert app.ensure_sync(view) is view
    wrapped = functools.wraps(view)(lambda: view())
    assert app.ensure_sync(wrapped) is wrapped


def _not_served_as_is(app, func) -> bool:
    try:
        return app.ensure_sync(func) is not func
    except RuntimeError:  # Flask without its async extra refuses it: not served as is either
        return True


def test_a_coroutine_function_is_left_to_flask(app):
    async def view():
        return "ok"

    assert _not_served_as_is(app, view)
    assert _not_served_as_is(app, functools.partial(view))


def test_an_async_view_is_never_answered_as_if_it_were_synchronous(app):
    async def view():
        return "ok"

    app.add_url_rule("/async-probe", "async_probe", view)
    response = app.test_client().get("/async-probe")
    # Served (Flask's async extra) or refused with our 500 envelope: never a coroutine object
    assert response.status_code in (200, 500)
    if response.status_code == 200:
        assert response.get_data(as_text=True) == "ok"


@pytest.mark.parametrize("kind", ["partial", "method"])
def test_partials_and_methods_of_plain_functions_still_run(app, kind):
    class Thing:
        def call(self):
            return "ok"

    func = functools.partial(lambda x: x, "ok") if kind == "partial" else Thing().call
    assert app.ensure_sync(func)() == "ok"
