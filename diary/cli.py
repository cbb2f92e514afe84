"""The `flask --app wsgi diary …` commands (SPEC §12, Appendix A)."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import audit, clock
from .auth import queries as auth_queries
from .auth import staff as staff_accounts
from .auth.passwords import strength_problem, usable
from .auth.roles import ROLES
from .db import MIGRATE_COMMAND, connect, migrate, pending_migrations_at, transaction
from .db import backup as backup_copy
from .errors import APIError
from .participants import queries as participant_queries
from .participants import service as participants
from .participants.schemas import EnrollSchema
from .signoff import locks
from .signoff.schemas import ReasonSchema
from .study import current_study

diary = AppGroup("diary", help="Participant Diary administration.")


def _db():
    return connect(current_app.config["DIARY_DATABASE"])


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _api_error_text(exc) -> str:
    """An API error as one line: the fields it names with their messages, or its message."""
    if not exc.fields:
        return exc.message
    return "; ".join(f"{name}: {' '.join(map(str, msgs))}" for name, msgs in exc.fields.items())


def _messages_text(messages: dict) -> str:
    """A schema's field messages as one line."""
    return "; ".join(
        f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in messages.items()
    )


@diary.command("init-db")
def init_db():
    """Apply pending migrations (idempotent)."""
    db = _db()
    applied = migrate(db)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    with transaction(db):
        keyed = audit.key_chain(db)
    if keyed:
        click.echo(f"audit chain keyed: rows after {keyed - 1} are signed with DIARY_AUDIT_KEY")


def _create_staff(db, *, email, role, site_codes, password, now, full_name=None):

    try:
        return staff_accounts.create_staff(
            db,
            actor=audit.CLI,
            email=email,
            role=role,
            password=password,
            site_codes=site_codes,
            default_timezone=current_study().timezone,
            now=now,
            full_name=full_name,
        )
    except APIError as exc:
        raise click.ClickException(exc.message) from exc


@diary.command("create-staff")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--site", "sites", multiple=True, help="Site code (repeatable); created if missing.")
@click.option("--name", "full_name", help="Full name, printed with the person's signatures.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_staff(email, role, sites, full_name, password_stdin):
    """Create a staff account (sites named are created when missing)."""
    if role != "admin" and not sites:
        _fail("--site is required for coordinators and investigators")
    from .accounts.schemas import AccountCreateSchema

    # The e-mail, name and site codes follow the same rules as in the console.
    problems = AccountCreateSchema(partial=("full_name",)).validate(
        {
            "email": email,
            "role": role,
            "sites": list(sites),
            **({"full_name": full_name} if full_name is not None else {}),
        }
    )
    if problems:
        _fail(
            "; ".join(
                f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in problems.items()
            )
        )
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = strength_problem(password, email=email, full_name=full_name)
    if problem:
        _fail(f"choose a stronger password: {problem}")
    db = _db()
    staff_id = _create_staff(
        db,
        email=email,
        role=role,
        site_codes=sites,
        password=password,
        now=clock.now(),
        full_name=full_name,
    )
    click.echo(f"created staff #{staff_id} {email} ({role})")


def _enroll(db, *, study_id, site_code, timezone, injection_date, back_pain, mme, now, opioids=()):

    errors = EnrollSchema().validate(
        {
            "study_id": study_id,
            "site": site_code,
            "timezone": timezone,
            "injection_date": injection_date,
            "baseline_back_pain": back_pain,
            "baseline_mme": mme,
            "baseline_opioids": list(opioids),
        }
    )
    if errors:
        _fail("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items()))
    site = auth_queries.site_by_code(db, site_code)
    if site is None:
        raise click.ClickException(f"unknown site {site_code} (create-staff creates sites)")
    cfg = current_app.config
    with transaction(db):
        _, issued = participants.enroll(
            db,
            current_study(),
            actor=audit.CLI,
            site=site,
            study_id=study_id,
            timezone=timezone,
            injection_date=date.fromisoformat(injection_date),
            baseline_back_pain=back_pain,
            baseline_mme=mme,
            baseline_opioids=list(opioids),
            secret_key=cfg["SECRET_KEY"],
            base_url=cfg["DIARY_BASE_URL"],
            code_lifetime=cfg["ACTIVATION_CODE_LIFETIME"],
            staff_id=None,
            now=now,
        )
    return issued


@diary.command("enroll")
@click.option("--study-id", required=True)
@click.option("--site", required=True)
@click.option("--timezone", required=True)
@click.option("--injection-date", required=True)
@click.option("--baseline-back-pain", required=True, type=int)
@click.option("--baseline-mme", required=True, type=float)
@click.option(
    "--baseline-opioid",
    "baseline_opioids",
    multiple=True,
    help="A drug code taken at baseline (repeat for several).",
)
def enroll(
    study_id, site, timezone, injection_date, baseline_back_pain, baseline_mme, baseline_opioids
):
    """Enroll a participant and print the activation code."""

    try:
        issued = _enroll(
            _db(),
            study_id=study_id,
            site_code=site,
            timezone=timezone,
            injection_date=injection_date,
            back_pain=baseline_back_pain,
            mme=baseline_mme,
            opioids=baseline_opioids,
            now=clock.now(),
        )
    except APIError as exc:
        _fail(_api_error_text(exc))
    click.echo(f"enrolled {study_id}")
    click.echo(f"activation code: {issued.code}")
    click.echo(f"activation link: {issued.url}")
    click.echo(f"expires: {clock.iso(issued.expires_at)}")


@diary.command("add-injection")
@click.option("--study-id", required=True)
@click.option("--date", "day", required=True)
def add_injection(study_id, day):
    """Record another injection (e.g. the placebo arm's crossover at month 6)."""

    when = clock.parse_date(day)
    if when is None:
        _fail(f"date: {clock.DATE_RULE}")
    db = _db()
    participant = participant_queries.get_by_study_id(db, study_id)
    if participant is None:
        _fail(f"no participant {study_id}")
    try:
        with transaction(db):
            days = participants.add_injection(
                db,
                current_study(),
                actor=audit.CLI,
                participant=participant,
                day=when,
                now=clock.now(),
            )
    except APIError as exc:
        _fail(_api_error_text(exc))
    click.echo(f"{study_id} injections: {', '.join(d.isoformat() for d in days)}")


audit_group = AppGroup("audit", help="The audit trail.")
diary.add_command(audit_group)


@audit_group.command("verify")
@click.option(
    "--anchors",
    "anchor_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The anchor file to check against (default DIARY_AUDIT_ANCHORS; for a restored "
    "backup, the backup's own .anchors file).",
)
def audit_verify(anchor_file):
    """Check the keyed hash chain, the anchors kept outside the database, every entry,
    questionnaire response and adverse event against its last audit row, and every
    electronic signature; print OK, or each problem (exit 1)."""
    from .ops import verification

    db = _db()
    verdict = verification.run(db, anchor_file or current_app.config["DIARY_AUDIT_ANCHORS"])
    if verdict.ok:
        click.echo("OK: " + "; ".join(verdict.lines))
        return
    for problem in verdict.problems:
        click.echo(f"BROKEN {problem}")
    sys.exit(1)


@audit_group.command("anchor")
def audit_anchor():
    """Anchor the audit chain now: append its signed head to DIARY_AUDIT_ANCHORS (and the
    log) and print it (the scheduler does this every hour)."""
    from .audit import anchors

    db = _db()
    anchor = anchors.write(
        db, current_app.config["DIARY_AUDIT_ANCHORS"], now=clock.now(), force=True
    )
    click.echo(json.dumps(anchor, sort_keys=True))


@audit_group.command("anchors")
@click.option("--file", "anchor_file", type=click.Path(dir_okay=False, path_type=Path))
def audit_anchors(anchor_file):
    """Print the anchors (one JSON line each) for the sponsor to keep off this machine."""
    from .audit import anchors

    kept, unreadable = anchors.read(anchor_file or current_app.config["DIARY_AUDIT_ANCHORS"])
    for anchor in kept:
        click.echo(json.dumps(anchor, sort_keys=True))
    for problem in unreadable:
        click.echo(f"warning: {problem}", err=True)


def _check_reason(reason: str) -> None:
    """A freeze's reason by the console's rule (signoff ReasonSchema): text, 3–500."""
    problems = ReasonSchema().validate({"reason": reason})
    if problems:
        _fail(_messages_text(problems))


@diary.command("freeze")
@click.option("--reason", required=True, help="Why (e.g. the data cut's name).")
def freeze(reason: str):
    """Freeze the whole study for a data cut: no diary data is written until lifted."""
    _check_reason(reason)
    db = _db()
    try:
        with transaction(db):
            locks.freeze(db, reason=reason, actor=audit.CLI, now=clock.now())
    except APIError as exc:
        _fail(_api_error_text(exc))
    click.echo("study frozen: participant and staff writes answer 409 locked")


@diary.command("unfreeze")
@click.option("--reason", required=True, help="Why the freeze is lifted.")
def unfreeze(reason: str):
    """Lift the study freeze."""
    _check_reason(reason)
    db = _db()
    try:
        with transaction(db):
            locks.unfreeze(db, reason=reason, actor=audit.CLI, now=clock.now())
    except APIError as exc:
        _fail(_api_error_text(exc))
    click.echo("freeze lifted")


@diary.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup(path: Path):
    """Online backup to PATH, then PRAGMA integrity_check on the copy."""
    if path.exists():
        _fail(f"{path} exists; choose a new file")
    path.parent.mkdir(parents=True, exist_ok=True)
    result, count = backup_copy(current_app.config["DIARY_DATABASE"], path)
    if result != [("ok",)]:
        _fail(f"integrity_check of the copy failed: {result[:5]}")
    from .audit import anchors

    # The copy's own anchor, in the anchor file and beside the copy with every earlier
    # anchor it must hold: a restored copy is verified against those.
    anchor_file = current_app.config["DIARY_AUDIT_ANCHORS"]
    copy = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        key = audit.key_of_file(current_app.config["DIARY_DATABASE"])
        anchor = anchors.current(copy, now=clock.now(), key=key)
    finally:
        copy.close()
    kept, _ = anchors.read(anchor_file)
    anchors.append(anchor_file, anchor)
    beside = path.with_name(path.name + ".anchors")
    earlier = [a for a in kept if a["rows"] <= anchor["rows"]]
    anchors.append(beside, *earlier, anchor, logged=False)
    click.echo(
        f"backup written to {path} (integrity ok, {count} audit rows); its anchors: {beside}"
    )


@diary.command("reset-link")
@click.argument("email")
def reset_link(email):
    """Print a single-use link that sets EMAIL's password (for an administrator who cannot
    receive mail, or a study without SMTP); earlier links of the account stop working."""
    from .accounts import links

    db = _db()
    staff = auth_queries.staff_by_email(db, email)
    if staff is None or not staff["active"]:
        _fail(f"no active staff account {email}")
    cfg = current_app.config
    invited = not usable(staff["password_hash"])
    now = clock.now()
    with transaction(db):
        token, expires, link_id = links.issue(
            db,
            staff["id"],
            purpose="invitation" if invited else "reset",
            lifetime=cfg["STAFF_INVITATION_LIFETIME" if invited else "STAFF_RESET_LINK_LIFETIME"],
            now=now,
        )
        links.void_links(db, staff["id"], now=now, keep=link_id)  # printed: it replaces them
        audit.record(
            db,
            actor=audit.CLI,
            action="staff.invitation_sent" if invited else "staff.reset_sent",
            object_type="staff",
            object_id=staff["id"],
            after={"expires_at": clock.iso(expires), "by": "command line"},
            at=now,
        )
    from .accounts.mail import link

    click.echo(link(cfg, token))
    click.echo(f"works once, until {clock.iso(expires)}", err=True)


DEMO_STAFF = (
    # e-mail, role, sites, full name
    ("coordinator@demo.test", "coordinator", ["DEMO"], "Casey Coordinator"),
    ("investigator@demo.test", "investigator", ["DEMO"], "Dr Ines Investigator"),
    ("admin@demo.test", "admin", [], "Alex Admin"),
)


def _demo_password(role: str) -> str:
    """A password of its own for each demo account: 'demo-coordinator-7KQM-2XPD-9RTA'."""
    from .auth import codes

    return f"demo-{role}-{codes.new_code()}"


@diary.command("demo")
def demo():
    """Create a demo site, staff logins and participants (two with three weeks of diary);
    print a fresh participant's activation code, and the logins when it makes them."""
    db = _db()
    now = clock.now()
    study = current_study()
    first_run = auth_queries.staff_by_email(db, DEMO_STAFF[0][0]) is None
    logins = []
    if first_run:
        for address, role, sites, name in DEMO_STAFF:
            password = _demo_password(role)
            _create_staff(
                db,
                email=address,
                role=role,
                site_codes=sites,
                password=password,
                now=now,
                full_name=name,
            )
            logins.append((role, address, password))
    n = 1
    while participant_queries.get_by_study_id(db, f"LBP-{n:03d}"):
        n += 1
    study_id = f"LBP-{n:03d}"
    today = clock.local_date(now, study.timezone)
    issued = _enroll(
        db,
        study_id=study_id,
        site_code="DEMO",
        timezone=study.timezone,
        injection_date=today.isoformat(),
        back_pain=5,
        mme=15,
        now=now,
    )
    if first_run:
        _demo_history(db, now=now)
    click.echo(f"Staff console: {current_app.config['DIARY_BASE_URL']}/staff/")
    if logins:
        for role, address, password in logins:
            click.echo(f"  {role}: {address} / {password}")
        click.echo("  (a password per role, shown only now: note them)")
    else:
        click.echo(
            "  logins: coordinator@, investigator@ and admin@demo.test, with the passwords"
            " printed when the demo was made (`flask diary reset-link EMAIL` sets a new one)"
        )
    click.echo(f"Participant app: {current_app.config['DIARY_BASE_URL']}/")
    click.echo(f"  {study_id} activation code: {issued.code}")
    click.echo(f"  activation link: {issued.url}")


def _demo_history(db, *, now) -> None:
    """Two demo participants with three weeks of diary, written through the real entry
    service at each evening's local time, then every job run once: the console opens
    on missed entries, a pain flare, a fever, an ER visit with its serious-event clock,
    and opioid flags to work."""
    import random
    import uuid
    from datetime import time, timedelta

    from .entries import service as entries
    from .jobs import runner
    from .jobs.registry import JOBS

    study = current_study()
    tz = study.timezone
    today = clock.local_date(now, tz)
    rng = random.Random(14)  # the same demo every time
    plans = {
        # study id: (days of diary, baseline pain, baseline MME, day → overrides)
        "LBP-101": (
            21,
            5,
            15,
            {
                6: None,
                7: None,
                8: None,
                15: {"back_pain": 8},
                16: {"back_pain": 8},
                19: {"symptoms": ["fever"], "temperature_c": 38.6},
                # Last evening: an ER visit starts a 24-hour serious-event clock.
                20: {"symptoms": ["hospital_or_er_visit"]},
            },
        ),
        # No opioids for two weeks and a half, then three days above the 50 MME line.
        "LBP-102": (21, 3, 0, {18: "oxy", 19: "oxy", 20: "oxy"}),
    }
    cfg = current_app.config
    for study_id, (days, pain, mme, special) in plans.items():
        if participant_queries.get_by_study_id(db, study_id):
            continue
        first = today - timedelta(days=days)
        enrolled = clock.local_instant(first, time(9, 0), tz)
        issued = _enroll(
            db,
            study_id=study_id,
            site_code="DEMO",
            timezone=tz,
            injection_date=first.isoformat(),
            back_pain=pain,
            mme=mme,
            now=enrolled,
        )
        # The participant activates the app at the clinic, as their entries imply.
        with transaction(db):
            participants.activate(
                db,
                code=issued.code,
                client_key="demo",
                secret_key=cfg["SECRET_KEY"],
                max_failures=cfg["ACTIVATION_MAX_FAILURES"],
                window=cfg["ACTIVATION_FAILURE_WINDOW"],
                now=enrolled + timedelta(minutes=20),
            )
        participant = participant_queries.get_by_study_id(db, study_id)
        actor = audit.Actor("participant", str(participant["id"]), study_id)
        for offset in range(days):
            day = first + timedelta(days=offset)
            plan = special.get(offset, {})
            if offset in special and plan is None:
                continue  # a missed day
            doses = [{"drug": "oxycodone", "strength": 5.0, "units": 2.0}] if mme else []
            if plan == "oxy":
                doses, plan = [{"drug": "oxycodone", "strength": 10.0, "units": 4.0}], {}
            when = clock.local_instant(day, time(20, rng.randrange(60)), tz)
            body = {
                "client_id": uuid.uuid4(),
                "back_pain": max(0, pain + rng.choice((-1, 0, 0, 1))),
                "leg_pain": rng.choice((1, 2, 2, 3)),
                "doses": doses,
                "symptoms": [],
                "temperature_c": None,
                "note": None,
                "device_time": when,
                "reason": None,
                **plan,
            }
            entries.put_entry(
                db,
                study,
                participant_id=participant["id"],
                day=day,
                body=body,
                actor=actor,
                now=when,
            )
    runner.run_all(JOBS, now=now, **_job_kwargs())


# --- jobs (SPEC §7): the app factory never starts a scheduler; these commands do ---


def _parse_instant(text: str):
    """--at, by the rule the API's device times follow (clock.parse_instant)."""
    value = clock.parse_instant(text)
    if value is None:
        _fail(f"--at: {clock.INSTANT_RULE} (got {text!r})")
    return value


def _job_kwargs() -> dict:
    return {
        "database": current_app.config["DIARY_DATABASE"],
        "study": current_study(),
        "config": current_app.config,
    }


def _require_migrated() -> None:
    """Jobs and servers start only on a database whose migrations are all applied."""
    pending = pending_migrations_at(current_app.config["DIARY_DATABASE"])
    if pending:
        raise click.ClickException(
            f"the database has pending migrations ({', '.join(pending)}): run `{MIGRATE_COMMAND}`"
        )


@diary.command("run-jobs")
@click.option("--at", "at", default=None, help="Run as if the clock read this ISO 8601 instant.")
def run_jobs(at):
    """Run every job once (as of --at, default now) and print what each did."""
    import json

    from .jobs import runner
    from .jobs.registry import JOBS

    _require_migrated()
    now = _parse_instant(at) if at else clock.now()
    failed = False
    for result in runner.run_all(JOBS, now=now, **_job_kwargs()):
        if not result.ran:
            click.echo(f"{result.job_id}: skipped (another scheduler is running it)")
        elif result.error:
            failed = True
            click.echo(f"{result.job_id}: error: {result.error}")
        else:
            click.echo(f"{result.job_id}: {json.dumps(result.summary, sort_keys=True)}")
    if failed:
        sys.exit(1)


def _log_to_console() -> None:
    from .ops import logs

    logs.console()


@diary.command("scheduler")
def scheduler():
    """Run the scheduled jobs in this process until stopped (beside gunicorn)."""
    import signal

    from .jobs import runner
    from .jobs.registry import JOBS

    _require_migrated()
    _log_to_console()
    sched = runner.build_scheduler(JOBS, blocking=True, **_job_kwargs())
    # SIGTERM stops scheduling; a running job finishes and releases its lock.
    signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
    click.echo("scheduler started; stop with Ctrl-C or SIGTERM")
    try:
        sched.start()
    except KeyboardInterrupt:
        sched.shutdown(wait=False)


def _interrupt(*_):
    raise KeyboardInterrupt


@diary.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host, port, threads):
    """Web server (waitress) and the job scheduler in one process: a small study's setup."""
    import signal

    from waitress import serve as waitress_serve

    from .jobs import runner
    from .jobs.registry import JOBS

    _require_migrated()
    _log_to_console()
    sched = runner.build_scheduler(JOBS, blocking=False, **_job_kwargs())
    sched.start()
    signal.signal(signal.SIGTERM, _interrupt)  # so that the scheduler shuts down cleanly
    click.echo(f"serving on http://{host}:{port}/ with the scheduler in this process")
    try:
        waitress_serve(
            current_app._get_current_object(),
            host=host,
            port=port,
            threads=threads,
            # X-Forwarded-* reach the app untouched, where ProxyFix reads them as
            # DIARY_TRUSTED_PROXIES says: the same under waitress and gunicorn.
            clear_untrusted_proxy_headers=not current_app.config["DIARY_TRUSTED_PROXIES"],
        )
    finally:
        sched.shutdown(wait=True)


def init_app(app: Flask) -> None:
    from .notify.cli import vapid_keys
    from .ops.commands import replicate, restore

    diary.add_command(vapid_keys)
    diary.add_command(replicate)
    diary.add_command(restore)
    app.cli.add_command(diary)
