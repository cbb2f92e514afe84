"""Participant Diary: daily pain and opioid diary for clinical-trial participants."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from types import FunctionType
from typing import Any

from flask import Flask, request
from flask_smorest import Api
from flask_smorest.spec.plugins import FlaskPlugin

from . import bodies, db, errors, schemas, security, study
from . import config as config_module
from .ops.views import PATHS as OPS_PATHS

ROOT = Path(__file__).resolve().parent.parent


# Endpoints anyone may call; every other one answers 401 without a session.
PUBLIC_ENDPOINTS = {
    "auth.get_session",
    "auth.staff_login",
    "auth.staff_logout",
    "auth.logout",
    "participants.activate",
    "notifications.get_vapid_public_key",
}
_ERRORS = {
    400: "The body is not valid JSON",
    401: "Not signed in, or the session has ended",
    403: "Wrong role, or the CSRF token is missing or wrong",
    404: "No such object at your sites",
    413: "The body is larger than 64 KiB",
    415: "The body is not JSON (Content-Type: application/json)",
}


class DiaryFlask(Flask):
    """Flask, asking more cheaply whether a view or hook is a coroutine function.

    Flask asks it of every view, hook and flask-smorest wrapper a request passes through
    (about twenty times a request) by `inspect.iscoroutinefunction`, which unwraps
    methods and partials first. A plain function's code says it at once; anything else
    (or a function marked a coroutine function) still goes through Flask's own check."""

    def ensure_sync(self, func):
        if (
            type(func) is FunctionType
            and not func.__code__.co_flags & inspect.CO_COROUTINE
            and not hasattr(func, "_is_coroutine_marker")
        ):
            return func
        return super().ensure_sync(func)


class DiaryApi(Api):
    """flask-smorest with our error envelope, and our handlers instead of its own."""

    ERROR_SCHEMA = errors.ErrorSchema

    def _register_error_handlers(self):
        pass  # errors.init_app registers one JSON handler for everything

    def register_blueprint(self, blp, **options):
        """Register, then document the errors each operation can give beside its own."""
        super().register_blueprint(blp, **options)
        name = options.get("name", blp.name)
        paths = self.spec._paths  # apispec keeps the operations here until to_dict()
        for rule in self._app.url_map.iter_rules():
            if not rule.endpoint.startswith(f"{name}."):
                continue
            path = FlaskPlugin.flaskpath2openapi(rule.rule)
            for method, operation in paths.get(path, {}).items():
                if rule.methods and method.upper() not in rule.methods:
                    continue
                statuses = []
                if rule.endpoint not in PUBLIC_ENDPOINTS:
                    statuses += [401, 403]
                if rule.arguments:
                    statuses.append(404)
                if method in ("post", "put", "patch", "delete"):
                    statuses += [400, 403, 413, 415]
                responses = operation.setdefault("responses", {})
                for status in statuses:
                    responses.setdefault(str(status), _error_response(status))
                for status, response in responses.items():
                    # alt_response(409, description=…) documents no body: it is our envelope
                    if status[0] in "45" and "content" not in response and "$ref" not in response:
                        response["content"] = _error_response(int(status))["content"]


def _error_response(status: int) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/Error"}
    return {
        "description": _ERRORS.get(status, "Error"),
        "content": {"application/json": {"schema": schema}},
    }


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config → study → db → auth → errors → blueprints → cli."""
    app = DiaryFlask(
        __name__,
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
        instance_path=str(ROOT / "instance"),
    )
    app.request_class = bodies.CheckedRequest
    settings = config_module.load(ROOT, Path(app.instance_path), overrides)
    app.config.update(settings)
    app.config.update(config_module.flask_settings(settings))
    if overrides:  # explicit overrides win over derived Flask settings too
        app.config.update({k: v for k, v in overrides.items() if not k.startswith("DIARY_")})
    from .ops import logs

    logs.configure(app.config["DIARY_LOG_LEVEL"], app.config["DIARY_LOG_FORMAT"])
    logs.init_app(app)

    app.extensions["diary.study"] = study.load(app.config["DIARY_STUDY_FILE"])
    from .questionnaires import catalog

    # A bad questionnaire file, or a schedule naming one that is not there, stops start-up.
    catalog.for_study(app.extensions["diary.study"], app.config["DIARY_CONTENT_DIR"])

    db.init_app(app)
    from . import audit

    audit.use_key(app.config["DIARY_DATABASE"], config_module.audit_key(app.config))
    _check_schema(app)
    from . import auth

    auth.init_app(app)
    errors.init_app(app)
    from .ops import views as ops

    ops.init_app(app)
    app.before_request(errors.require_json_body)
    security.init_app(app)
    proxies = app.config["DIARY_TRUSTED_PROXIES"]
    if proxies:
        # Behind nginx or a load balancer every request would come from the proxy:
        # the activation rate limit would then count all participants together.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    app.url_map.converters["date"] = schemas.DateConverter
    app.url_map.converters["int"] = schemas.IdConverter
    app.url_map.converters["anydate"] = schemas.AnyDateConverter
    api = DiaryApi(app, spec_kwargs={"servers": [{"url": "/"}]})
    api.register_converter(schemas.DateConverter, schemas.DateConverter.openapi)
    api.register_converter(schemas.AnyDateConverter, schemas.DateConverter.openapi)
    _register_blueprints(app, api)

    from . import cli

    cli.init_app(app)
    return app


log = logging.getLogger(__name__)


def _check_schema(app: Flask) -> None:
    """Refuse to serve a database whose migrations are pending, and say what to run.

    Migrations are applied by `init-db` (scripts/start runs it), never by starting the
    app: a web worker, `audit verify` or `backup` must not take the write lock to start.
    Once someone migrates, the next request finds it and the app serves, no restart needed.
    """
    app.extensions["diary.pending_migrations"] = db.pending_migrations_at(
        app.config["DIARY_DATABASE"]
    )
    if not app.extensions["diary.pending_migrations"]:
        return
    log.warning(
        "database %s has pending migrations (%s): run `%s`",
        app.config["DIARY_DATABASE"],
        ", ".join(app.extensions["diary.pending_migrations"]),
        db.MIGRATE_COMMAND,
    )

    def refuse_until_migrated():
        if not app.extensions["diary.pending_migrations"] or request.path in OPS_PATHS:
            return None
        app.extensions["diary.pending_migrations"] = db.pending_migrations_at(
            app.config["DIARY_DATABASE"]
        )
        if not app.extensions["diary.pending_migrations"]:
            return None
        raise errors.APIError(
            503,
            f"The database needs migrating before the diary can serve: run `{db.MIGRATE_COMMAND}`.",
            code="migrations_pending",
        )

    app.before_request(refuse_until_migrated)


def _register_blueprints(app: Flask, api: Api) -> None:
    from . import pages
    from .accounts.views import blp as accounts_blp
    from .adherence.views import blp as adherence_blp
    from .audit.views import blp as audit_blp
    from .auth.views import blp as auth_blp
    from .entries.views import blp as entries_blp
    from .exports.views import blp as exports_blp
    from .flags.views import blp as flags_blp
    from .jobs.views import blp as jobs_blp
    from .notify.views import blp as notify_blp
    from .participants.views import blp as participants_blp
    from .questionnaires.views import blp as questionnaires_blp
    from .signoff.views import blp as signoff_blp

    for blueprint in (
        auth_blp,
        accounts_blp,
        participants_blp,
        entries_blp,
        questionnaires_blp,
        flags_blp,
        signoff_blp,
        notify_blp,
        adherence_blp,
        audit_blp,
        exports_blp,
        jobs_blp,
    ):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    app.register_blueprint(pages.bp)
