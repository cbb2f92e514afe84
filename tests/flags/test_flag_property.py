"""The flags staff see are the flags the data imply, however the data arrived.

Random sequences of entries, corrections, late syncs, acknowledgements,
withdrawals and closing-job runs at random instants (repeated instants too,
across the spring-forward DST change in America/Chicago) go through the real
services on a real SQLite file. After a final run:

- every finding the pure rules compute from scratch over the final data is
  covered by a flag of its kind with at least its severity;
- the unresolved missed-entries flags list exactly the expected dates without
  an entry, and so does the missed-date record that adherence and exports read;
- no urgent finding was added without a notice: every red-flag code an urgent
  flag holds, and every date it spans, was in a notice queued to the site.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import date, time, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diary import audit, clock
from diary import study as study_module
from diary.auth import queries as auth_queries
from diary.db import connect, migrate, transaction
from diary.entries import service as entries
from diary.errors import APIError
from diary.flags import queries as flag_queries
from diary.flags import rules
from diary.flags import service as flags
from diary.jobs import close_days
from diary.participants import service as participants

ROOT = Path(__file__).resolve().parents[2]
STUDY = study_module.load(ROOT / "study.toml")
TZ = "America/Chicago"
DAY0 = date(2026, 3, 5)  # the clocks spring forward on 8 March
DAYS = 12
START = clock.local_instant(DAY0, time(9, 0), TZ)
END = START + timedelta(days=DAYS + 2)
PARTICIPANT_ACTOR = audit.Actor("participant", 1, "LBP-001")
STAFF_ACTOR = audit.Actor("staff", 1, "coord@site-a.test")

DOSES = {
    "none": [],
    "oxy": [{"drug": "oxycodone", "strength": 10.0, "units": 2.0}],  # 30 MME
    "morphine_60": [{"drug": "morphine", "strength": 30.0, "units": 2.0}],  # high
    "morphine_120": [{"drug": "morphine", "strength": 30.0, "units": 4.0}],  # urgent
    "bup": [{"drug": "buprenorphine", "strength": 8.0, "units": 1.0}],  # no factor
}

instants = st.integers(0, int((END - START).total_seconds()) // 1800).map(
    lambda n: START + timedelta(minutes=30 * n)
)


def _entry(offset, made_hours, delay_hours, pain, dose, symptoms, temperature):
    """An entry made `made_hours` after its date began, reaching the server `delay_hours`
    later (0: online; longer: an offline phone syncing late)."""
    day = DAY0 + timedelta(days=offset)
    made = clock.day_start(day, TZ) + timedelta(hours=made_hours)
    now = made + timedelta(hours=delay_hours)
    return ("entry", now, day, made, pain, dose, symptoms, temperature)


entry_op = st.builds(
    _entry,
    st.integers(0, DAYS),
    st.integers(0, 34),
    st.sampled_from([0, 0, 1, 20, 40, 60, 130]),
    st.integers(0, 10),
    st.sampled_from(sorted(DOSES)),
    st.sets(
        st.sampled_from(["fever", "injection_site_reaction", "nausea", "hospital_or_er_visit"])
    ),
    st.one_of(st.none(), st.sampled_from([36.8, 38.0, 39.1])),
)
operations = st.lists(
    st.one_of(
        entry_op,
        entry_op,
        entry_op,
        st.tuples(st.just("close"), instants),
        st.tuples(st.just("close"), instants),
        st.tuples(st.just("ack"), instants),
    ),
    min_size=3,
    max_size=30,
)
# Withdrawal is rare and once: an optional instant added to the sequence.
withdrawal = st.one_of(st.none(), st.none(), st.none(), instants.map(lambda i: ("withdraw", i)))


def _setup(db):
    with transaction(db):
        site, _ = auth_queries.ensure_site(db, "SITE-A", TZ, now=START)
        staff_id = db.execute(
            "INSERT INTO staff (email, password_hash, role, created_at) VALUES (?, 'x', ?, ?)",
            ["coord@site-a.test", "coordinator", clock.iso(START)],
        ).lastrowid
        db.execute(
            "INSERT INTO staff_sites (staff_id, site_id) VALUES (?, ?)", [staff_id, site["id"]]
        )
        participant, _ = participants.enroll(
            db,
            STUDY,
            actor=audit.CLI,
            site=site,
            study_id="LBP-001",
            timezone=TZ,
            injection_date=DAY0,
            baseline_back_pain=4,
            baseline_mme=10.0,
            secret_key="k" * 40,
            base_url="http://diary.test",
            code_lifetime=timedelta(days=14),
            staff_id=None,
            now=START,
        )
    return participant, staff_id


def _apply(db, op, participant, staff_id, state):
    kind, now = op[0], op[1]
    if kind == "close":
        close_days.run(db, now=now, study=STUDY, config={})
    elif kind == "ack":
        with transaction(db):
            for flag in flag_queries.list_flags(db, None, status="open")[0]:
                flags.acknowledge(db, flag=flag, actor=STAFF_ACTOR, staff_id=staff_id, now=now)
                break
    elif kind == "withdraw":
        if state["withdrawn"]:
            return
        with transaction(db):
            current = next(db.query("SELECT * FROM participants WHERE id = ?", [participant["id"]]))
            participants.update(
                db,
                actor=STAFF_ACTOR,
                participant=current,
                changes={"status": "withdrawn"},
                reason="withdrew consent",
                now=now,
            )
        state["withdrawn"] = True
    else:
        _, now, day, made, pain, dose, symptoms, temperature = op
        body = {
            "client_id": uuid.uuid4(),
            "back_pain": pain,
            "leg_pain": 0,
            "doses": DOSES[dose],
            "symptoms": sorted(symptoms),
            "temperature_c": temperature,
            "note": None,
            "device_time": made,
            "reason": "corrected" if day in state["entered"] else None,
        }
        if state["withdrawn"]:
            return  # a withdrawn participant's phone is signed out
        try:
            entries.put_entry(
                db,
                STUDY,
                participant_id=participant["id"],
                day=day,
                body=body,
                actor=PARTICIPANT_ACTOR,
                now=now,
            )
        except APIError:
            return  # outside the window, a date not begun, a wrong clock: refused, nothing written
        state["entered"].add(day)


def _from_scratch(db, participant):
    """The findings the pure rules give over the final data, as of END."""
    row = next(db.query("SELECT ended_at FROM participants WHERE id = ?", [participant["id"]]))
    closes = STUDY.window_closes_next_day_at
    closed = clock.last_closed_date(END, TZ, closes)
    through = expected_through = closed
    if row["ended_at"]:
        ended = clock.parse_iso(row["ended_at"])
        through = min(closed, clock.local_date(ended, TZ))
        expected_through = min(closed, clock.last_closed_date(ended, TZ, closes))
    span = [DAY0 + timedelta(days=i) for i in range((through - DAY0).days + 1)]
    stored = {
        date.fromisoformat(e["date"]): e
        for e in db.query("SELECT * FROM entries WHERE participant_id = ?", [participant["id"]])
    }
    records = []
    for day in span:
        e = stored.get(day)
        if e is None:
            records.append(rules.DayRecord(day, None, None))
            continue
        codes = rules.red_flag_findings(
            json.loads(e["symptoms"]),
            e["temperature_c"],
            red_flag_codes=STUDY.red_flag_codes,
            t=STUDY.thresholds,
        )
        records.append(
            rules.DayRecord(
                day, e["back_pain"], e["mme"], tuple(json.loads(e["mme_unconverted"])), tuple(codes)
            )
        )
    expected = [d for d in span if d <= expected_through]
    return (
        rules.evaluate(
            records, expected, baseline_back_pain=4, baseline_mme=10.0, t=STUDY.thresholds
        ),
        expected,
        stored,
    )


def _dates(first: str, last: str) -> set[date]:
    lo, hi = date.fromisoformat(first), date.fromisoformat(last)
    return {lo + timedelta(days=i) for i in range((hi - lo).days + 1)}


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(operations, withdrawal)
def test_flags_match_the_rules_over_the_final_data_and_every_urgent_finding_was_sent(ops, withdraw):
    with tempfile.TemporaryDirectory() as tmp:
        db = connect(str(Path(tmp) / "property.sqlite3"))
        try:
            migrate(db)
            participant, staff_id = _setup(db)
            state = {"entered": set(), "withdrawn": False}
            for op in sorted([*ops, *([withdraw] if withdraw else [])], key=lambda o: o[1]):
                _apply(db, op, participant, staff_id, state)
            close_days.run(db, now=END, study=STUDY, config={})
            _check(db, participant)
        finally:
            db.conn.close()


def _check(db, participant):
    findings, expected, stored = _from_scratch(db, participant)
    stored_flags = [
        {**f, "detail": json.loads(f["detail"])}
        for f in db.query("SELECT * FROM flags WHERE participant_id = ?", [participant["id"]])
    ]
    rank = rules.SEVERITY_RANK

    for finding in findings:
        if finding.kind == "missed_entries":
            continue
        mine = [f for f in stored_flags if f["kind"] == finding.kind]
        covered = set().union(*(_dates(f["first_date"], f["last_date"]) for f in mine))
        wanted = _dates(finding.first_date.isoformat(), finding.last_date.isoformat())
        assert wanted <= covered, (finding, mine)
        top = max((rank[f["severity"]] for f in mine), default=-1)
        assert top >= rank[finding.severity], (finding, mine)

    missing = {d for d in expected if d not in stored}
    open_missed = [
        f for f in stored_flags if f["kind"] == "missed_entries" and f["status"] != "resolved"
    ]
    listed = [date.fromisoformat(d) for f in open_missed for d in f["detail"]["dates"]]
    assert sorted(listed) == sorted(missing)  # each missing date on exactly one open flag
    for f in open_missed:
        assert _dates(f["first_date"], f["last_date"]) & set(stored) == set()
    recorded = {
        date.fromisoformat(r[0])
        for r in db.execute(
            "SELECT date FROM missed_dates WHERE participant_id = ?", [participant["id"]]
        )
    }
    assert recorded == missing
    for f in stored_flags:
        if f["outcome"] == "auto_resolved":
            assert not {date.fromisoformat(d) for d in f["detail"]["dates"]} & missing

    for f in stored_flags:
        if f["severity"] != "urgent":
            continue
        sent = [
            json.loads(r[0])
            for r in db.execute(
                "SELECT payload FROM outbox WHERE flag_id = ? AND purpose = 'flag_urgent'"
                " AND channel = 'email'",
                [f["id"]],
            )
        ]
        assert sent, f
        assert min(p["first_date"] for p in sent) == f["first_date"]
        assert max(p["last_date"] for p in sent) == f["last_date"]
        mailed = set().union(*(p["facts"].get("symptoms", []) for p in sent))
        assert set(f["detail"].get("symptoms", [])) <= mailed, (f, sent)
