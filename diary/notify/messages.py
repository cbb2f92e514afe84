"""What staff and participants read: subjects, e-mail bodies and push payloads.

Flag payloads carry only whitelisted facts (codes and numbers), never the
participant's free-text note: mail leaves the building and lands on phones.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .. import clock
from ..study import Study

KIND_LABELS = {
    "red_flag_symptom": "Red-flag symptom",
    "pain_flare": "Pain flare",
    "opioid_threshold": "Opioid use above threshold",
    "opioid_increase": "Opioid use increase",
    "opioid_unconvertible": "Opioid without an MME factor",
    "missed_entries": "Missed diary entries",
    "questionnaire_missed": "Missed questionnaire",
    "questionnaire_answer": "Questionnaire answer to review",
}

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Facts from a flag's detail that may travel in a notification: numbers, or
# lists of checklist codes. Anything else (free text above all) stays home.
_NUMERIC_FACTS = (
    "temperature_c",
    "max_mme",
    "max_back_pain",
    "baseline_back_pain",
    "baseline_mme",
    "max_mean_mme",
    "count",
    "days",
)
_CODE_LIST_FACTS = ("symptoms", "codes", "red_flags")

REMINDER_URL = "/#/today"


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " "))


def flag_path(flag_id: int) -> str:
    return f"/staff/#/flags/{flag_id}"


def safe_facts(detail: dict[str, Any]) -> dict[str, Any]:
    """The whitelisted, text-free part of a flag's detail."""
    facts: dict[str, Any] = {}
    for key in _NUMERIC_FACTS:
        value = detail.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            facts[key] = value
    for key in _CODE_LIST_FACTS:
        value = detail.get(key)
        if isinstance(value, list):
            codes = [v for v in value if isinstance(v, str) and _CODE.match(v)]
            if codes:
                facts["symptoms"] = sorted(set(facts.get("symptoms", [])) | set(codes))
    return facts


def flag_payload(flag: dict[str, Any]) -> dict[str, Any]:
    """Structured content of a flag notification, stored with the outbox row."""
    return {
        "flag_id": flag["id"],
        "study_id": flag["study_id"],
        "site": flag["site"],
        "site_timezone": flag["site_timezone"],
        "kind": flag["kind"],
        "severity": flag["severity"],
        "first_date": flag["first_date"],
        "last_date": flag["last_date"],
        "opened_at": flag["opened_at"],
        "facts": safe_facts(flag["detail"]),
        "url": flag_path(flag["id"]),
    }


def _dates(first: str, last: str) -> str:
    return first if first == last else f"{first} to {last}"


def urgent_subject(flag: dict[str, Any], *, new_finding: bool = False) -> str:
    return (
        f"URGENT{' (new finding)' if new_finding else ''}: {flag['study_id']}"
        f" – {kind_label(flag['kind'])}"
        f" ({_dates(flag['first_date'], flag['last_date'])})"
    )


def escalation_subject(flag: dict[str, Any], minutes: int) -> str:
    return (
        f"ESCALATED: {flag['study_id']} – urgent {kind_label(flag['kind']).lower()}"
        f" not acknowledged after {_duration(minutes)}"
    )


def digest_subject(count: int, local_day: str) -> str:
    return f"Daily digest {local_day}: {count} new flag{'s' if count != 1 else ''}"


def _duration(minutes: int) -> str:
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"


def _local(stamp: str, tz: str) -> str:
    when: datetime = clock.parse_iso(stamp).astimezone(clock.zone(tz))
    return when.strftime("%Y-%m-%d %H:%M %Z")


def _fact_lines(facts: dict[str, Any], study: Study) -> list[str]:
    lines = []
    if facts.get("symptoms"):
        labels = []
        for code in facts["symptoms"]:
            symptom = study.symptom(code)
            labels.append(symptom.label if symptom else code)
        lines.append("Reported:  " + "; ".join(labels))
    names = {
        "temperature_c": "Temperature (°C)",
        "max_mme": "Highest daily MME",
        "max_mean_mme": "Highest mean MME",
        "baseline_mme": "Baseline MME",
        "max_back_pain": "Highest back pain",
        "baseline_back_pain": "Baseline back pain",
        "count": "Days missed",
        "days": "Days",
    }
    for key, name in names.items():
        if key in facts:
            lines.append(f"{name}: {facts[key]}")
    return lines


def _flag_block(p: dict[str, Any], study: Study, base_url: str) -> list[str]:
    return [
        f"Participant: {p['study_id']} (site {p['site']})",
        f"Flag:      {kind_label(p['kind'])} ({p['kind']})",
        f"Severity:  {p['severity']}",
        f"Dates:     {_dates(p['first_date'], p['last_date'])}",
        f"Opened:    {_local(p['opened_at'], p['site_timezone'])}",
        *_fact_lines(p.get("facts", {}), study),
        "",
        "Open the flag in the staff console:",
        f"{base_url.rstrip('/')}{p['url']}",
    ]


def sae_payload(sae: dict[str, Any], stage: str) -> dict[str, Any]:
    """What an SAE-clock notice says: no participant data beyond the study ID."""
    return {
        "clock_id": sae["id"],
        "stage": stage,
        "study_id": sae["study_id"],
        "trigger": sae["trigger"],
        "started_at": sae["started_at"],
        "due_at": sae["due_at"],
        "flag_id": sae["flag_id"],
        "adverse_event_id": sae["adverse_event_id"],
        "url": "/staff/#/serious-events",
    }


def sae_subject(p: dict[str, Any]) -> str:
    if p["stage"] == "warning":
        return f"Serious event {p['study_id']}: 12 hours left to report it to the sponsor"
    return f"OVERDUE: serious event {p['study_id']} not reported to the sponsor within 24 hours"


def email_body(row: dict[str, Any], study: Study, base_url: str) -> str:
    """Plain-text body of an outbox e-mail row."""
    p = row["payload"]
    purpose = row["purpose"]
    if purpose == "flag_urgent":
        lines = [f"An urgent flag was raised in {study.id}.", ""]
        if p.get("site_unstaffed"):
            lines += [
                f"Site {p['site']} has no active coordinator or investigator, so this comes"
                " to the study administrators: make sure someone contacts the participant,"
                " and give the site its staff.",
                "",
            ]
        lines += [
            *_flag_block(p, study, base_url),
            "",
            "Please acknowledge it in the console. If nobody acknowledges it within "
            f"{_duration(study.escalation_after_minutes)}, it is escalated to the site's "
            "investigators and the study administrators.",
        ]
    elif purpose == "escalation":
        lines = [
            f"An urgent flag in {study.id} has not been acknowledged for "
            f"{_duration(p['after_minutes'])}.",
            "",
            *_flag_block(p, study, base_url),
            "",
            "Please make sure someone contacts the participant and acknowledges the flag.",
        ]
    elif purpose == "digest":
        lines = [
            f"New flags at your sites since your last digest ({study.id}, {p['local_date']}):",
            "",
        ]
        unstaffed = p.get("unstaffed_sites") or []
        if unstaffed:
            lines[1:1] = [
                "",
                f"{', '.join(unstaffed)} {'has' if len(unstaffed) == 1 else 'have'} no active"
                " coordinator or investigator, so their flags come to the study"
                " administrators: give them their staff.",
            ]
        for item in p["flags"]:
            lines.append(
                f"- {item['study_id']} (site {item['site']}): {kind_label(item['kind'])},"
                f" {item['severity']}, {_dates(item['first_date'], item['last_date'])}"
                f" – {base_url.rstrip('/')}{flag_path(item['id'])}"
            )
        lines += [
            "",
            f"Open flags at your sites right now: {p['open_flags']}.",
            f"Flag inbox: {base_url.rstrip('/')}/staff/#/flags",
        ]
    elif purpose == "sae_clock":
        what = (
            "reported a hospital or emergency-room visit"
            if p["trigger"] == "hospital_or_er_visit"
            else "has an adverse event marked serious"
        )
        tz = study.timezone
        lines = [
            f"Participant {p['study_id']} ({study.id}) {what}.",
            "",
            f"Started:   {_local(p['started_at'], tz)}",
            f"Due:       {_local(p['due_at'], tz)} (24 hours)",
            "",
            "Serious adverse events are reported to the sponsor within 24 hours of the site "
            "learning of them."
            + (" That time has now passed." if p["stage"] == "overdue" else " 12 hours are left."),
            "Assess the event, report it, and mark it reported in the console:",
            f"{base_url.rstrip('/')}{p['url']}",
        ]
    else:
        raise ValueError(f"no e-mail for purpose {purpose!r}")
    lines += ["", "-- ", f"{study.title}", "Participant Diary (automatic message; do not reply)"]
    return "\n".join(lines) + "\n"


def push_message(row: dict[str, Any]) -> dict[str, Any]:
    """The JSON the service worker shows: title, body, url to open, tag."""
    p = row["payload"]
    purpose = row["purpose"]
    if purpose == "reminder" and "occurrence_id" in p:
        last = p["which"] == "last_day"
        return {
            "title": "A questionnaire from your study",
            "body": f"{p['title']}: today is the last day to answer it."
            if last
            else f"{p['title']} is open: it takes a few minutes.",
            "url": f"/#/questionnaire?id={p['occurrence_id']}",
            "tag": f"questionnaire-{p['occurrence_id']}-{p['which']}",
        }
    if purpose == "reminder":
        return {
            "title": "Time for your diary",
            "body": "Today's entry is still missing. It takes less than a minute.",
            "url": REMINDER_URL,
            "tag": f"reminder-{p['date']}",
        }
    if purpose in ("flag_urgent", "escalation"):
        prefix = "Escalated" if purpose == "escalation" else "Urgent"
        return {
            "title": f"{prefix}: {p['study_id']} – {kind_label(p['kind'])}",
            "body": f"{p['severity']} · {_dates(p['first_date'], p['last_date'])} · site {p['site']}",
            "url": p["url"],
            "tag": f"flag-{p['flag_id']}",
        }
    if purpose == "sae_clock":
        return {
            "title": sae_subject(p),
            "body": "Report the serious event to the sponsor and mark it in the console.",
            "url": p["url"],
            "tag": f"sae-{p['clock_id']}-{p['stage']}",
        }
    raise ValueError(f"no push for purpose {purpose!r}")
