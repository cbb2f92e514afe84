"""Participant Diary: daily pain and opioid diary for clinical-trial participants."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask
from flask_smorest import Api

from . import config as config_module
from . import db, errors, security, study

ROOT = Path(__file__).resolve().parent.parent


class DiaryApi(Api):
    """flask-smorest with our error envelope, and our handlers instead of its own."""

    ERROR_SCHEMA = errors.ErrorSchema

    def _register_error_handlers(self):
        pass  # errors.init_app registers one JSON handler for everything


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app: config → study → db → auth → errors → blueprints → cli."""
    app = Flask(
        __name__,
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
        instance_path=str(ROOT / "instance"),
    )
    settings = config_module.load(ROOT, Path(app.instance_path), overrides)
    app.config.update(settings)
    app.config.update(config_module.flask_settings(settings))
    if overrides:  # explicit overrides win over derived Flask settings too
        app.config.update({k: v for k, v in overrides.items() if not k.startswith("DIARY_")})
    logging.getLogger("diary").setLevel(app.config["DIARY_LOG_LEVEL"])

    app.extensions["diary.study"] = study.load(app.config["DIARY_STUDY_FILE"])

    db.init_app(app)
    _migrate(app)
    from . import auth

    auth.init_app(app)
    errors.init_app(app)
    app.before_request(errors.require_json_body)
    security.init_app(app)

    api = DiaryApi(app, spec_kwargs={"servers": [{"url": "/"}]})
    _register_blueprints(app, api)

    from . import cli

    cli.init_app(app)
    return app


def _migrate(app: Flask) -> None:
    """Apply pending migrations at start-up (idempotent; concurrent starts serialise)."""
    database = db.connect(app.config["DIARY_DATABASE"])
    try:
        db.migrate(database)
    finally:
        database.conn.close()


def _register_blueprints(app: Flask, api: Api) -> None:
    from . import pages
    from .auth.views import blp as auth_blp
    from .console.views import blp as console_blp
    from .entries.views import blp as entries_blp
    from .exports.views import blp as exports_blp
    from .flags.views import blp as flags_blp
    from .notify.views import blp as notify_blp
    from .participants.views import blp as participants_blp

    for blueprint in (
        auth_blp,
        participants_blp,
        entries_blp,
        flags_blp,
        notify_blp,
        console_blp,
        exports_blp,
    ):
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    app.register_blueprint(pages.bp)
