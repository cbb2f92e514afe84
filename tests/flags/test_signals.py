"""Safety signals that never go quiet (SPEC §6, §7): each test is a way a real signal
was once lost, delayed or contradicted, driven through the API as the phone and the
console send it, with the jobs run as of the instant the clock reads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from entry_support import entry as body

from diary.jobs import close_days, escalations

CHICAGO = ZoneInfo("America/Chicago")
DAY0 = date(2026, 3, 1)


def at(*args):
    """Travel to a wall-clock moment in Chicago (frozen)."""
    return time_machine.travel(datetime(*args, tzinfo=CHICAGO), tick=False)


def made_at(*args) -> str:
    return datetime(*args, tzinfo=CHICAGO).isoformat()


@pytest.fixture
def study(app):
    return app.extensions["diary.study"]


def close(db, study, *args) -> dict:
    return close_days.run(db, now=datetime(*args, tzinfo=CHICAGO), study=study, config={})


def flags(db, kind=None) -> list[dict]:
    rows = db.query(
        "SELECT * FROM flags" + (" WHERE kind = ?" if kind else "") + " ORDER BY id",
        [kind] if kind else [],
    )
    return [{**r, "detail": json.loads(r["detail"]), "rule": json.loads(r["rule"])} for r in rows]


def urgent_mail(db, flag_id) -> list[dict]:
    return list(
        db.query(
            "SELECT recipient_id, subject, dedupe_key FROM outbox WHERE flag_id = ?"
            " AND purpose = 'flag_urgent' AND channel = 'email' ORDER BY id",
            [flag_id],
        )
    )


def missed_dates(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT date FROM missed_dates ORDER BY date")]


# --- 1. a new red flag after an acknowledgement reaches the site -------------------


def test_a_red_flag_added_after_acknowledgement_reopens_notifies_and_escalates(
    phone, investigator, db
):
    with at(2026, 3, 2, 8, 0):
        created = phone.put("entries/2026-03-02", body(symptoms=["injection_site_reaction"]))
        assert created.status_code == 201
        (flag,) = flags(db, "red_flag_symptom")
        assert len(urgent_mail(db, flag["id"])) == 2  # coordinator and investigator
        assert investigator.post(f"staff/flags/{flag['id']}/acknowledge").status_code == 200

    with at(2026, 3, 2, 9, 30):
        corrected = phone.put(
            "entries/2026-03-02",
            body(
                symptoms=["injection_site_reaction", "bowel_bladder_loss"],
                reason="forgot to tick it",
            ),
        )
        assert corrected.status_code == 200
        assert corrected.get_json()["alerts"]

    (flag,) = flags(db, "red_flag_symptom")
    assert flag["status"] == "open"
    assert flag["acknowledged_at"] is None and flag["reopened_at"] is not None
    assert flag["detail"]["symptoms"] == ["bowel_bladder_loss", "injection_site_reaction"]
    assert flag["detail"]["added_after_acknowledgement"] == ["bowel_bladder_loss"]
    mail = urgent_mail(db, flag["id"])
    assert len(mail) == 4  # the site heard of the new finding, once per person
    assert all("new finding" in m["subject"] for m in mail[2:])

    shown = investigator.get(f"staff/flags/{flag['id']}").get_json()
    assert shown["status"] == "open" and shown["reopened_at"]
    actions = [e["action"] for e in shown["timeline"]]
    assert actions.index("flag.acknowledge") < actions.index("flag.reopen")

    # Nobody acknowledges it this time: it escalates again, counted from the reopening.
    study = investigator.client.application.extensions["diary.study"]
    reopened = datetime(2026, 3, 2, 9, 30, tzinfo=CHICAGO)
    early = escalations.run(db, now=reopened + timedelta(minutes=119), study=study, config={})
    assert early["escalated"] == 0
    late = escalations.run(db, now=reopened + timedelta(minutes=121), study=study, config={})
    assert late["escalated"] == 1


def test_a_red_flag_after_resolution_opens_a_new_flag_but_a_note_change_does_not(
    phone, investigator, db
):
    with at(2026, 3, 2, 8, 0):
        phone.put("entries/2026-03-02", body(symptoms=["fever"]))
        (flag,) = flags(db, "red_flag_symptom")
        resolved = investigator.post(
            f"staff/flags/{flag['id']}/resolve", {"outcome": "not_ae", "note": "called, fine"}
        )
        assert resolved.status_code == 200
    with at(2026, 3, 2, 9, 0):
        phone.put("entries/2026-03-02", body(symptoms=["fever"], note="x", reason="note"))
    assert len(flags(db, "red_flag_symptom")) == 1  # nothing new was reported
    with at(2026, 3, 2, 10, 0):
        phone.put(
            "entries/2026-03-02",
            body(symptoms=["fever", "saddle_numbness"], reason="new symptom"),
        )
    old, new = flags(db, "red_flag_symptom")
    assert old["status"] == "resolved"
    assert new["status"] == "open" and new["severity"] == "urgent"
    assert "saddle_numbness" in new["detail"]["symptoms"]
    assert len(urgent_mail(db, new["id"])) == 2


def test_a_measured_fever_added_later_is_a_new_finding(phone, investigator, db):
    with at(2026, 3, 2, 8, 0):
        phone.put("entries/2026-03-02", body(symptoms=["injection_site_reaction"]))
        (flag,) = flags(db, "red_flag_symptom")
        investigator.post(f"staff/flags/{flag['id']}/acknowledge")
    with at(2026, 3, 2, 20, 0):
        phone.put(
            "entries/2026-03-02",
            body(symptoms=["injection_site_reaction"], temperature_c=38.4, reason="took it"),
        )
    (flag,) = flags(db, "red_flag_symptom")
    assert flag["status"] == "open"
    assert flag["detail"]["added_after_acknowledgement"] == ["fever"]
    assert len(urgent_mail(db, flag["id"])) == 4


# --- 2. withdrawal never swallows data received before it -------------------------


def test_data_entered_before_withdrawal_is_still_evaluated(phone, investigator, db, study):
    with at(2026, 3, 5, 21, 0):
        phone.put(
            "entries/2026-03-05",
            body(back_pain=10, doses=[{"drug": "morphine", "strength": 30, "units": 4}]),
        )
    with at(2026, 3, 6, 8, 30):  # next morning, before 5 March closes at noon
        withdrawn = investigator.patch(
            "staff/participants/LBP-001", {"status": "withdrawn", "reason": "moved away"}
        )
        assert withdrawn.status_code == 200
    close(db, study, 2026, 3, 6, 12, 5)
    kinds = {f["kind"]: f for f in flags(db)}
    assert kinds["pain_flare"]["first_date"] == "2026-03-05"
    assert kinds["opioid_threshold"]["severity"] == "urgent"
    # Nothing is expected after the withdrawal: no missed dates, however long we wait.
    close(db, study, 2026, 3, 30, 12, 5)
    (missed,) = flags(db, "missed_entries")  # the days before the first entry, and no others
    assert (missed["first_date"], missed["last_date"]) == ("2026-03-01", "2026-03-04")
    assert missed_dates(db) == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]


# --- 3. a late sync takes its date off the missed flag -----------------------------


def test_late_synced_entries_shrink_then_auto_resolve_the_missed_flag(
    phone, investigator, db, study
):
    with at(2026, 3, 1, 20, 0):
        phone.put("entries/2026-03-01", body())
    close(db, study, 2026, 3, 5, 12, 5)  # 2, 3 and 4 March closed with no entry
    (flag,) = flags(db, "missed_entries")
    assert (flag["first_date"], flag["last_date"], flag["severity"]) == (
        "2026-03-02",
        "2026-03-04",
        "high",
    )

    # The phone was offline: the entry made on the evening of 3 March arrives now.
    with at(2026, 3, 5, 14, 0):
        synced = phone.put("entries/2026-03-03", body(device_time=made_at(2026, 3, 3, 21, 0)))
        assert synced.status_code == 201
    first, second = flags(db, "missed_entries")
    assert (first["first_date"], first["last_date"], first["detail"]["count"]) == (
        "2026-03-02",
        "2026-03-02",
        1,
    )
    assert first["severity"] == "low"
    assert (second["first_date"], second["last_date"]) == ("2026-03-04", "2026-03-04")
    assert missed_dates(db) == ["2026-03-02", "2026-03-04"]

    # A staff clarification fills the other two: no missed date is left.
    for day in ("2026-03-02", "2026-03-04"):
        with at(2026, 3, 6, 9, 0):
            clarified = investigator.put(
                f"staff/participants/LBP-001/entries/{day}",
                {**body(), "reason": "reported by phone at the visit"},
            )
            assert clarified.status_code in (200, 201), clarified.get_json()
    assert {f["status"] for f in flags(db, "missed_entries")} == {"resolved"}
    assert {f["outcome"] for f in flags(db, "missed_entries")} == {"auto_resolved"}
    assert missed_dates(db) == []
    audit = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE object_type = 'flag'")]
    assert audit.count("flag.auto_resolve") == 2

    # Adherence agrees with the flags: every closed date has its entry.
    with at(2026, 3, 6, 9, 30):
        rows = investigator.get("staff/adherence").get_json()["participants"]
    (row,) = rows
    assert row["expected"] == row["entered"] == 4

    # The closing job, run again, changes nothing.
    summary = close(db, study, 2026, 3, 6, 9, 30)
    assert summary["flags_opened"] == 0 and len(flags(db, "missed_entries")) == 2


# --- 4. a missing day neither resets a flare nor hides an opioid increase -----------


def test_a_missing_day_does_not_reset_a_pain_flare_or_hide_an_opioid_increase(phone, db, study):
    with at(2026, 3, 2, 20, 0):  # baseline back pain 4, MME 10
        phone.put(
            "entries/2026-03-02",
            body(back_pain=7, doses=[{"drug": "oxycodone", "strength": 10, "units": 2}]),
        )
    with at(2026, 3, 4, 20, 0):  # 3 March was never entered
        phone.put(
            "entries/2026-03-04",
            body(back_pain=7, doses=[{"drug": "oxycodone", "strength": 10, "units": 2}]),
        )
    close(db, study, 2026, 3, 5, 12, 5)
    kinds = {f["kind"]: f for f in flags(db)}
    assert (kinds["pain_flare"]["first_date"], kinds["pain_flare"]["last_date"]) == (
        "2026-03-02",
        "2026-03-04",
    )
    assert kinds["opioid_increase"]["detail"]["max_mean_mme"] == 30
    assert kinds["pain_flare"]["rule"]["thresholds"]["flare_max_gap_days"] == 2
    assert kinds["opioid_increase"]["rule"]["thresholds"]["increase_min_entries"] == 2


# --- 6. an urgent opioid day is flagged on submission --------------------------------


def test_an_urgent_opioid_day_is_flagged_and_mailed_on_submission(phone, db):
    with at(2026, 3, 2, 9, 0):
        response = phone.put(
            "entries/2026-03-02",
            body(doses=[{"drug": "morphine", "strength": 30, "units": 4}]),
        )
        assert response.status_code == 201
    (flag,) = flags(db, "opioid_threshold")
    assert flag["severity"] == "urgent" and flag["detail"]["max_mme"] == 120
    assert flag["rule"] == {
        "id": "opioid_threshold",
        "version": 1,
        "evaluated": "on_submission",
        "thresholds": {"mme_high": 50, "mme_urgent": 90},
        "text": "daily MME above 50; urgent from 90",
    }
    assert len(urgent_mail(db, flag["id"])) == 2
    # The participant is told nothing about doses (MME is for staff only).
    assert response.get_json()["alerts"] == []


def test_an_entry_for_a_closed_date_is_evaluated_at_once(phone, db, study):
    with at(2026, 3, 1, 20, 0):
        phone.put("entries/2026-03-01", body(back_pain=7))
    close(db, study, 2026, 3, 3, 12, 5)  # 2 March closed, missed
    assert not flags(db, "pain_flare")
    with at(2026, 3, 3, 14, 0):  # made the evening of 2 March, synced after it closed
        phone.put("entries/2026-03-02", body(back_pain=8, device_time=made_at(2026, 3, 2, 22)))
    (flare,) = flags(db, "pain_flare")
    assert (flare["first_date"], flare["last_date"]) == ("2026-03-01", "2026-03-02")
    assert {f["status"] for f in flags(db, "missed_entries")} == {"resolved"}


# --- 7. an opioid with no MME factor is not invisible --------------------------------


def test_a_buprenorphine_only_day_raises_a_flag_unless_taken_at_baseline(
    participant_client, site_team, investigator, new_client, db
):
    with at(2026, 3, 1, 9, 0):
        new_drug = participant_client("LBP-001", injection_date=DAY0)
        at_baseline = participant_client("LBP-002", injection_date=DAY0)
        # Recorded at the baseline visit, with the reason the audit trail needs.
        patched = investigator.patch(
            "staff/participants/LBP-002",
            {"baseline_opioids": ["buprenorphine"], "reason": "baseline medication review"},
        )
        assert patched.status_code == 200
        assert patched.get_json()["baseline_opioids"] == ["buprenorphine"]
        unknown = investigator.patch(
            "staff/participants/LBP-002", {"baseline_opioids": ["heroin"], "reason": "typo"}
        )
        assert unknown.status_code == 422
        assert "baseline_opioids" in unknown.get_json()["error"]["fields"]
    dose = [{"drug": "buprenorphine", "strength": 8, "units": 1}]
    with at(2026, 3, 2, 9, 0):
        for client in (new_drug, at_baseline):
            assert client.put("entries/2026-03-02", body(doses=dose)).status_code == 201
    (flag,) = flags(db, "opioid_unconvertible")
    owner = db.execute("SELECT study_id FROM participants WHERE id = ?", [flag["participant_id"]])
    assert owner.fetchone()[0] == "LBP-001"
    assert flag["severity"] == "high" and flag["detail"]["drugs"] == ["buprenorphine"]


# --- the flag records why, and its timeline shows what happened -----------------------


def test_flag_detail_shows_rule_and_timeline(phone, investigator, db):
    with at(2026, 3, 2, 8, 0):
        phone.put("entries/2026-03-02", body(symptoms=["allergic_reaction"]))
        (flag,) = flags(db, "red_flag_symptom")
    with at(2026, 3, 2, 8, 5):
        investigator.post(f"staff/flags/{flag['id']}/acknowledge")
    with at(2026, 3, 2, 8, 20):
        investigator.post(
            f"staff/flags/{flag['id']}/resolve", {"outcome": "not_ae", "note": "mild rash"}
        )
    shown = investigator.get(f"staff/flags/{flag['id']}").get_json()
    assert shown["rule"]["id"] == "red_flag_symptom"
    assert shown["rule"]["thresholds"] == {"fever_c": 38.0}
    events = [(e["type"], e["action"]) for e in shown["timeline"]]
    assert events[0] == ("audit", "flag.open")
    assert ("notification", "email") in events
    assert events[-1] == ("audit", "flag.resolve")
    assert all(e["at"] for e in shown["timeline"])
    # Staff e-mails, never the participant's note or secrets, appear in the timeline.
    assert "mild rash" not in json.dumps([e for e in shown["timeline"] if e["type"] != "audit"])


def test_instants_in_the_timeline_are_utc(phone, investigator, db):
    with at(2026, 3, 2, 8, 0):
        phone.put("entries/2026-03-02", body(symptoms=["fever"]))
    (flag,) = flags(db, "red_flag_symptom")
    shown = investigator.get(f"staff/flags/{flag['id']}").get_json()
    first = datetime.fromisoformat(shown["timeline"][0]["at"])
    assert first.utcoffset() == timedelta(0)
    assert first == datetime(2026, 3, 2, 8, 0, tzinfo=CHICAGO).astimezone(UTC)


def test_enrollment_records_the_opioids_taken_at_baseline(investigator, db):
    with at(2026, 3, 1, 9, 0):
        enrolled = investigator.post(
            "staff/participants",
            {
                "study_id": "LBP-003",
                "site": "SITE-A",
                "timezone": "America/Chicago",
                "injection_date": "2026-03-01",
                "baseline_back_pain": 5,
                "baseline_mme": 12,
                "baseline_opioids": ["buprenorphine", "tramadol"],
            },
        )
        assert enrolled.status_code == 201, enrolled.get_json()
        assert enrolled.get_json()["baseline_opioids"] == ["buprenorphine", "tramadol"]
    stored = db.execute("SELECT baseline_opioids FROM participants").fetchone()[0]
    assert json.loads(stored) == ["buprenorphine", "tramadol"]
    after = db.execute(
        "SELECT after FROM audit_log WHERE action = 'participant.enroll'"
    ).fetchone()[0]
    assert json.loads(after)["baseline_opioids"] == ["buprenorphine", "tramadol"]


# --- 5. a corrected day 0 leaves no flag contradicting adherence -----------------------


def test_moving_day_zero_later_takes_its_dates_off_missed_flags_and_earlier_closes_them(
    participant_client, site_team, investigator, db, study
):
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=DAY0)
    close(db, study, 2026, 3, 6, 12, 5)  # 1–5 March closed without an entry
    (flag,) = flags(db, "missed_entries")
    assert flag["detail"]["count"] == 5

    with at(2026, 3, 6, 13, 0):  # the injection was really on 4 March
        moved = investigator.patch(
            "staff/participants/LBP-001/injections/2026-03-01",
            {"date": "2026-03-04", "reason": "date copied from the wrong visit"},
        )
        assert moved.status_code == 200, moved.get_json()
        adherence = investigator.get("staff/adherence").get_json()["participants"][0]
    (flag,) = flags(db, "missed_entries")
    assert (flag["first_date"], flag["last_date"], flag["detail"]["count"]) == (
        "2026-03-04",
        "2026-03-05",
        2,
    )
    assert missed_dates(db) == ["2026-03-04", "2026-03-05"]
    assert adherence["expected"] - adherence["entered"] == 2

    with at(2026, 3, 6, 13, 30):  # and back to 2 March after all
        investigator.patch(
            "staff/participants/LBP-001/injections/2026-03-04",
            {"date": "2026-03-02", "reason": "checked against the pharmacy log"},
        )
    close(db, study, 2026, 3, 6, 13, 35)
    open_dates = sorted(
        d
        for f in flags(db, "missed_entries")
        if f["status"] != "resolved"
        for d in f["detail"]["dates"]
    )
    assert open_dates == ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05"]
    assert missed_dates(db) == open_dates


# --- found in review: more ways an opioid signal could go quiet or cry wolf ----------


def test_a_dose_corrected_upward_on_an_acknowledged_or_resolved_day_reaches_the_site(
    phone, investigator, db
):
    morphine = lambda units: [{"drug": "morphine", "strength": 30, "units": units}]  # noqa: E731
    with at(2026, 3, 2, 9, 0):
        phone.put("entries/2026-03-02", body(doses=morphine(4)))  # 120 MME: urgent
        (flag,) = flags(db, "opioid_threshold")
        investigator.post(f"staff/flags/{flag['id']}/acknowledge")
    with at(2026, 3, 2, 10, 0):
        phone.put("entries/2026-03-02", body(doses=morphine(20), reason="took more"))
    (flag,) = flags(db, "opioid_threshold")
    assert flag["status"] == "open" and flag["detail"]["max_mme"] == 600
    assert flag["detail"]["added_after_acknowledgement"] == ["MME per day up to 600"]
    assert len(urgent_mail(db, flag["id"])) == 4

    with at(2026, 3, 2, 11, 0):
        investigator.post(
            f"staff/flags/{flag['id']}/resolve", {"outcome": "not_ae", "note": "pharmacy error"}
        )
    with at(2026, 3, 2, 11, 30):
        again = phone.put(
            "entries/2026-03-02",
            body(doses=[{"drug": "morphine", "strength": 60, "units": 20}], reason="more again"),
        )
        assert again.status_code == 200, again.get_json()
    old, new = flags(db, "opioid_threshold")
    assert old["status"] == "resolved" and new["status"] == "open"
    assert new["detail"]["max_mme"] == 1200 and len(urgent_mail(db, new["id"])) == 2


def test_a_high_dose_corrected_further_upward_after_resolution_is_raised_again(
    phone, investigator, db
):
    """Staff resolved a day at 60 MME; the phone then corrects it to 80 (still high, not
    urgent): more than anyone reviewed, so it is a new flag, not silence."""
    morphine = lambda units: [{"drug": "morphine", "strength": 10, "units": units}]  # noqa: E731
    with at(2026, 3, 2, 9, 0):
        phone.put("entries/2026-03-02", body(doses=morphine(6)))  # 60 MME: high
        (flag,) = flags(db, "opioid_threshold")
        assert flag["severity"] == "high"
        investigator.post(
            f"staff/flags/{flag['id']}/resolve", {"outcome": "not_ae", "note": "post-op"}
        )
    with at(2026, 3, 2, 10, 0):
        same = phone.put("entries/2026-03-02", body(doses=morphine(6), leg_pain=3, reason="leg"))
        assert same.status_code == 200, same.get_json()
    assert len(flags(db, "opioid_threshold")) == 1  # nothing above what was reviewed
    with at(2026, 3, 2, 11, 0):
        more = phone.put("entries/2026-03-02", body(doses=morphine(8), reason="took two more"))
        assert more.status_code == 200, more.get_json()
    old, new = flags(db, "opioid_threshold")
    assert old["status"] == "resolved" and old["detail"]["max_mme"] == 60
    assert (new["status"], new["severity"], new["detail"]["max_mme"]) == ("open", "high", 80)

    # Resolved again at 80: what follows at no more than 80 raises nothing a third time.
    with at(2026, 3, 2, 11, 30):
        investigator.post(
            f"staff/flags/{new['id']}/resolve", {"outcome": "not_ae", "note": "as prescribed"}
        )
        again = phone.put(
            "entries/2026-03-02", body(doses=morphine(8), leg_pain=5, reason="leg worse")
        )
        assert again.status_code == 200, again.get_json()
    assert [f["status"] for f in flags(db, "opioid_threshold")] == ["resolved", "resolved"]
    # The next day over the limit is a finding of its own, from that day on.
    with at(2026, 3, 3, 9, 0):
        phone.put("entries/2026-03-03", body(doses=morphine(7)))
    *_, latest = flags(db, "opioid_threshold")
    assert (latest["first_date"], latest["detail"]["max_mme"]) == ("2026-03-03", 70)
    assert [f["status"] for f in flags(db, "opioid_threshold")] == ["resolved", "resolved", "open"]


def test_a_day_entered_out_of_order_joins_its_episode_instead_of_a_second_alert(phone, db):
    urgent = [{"drug": "morphine", "strength": 30, "units": 4}]
    with at(2026, 3, 3, 9, 0):
        phone.put("entries/2026-03-03", body(doses=urgent))
        phone.put("entries/2026-03-02", body(doses=urgent))  # yesterday, filled in late
    (flag,) = flags(db, "opioid_threshold")
    assert (flag["first_date"], flag["last_date"]) == ("2026-03-02", "2026-03-03")


def test_after_a_resolved_urgent_day_a_merely_high_day_is_not_urgent(
    phone, investigator, db, study
):
    with at(2026, 3, 2, 9, 0):
        phone.put(
            "entries/2026-03-02", body(doses=[{"drug": "morphine", "strength": 30, "units": 4}])
        )
        (flag,) = flags(db, "opioid_threshold")
        investigator.post(
            f"staff/flags/{flag['id']}/resolve", {"outcome": "not_ae", "note": "post-op"}
        )
    with at(2026, 3, 3, 9, 0):
        phone.put(
            "entries/2026-03-03", body(doses=[{"drug": "morphine", "strength": 30, "units": 2}])
        )
    close(db, study, 2026, 3, 5, 12, 5)
    old, new = flags(db, "opioid_threshold")
    assert new["severity"] == "high" and new["detail"]["max_mme"] == 60
    assert urgent_mail(db, new["id"]) == []


def test_a_withdrawn_participants_missed_flag_stays_within_what_was_due(
    participant_client, site_team, investigator, db, study
):
    with at(2026, 3, 1, 9, 0):
        participant_client("LBP-001", injection_date=DAY0)
    close(db, study, 2026, 3, 4, 12, 5)  # 1–3 March missed
    with at(2026, 3, 4, 13, 0):
        investigator.patch("staff/participants/LBP-001", {"status": "withdrawn", "reason": "moved"})
    with at(2026, 3, 20, 9, 0):
        investigator.patch(
            "staff/participants/LBP-001/injections/2026-03-01",
            {"date": "2026-03-02", "reason": "wrong visit date"},
        )
    (flag,) = [f for f in flags(db, "missed_entries") if f["status"] != "resolved"]
    assert flag["detail"]["dates"] == ["2026-03-02", "2026-03-03"]
    assert missed_dates(db) == ["2026-03-02", "2026-03-03"]


# --- an acknowledged missed-entries flag that grows goes back to open -------------


@pytest.mark.parametrize("late_sync", [False, True], ids=["no late sync", "a late sync"])
def test_an_acknowledged_missed_flag_that_grows_reopens_whatever_else_the_run_does(
    phone, investigator, db, study, late_sync
):
    """3-02..3-04 missed and acknowledged; 3-05 closes missed too. An offline entry for
    3-02 that syncs the same morning takes 3-02 off the flag in the same run: the flag
    still gained 3-05 since staff looked, and goes back to open either way."""
    with at(2026, 3, 1, 20, 0):
        assert phone.put("entries/2026-03-01", body()).status_code == 201
    close(db, study, 2026, 3, 5, 12, 15)
    (flag,) = flags(db, "missed_entries")
    assert (flag["first_date"], flag["last_date"]) == ("2026-03-02", "2026-03-04")
    with at(2026, 3, 5, 13, 0):
        assert investigator.post(f"staff/flags/{flag['id']}/acknowledge").status_code == 200
    if late_sync:
        with at(2026, 3, 6, 9, 0):
            r = phone.put("entries/2026-03-02", body(device_time=made_at(2026, 3, 2, 20, 0)))
            assert r.status_code == 201
    close(db, study, 2026, 3, 6, 12, 15)
    (flag,) = flags(db, "missed_entries")
    first = "2026-03-03" if late_sync else "2026-03-02"
    assert (flag["first_date"], flag["last_date"]) == (first, "2026-03-05")
    assert flag["status"] == "open" and flag["reopen_count"] == 1
    assert "2026-03-05" in flag["detail"]["added_after_acknowledgement"]
