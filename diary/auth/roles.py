"""What each staff role may do (SPEC §2). Scoping by site is separate: see site_ids."""

from __future__ import annotations

ROLES = ("coordinator", "investigator", "admin")

PERMISSIONS: dict[str, frozenset[str]] = {
    "participants.read": frozenset(ROLES),
    "participants.manage": frozenset(ROLES),
    # Taking back a recorded injection moves day 0 or a watch window: a clinical call.
    "injections.correct": frozenset({"investigator", "admin"}),
    "flags.read": frozenset(ROLES),
    "flags.acknowledge": frozenset(ROLES),
    # Confirming an adverse event is a clinical judgement: investigators only.
    "flags.resolve": frozenset({"investigator"}),
    # Closing a non-clinical flag (missed entries, a missed questionnaire) with a reason is
    # the coordinators' daily work; which kinds are non-clinical is flags.service's rule.
    "flags.close": frozenset({"coordinator", "investigator"}),
    # The log of attempts to reach a participant about a flag.
    "flags.contact": frozenset({"coordinator", "investigator"}),
    "adverse_events.record": frozenset({"investigator"}),
    "adverse_events.correct": frozenset({"investigator"}),
    # Telling the sponsor is often done by the coordinator for the investigator.
    "adverse_events.report": frozenset(ROLES),
    # An electronic signature is the investigator's (SPEC §14).
    "signatures.sign": frozenset({"investigator"}),
    "signatures.read": frozenset(ROLES),
    "participants.lock": frozenset({"investigator", "admin"}),
    "participants.unlock": frozenset({"admin"}),
    "study.freeze": frozenset({"admin"}),
    "change_requests.record": frozenset(ROLES),
    "change_requests.apply": frozenset(ROLES),
    "entries.clarify": frozenset(ROLES),
    "exports.read": frozenset(ROLES),
    "audit.read": frozenset({"admin"}),
    "access_log.read": frozenset({"admin"}),
    "jobs.read": frozenset({"admin"}),
    "staff.manage": frozenset({"admin"}),
    "sites.manage": frozenset({"admin"}),
}


def allows(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]
