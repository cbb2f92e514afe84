"""The yardsticks of bench/api.py, served by the same gunicorn settings as the diary.

Bench only: nothing in diary/ imports or serves this module.

* `GET /ping` — a bare Flask JSON endpoint: what this machine and client can do at all.
* `PUT /floor/<day>` — the floor of any authenticated write. The signed session cookie
  is opened with the diary's settings and the signed-in user loaded as the diary loads
  them (its Flask-Login manager and `diary.auth.load_user`: the server-side session by
  its token, its participant, the expiry rules); then the JSON body is parsed and one
  row inserted in a write transaction on the diary's per-thread connection
  (`diary.db`: the writer lock, BEGIN IMMEDIATE, COMMIT), into a table of its own
  (`bench_floor_writes`) in the diary's database file. No CSRF check, no schema, no
  audit row: whatever a diary PUT spends beyond this is the PUT's own.

    gunicorn 'bench.bare:create_app()'   # with the diary's DIARY_* environment
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask, abort, jsonify, request
from flask_login import current_user

from diary import auth, clock
from diary import config as diary_config
from diary import db as diary_db
from diary.db import connect, get_db, transaction

ROOT = Path(__file__).resolve().parents[1]
TABLE = """CREATE TABLE IF NOT EXISTS bench_floor_writes (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL,
    date TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT"""


def prepare(database: str) -> None:
    """Create the floor's table (before gunicorn starts: the workers only insert)."""
    db = connect(database)
    try:
        db.execute(TABLE)
    finally:
        db.conn.close()


def create_app() -> Flask:
    app = Flask(__name__)
    settings = diary_config.load(ROOT, ROOT / "instance", None)
    app.config.update(settings)
    app.config.update(diary_config.flask_settings(settings))
    diary_db.init_app(app)
    auth.login_manager.init_app(app)
    auth.login_manager.session_protection = None  # as auth.init_app sets it for the diary

    @app.get("/ping")
    def ping():
        return jsonify({"ok": True})

    @app.get("/api/v1/session")
    def ready():  # serverctl.wait_ready polls this path
        return jsonify({"user": None})

    @app.put("/floor/<day>")
    def floor(day: str):
        if not current_user.is_authenticated:
            abort(401)
        body = request.get_json()
        db = get_db()
        with transaction(db):
            cursor = db.execute(
                "INSERT INTO bench_floor_writes (session_id, date, body, received_at)"
                " VALUES (?, ?, ?, ?)",
                [current_user.session_id, day, json.dumps(body), clock.iso(clock.now())],
            )
        return jsonify({"id": cursor.lastrowid}), 201

    return app
