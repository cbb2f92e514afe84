"""`flask diary replicate` and `flask diary restore` (SPEC §16)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from .. import audit, clock
from .. import config as config_module
from ..db import connect
from . import replication


def _replica_url() -> str:
    url = current_app.config.get("DIARY_REPLICA_URL")
    if not url:
        click.echo("error: DIARY_REPLICA_URL is not set (e.g. s3://bucket/diary)", err=True)
        sys.exit(2)
    return url


@click.command("replicate")
@with_appcontext
def replicate():
    """Stream the database to DIARY_REPLICA_URL with Litestream until stopped (one
    process beside gunicorn and the scheduler); the lag goes to /metrics."""
    database = current_app.config["DIARY_DATABASE"]
    url = _replica_url()
    click.echo(f"replicating {database} to {url} (Litestream); stop with Ctrl-C or SIGTERM")
    try:
        status = replication.replicate(database, url, log=lambda m: click.echo(m, err=True))
    except replication.ReplicationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    sys.exit(status)


@click.command("restore")
@with_appcontext
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new database file (must not exist).",
)
@click.option("--timestamp", help="Restore the state as of this instant (ISO 8601, with offset).")
@click.option(
    "--anchors",
    "anchor_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The anchor file to verify against (default DIARY_AUDIT_ANCHORS).",
)
def restore(target: Path, timestamp: str | None, anchor_file: Path | None):
    """Restore DIARY_REPLICA_URL into a new file, as of --timestamp or the newest state,
    then verify its audit trail; print what was restored and what the anchors say
    was lost since."""
    from . import verification

    url = _replica_url()
    if target.exists():
        click.echo(f"error: {target} exists; restore into a new file", err=True)
        sys.exit(2)
    when = None
    if timestamp:
        when = clock.parse_instant(timestamp)
        if when is None:
            click.echo(f"error: --timestamp {clock.INSTANT_RULE}", err=True)
            sys.exit(2)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        done = replication.restore(url, target, timestamp=when)
    except replication.ReplicationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"restored {done['bytes'] / 1e6:.1f} MB to {target} in {done['seconds']:.2f} s"
        + (f" (as of {clock.iso(when)})" if when else "")
    )
    # The copy is signed with this study's audit key, like the database it came from.
    audit.use_key(str(target), config_module.audit_key(current_app.config))
    db = connect(str(target))
    try:
        (newest,) = db.execute("SELECT max(received_at) FROM entries").fetchone()
        click.echo(f"newest diary entry received: {newest or 'none'}")
        verdict = verification.run(
            db, anchor_file or current_app.config["DIARY_AUDIT_ANCHORS"], restored=True
        )
    finally:
        db.conn.close()
    for lost in verdict.lost:
        click.echo(f"LOST since the copy: {lost}")
    if verdict.ok:
        click.echo("audit OK: " + "; ".join(verdict.lines))
        return
    for problem in verdict.problems:
        click.echo(f"BROKEN {problem}")
    sys.exit(1)
