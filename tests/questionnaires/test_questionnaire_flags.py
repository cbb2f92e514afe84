"""Questionnaire flags: a missed window (low, in the digest) that an answer sent late
resolves, and the protocol's rules on answers and scores, urgent ones mailed at once
(SPEC §13)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import pytest
import time_machine

from diary import clock
from diary.jobs import digests
from diary.jobs import questionnaires as schedule_job
from diary.notify import messages
from diary.study import StudyError, parse

DAY0 = date(2026, 3, 1)


def at(*args):
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def run_job(app, db, when):
    with time_machine.travel(when, tick=False), app.app_context():
        return schedule_job.run(
            db, now=when, study=app.extensions["diary.study"], config=app.config
        )


def flags(db, kind):
    return [
        {**r, "detail": json.loads(r["detail"])}
        for r in db.query(
            "SELECT id, kind, severity, status, outcome, episode_key, detail FROM flags"
            " WHERE kind = ? ORDER BY id",
            [kind],
        )
    ]


def answer(answers):
    return {
        "client_id": str(uuid.uuid4()),
        "answers": answers,
        "device_time": clock.iso(clock.now()),
    }


@pytest.fixture
def phone(participant_client, make_staff):
    make_staff("coordinator@a.test", "coordinator", ("SITE-A",))
    with at(2026, 3, 1, 15):
        return participant_client("LBP-001", injection_date=DAY0)


def occurrence(phone, instrument="all-types"):
    listed = phone.get("questionnaires").get_json()["questionnaires"]
    return next(q for q in listed if q["instrument"] == instrument)


def test_a_missed_questionnaire_raises_one_low_flag_and_a_late_answer_resolves_it(app, db, phone):
    with at(2026, 3, 1, 16):
        target = occurrence(phone)
        made = answer({"walk": "far", "days_off": 0})  # answered offline on day 0 …
    run_job(app, db, datetime(2026, 3, 1, 16, tzinfo=UTC))
    run_job(app, db, datetime(2026, 3, 4, 7, tzinfo=UTC))  # … the window closed meanwhile
    run_job(app, db, datetime(2026, 3, 4, 8, tzinfo=UTC))
    [missed] = flags(db, "questionnaire_missed")
    assert (missed["severity"], missed["status"]) == ("low", "open")
    assert missed["detail"]["title"] == "Every item type (test only)"
    with at(2026, 3, 5, 12):  # … and reached the server the day after
        sent = phone.put(f"questionnaires/{target['id']}/response", made)
    assert sent.status_code == 201 and sent.get_json()["synced_late"] is True
    [resolved] = flags(db, "questionnaire_missed")
    assert (resolved["status"], resolved["outcome"]) == ("resolved", "auto_resolved")
    assert sent.get_json()["status"] == "completed"


def test_an_answer_meeting_an_urgent_rule_mails_the_site_at_once(app, db, phone):
    with at(2026, 3, 1, 16):
        target = occurrence(phone)
        sent = phone.put(
            f"questionnaires/{target['id']}/response",
            answer({"walk": "none", "aid": False, "days_off": 7}),
        )
    assert sent.status_code == 201
    by_rule = {f["detail"]["rule"]: f for f in flags(db, "questionnaire_answer")}
    assert set(by_rule) == {"cannot_walk", "effort_high"}  # effort = 2 + 7 = 9
    assert by_rule["cannot_walk"]["severity"] == "urgent"
    assert (
        by_rule["effort_high"]["severity"] == "high"
        and by_rule["effort_high"]["detail"]["value"] == 9
    )
    mails = db.execute(
        "SELECT count(*) FROM outbox WHERE purpose = 'flag_urgent' AND flag_id = ?",
        [by_rule["cannot_walk"]["id"]],
    ).fetchone()[0]
    assert mails == 1


def test_an_answer_meeting_no_rule_raises_nothing(app, db, phone):
    with at(2026, 3, 1, 16):
        target = occurrence(phone)
        phone.put(
            f"questionnaires/{target['id']}/response",
            answer({"walk": "some", "aid": False, "days_off": 1}),
        )
    assert flags(db, "questionnaire_answer") == []


def test_a_rule_must_name_a_known_score_and_one_test():
    from questionnaire_support import ROOT

    base = (ROOT / "study.toml").read_text() + (
        '\n[[questionnaires]]\ninstrument = "peg"\nanchor = "enrollment"\noffsets_days = [0]\n'
        'window_before_days = 0\nwindow_after_days = 1\n[[questionnaires.scores]]\nname = "s"\nmethod = "mean"\n'
    )
    for rule, problem in [
        (
            'name = "x"\ntext = "t"\nseverity = "high"\nscore = "nope"\nat_least = 1\n',
            "no score named 'nope'",
        ),
        (
            'name = "x"\ntext = "t"\nseverity = "high"\nscore = "s"\n',
            "give at_least / at_most, or answer_in",
        ),
        ('name = "x"\ntext = "t"\nseverity = "loud"\nscore = "s"\nat_least = 1\n', "severity"),
    ]:
        with pytest.raises(StudyError, match=problem):
            parse(base + "[[questionnaires.flags]]\n" + rule, "study.toml")


def test_a_missed_questionnaire_is_in_the_sites_morning_digest(app, db, phone):
    run_job(app, db, datetime(2026, 3, 1, 16, tzinfo=UTC))
    run_job(app, db, datetime(2026, 3, 4, 7, tzinfo=UTC))  # closed at midnight in Chicago
    when = datetime(2026, 3, 4, 14, 5, tzinfo=UTC)  # 08:05 in Chicago
    with time_machine.travel(when, tick=False), app.app_context():
        digests.run(db, now=when, study=app.extensions["diary.study"], config=app.config)
    [payload] = [
        json.loads(r[0]) for r in db.execute("SELECT payload FROM outbox WHERE purpose = 'digest'")
    ]
    assert [f["kind"] for f in payload["flags"]] == ["questionnaire_missed"]
    body = messages.email_body(
        {"purpose": "digest", "payload": payload},
        app.extensions["diary.study"],
        "http://diary.test",
    )
    assert "Missed questionnaire" in body


def test_a_threshold_on_a_choice_item_compares_the_options_score(tmp_path, participant_client):
    """PEG pain at 9 or more: the stored answer is the option's code, the rule its score."""
    from questionnaire_support import ROOT

    text = (
        (ROOT / "study.toml")
        .read_text()
        .replace(
            'name = "peg_score"\nmethod = "mean"\nmax_missing = 0\n',
            'name = "peg_score"\nmethod = "mean"\nmax_missing = 0\n\n[[questionnaires.flags]]\n'
            'name = "severe_pain"\nitem = "pain"\nat_least = 9\nseverity = "high"\n'
            'text = "average pain 9 or more"\n',
        )
    )
    study = parse(text, str(ROOT / "study.toml"))
    [rule] = next(q for q in study.questionnaires if q.instrument == "peg").flags
    from diary.questionnaires import catalog, scoring

    peg = catalog.for_study(study)["peg"]
    assert rule.met(scoring.value_of(peg.item("pain"), "10"))
    assert not rule.met(scoring.value_of(peg.item("pain"), "8"))


def test_the_same_schedule_twice_or_a_rule_on_an_unknown_item_is_refused():
    from questionnaire_support import ROOT

    from diary.questionnaires import catalog
    from diary.questionnaires.instruments import InstrumentError

    base = (ROOT / "study.toml").read_text()
    twice = base + (
        '\n[[questionnaires]]\ninstrument = "peg"\nanchor = "each_injection"\n'
        "offsets_days = [365]\nwindow_before_days = 3\nwindow_after_days = 7\n"
    )
    with pytest.raises(StudyError, match=r"peg \(each_injection\) scheduled twice"):
        parse(twice, "study.toml")
    on_text = base.replace(
        'name = "pgic"\nmethod = "sum"\ndigits = 0\n',
        'name = "pgic"\nmethod = "sum"\ndigits = 0\n\n[[questionnaires.flags]]\nname = "x"\n'
        'item = "change"\nat_least = 6\nseverity = "high"\ntext = "worse"\n',
    )
    assert catalog.for_study(parse(on_text, str(ROOT / "study.toml")))  # scored options: fine
    with pytest.raises(InstrumentError, match="no item 'nope'"):
        catalog.for_study(
            parse(on_text.replace('item = "change"', 'item = "nope"'), str(ROOT / "study.toml"))
        )
