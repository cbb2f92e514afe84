"""The yardstick: a bare Flask JSON endpoint, served by the same gunicorn settings as the diary."""

from __future__ import annotations

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/ping")
def ping():
    return jsonify({"ok": True})


@app.get("/api/v1/session")
def ready():  # serverctl.wait_ready polls this path
    return jsonify({"user": None})
