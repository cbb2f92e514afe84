"""The participant's own profile and the staff's participant management."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request
from flask_login import current_user

from .. import adherence, clock
from ..access import participant_required, staff_required
from ..auth import ParticipantUser, sign_in
from ..auth import queries as auth_queries
from ..auth.schemas import ActivateSchema
from ..db import get_db, transaction
from ..errors import APIError, invalid
from ..flags import queries as flag_queries
from ..flags import service as flag_service
from ..flags.schemas import AdverseEventInSchema, AdverseEventListSchema, AdverseEventSchema
from ..notify import queries as notify_queries
from ..notify.schemas import ReachabilitySchema
from ..schemas import Blueprint, OkSchema
from ..signoff import locks
from ..signoff.schemas import ReasonSchema
from ..study import current_study
from . import queries, service, sync_problems
from .schemas import (
    ActivationCodeSchema,
    EnrolledSchema,
    EnrollSchema,
    InjectionCorrectSchema,
    InjectionSchema,
    InjectionVoidSchema,
    ListQuerySchema,
    ParticipantListSchema,
    ParticipantSchema,
    ProfilePatchSchema,
    ProfileSchema,
    StaffPatchSchema,
    SyncProblemInSchema,
)
from .scope import scoped_participant

blp = Blueprint("participants", __name__, description="Participants and their profiles")


# --- the participant's own profile -----------------------------------------


@blp.route("/me", methods=["GET"])
@participant_required
@blp.response(200, ProfileSchema)
def get_me():
    db = get_db()
    return service.profile(
        db, current_study(), queries.get_by_id(db, current_user.participant_id), now=clock.now()
    )


@blp.route("/sync-problems", methods=["POST"])
@participant_required
@blp.arguments(SyncProblemInSchema)
@blp.response(200, OkSchema)
def report_sync_problem(body):
    """The phone could not send an entry or answers (refused for good, or server errors
    again and again): the study team sees it with the participant's reachability."""
    sync_problems.report(get_db(), participant=current_user, body=body, now=clock.now())
    return {"ok": True}


@blp.route("/me", methods=["PATCH"])
@participant_required
@blp.arguments(ProfilePatchSchema)
@blp.response(200, ProfileSchema)
def patch_me(body):
    db = get_db()
    now = clock.now()
    if "notifications_enabled" in body:
        body["notifications_enabled"] = int(body["notifications_enabled"])
    with transaction(db):
        participant = queries.get_by_id(db, current_user.participant_id)
        updated = service.update(
            db,
            actor=current_user.actor,
            participant=participant,
            changes=body,
            reason=None,
            now=now,
        )
    return service.profile(db, current_study(), updated, now=now)


@blp.route("/participant/activate", methods=["POST"])
@blp.arguments(ActivateSchema)
@blp.response(200, ProfileSchema)
@blp.alt_response(400, description="Wrong, used or expired code (one message for all)")
@blp.alt_response(429, description="Too many attempts from this client")
def activate(body):
    db = get_db()
    cfg = current_app.config
    now = clock.now()
    with transaction(db):
        participant_id = service.activate(
            db,
            code=body["code"],
            client_key=request.remote_addr or "unknown",
            secret_key=cfg["SECRET_KEY"],
            max_failures=cfg["ACTIVATION_MAX_FAILURES"],
            window=cfg["ACTIVATION_FAILURE_WINDOW"],
            now=now,
        )
        token = None
        if participant_id:
            token = auth_queries.create_session(
                db, kind="participant", participant_id=participant_id, now=now
            )
    if not participant_id:
        raise APIError(
            400,
            "This code did not work. Check it, or ask your study team for a new one.",
            code="invalid_code",
        )
    participant = queries.get_by_id(db, participant_id)
    session_id = auth_queries.session_by_token(db, token)["id"]
    sign_in(
        ParticipantUser(
            token, session_id, participant_id, participant["study_id"], participant["site_id"]
        )
    )
    return service.profile(db, current_study(), participant, now=now)


# --- staff -------------------------------------------------------------------


def _detail(db, participant: dict) -> dict:
    return {
        **participant,
        "injections": queries.injections(db, participant["id"]),
        "voided_injections": queries.voided_injections(db, participant["id"]),
        "timezone_history": queries.timezone_history(db, participant["id"]),
        "notifications_enabled": bool(participant["notifications_enabled"]),
        **queries.activation_state(db, participant["id"], now=clock.now()),
        "lock": locks.state(db, participant),
    }


def _issue_args() -> dict:
    cfg = current_app.config
    return {
        "secret_key": cfg["SECRET_KEY"],
        "base_url": cfg["DIARY_BASE_URL"],
        "code_lifetime": cfg["ACTIVATION_CODE_LIFETIME"],
        "staff_id": current_user.staff_id,
    }


def _code_body(study_id: str, issued: service.IssuedCode) -> dict:
    return {
        "study_id": study_id,
        "activation_code": issued.code,
        "activation_url": issued.url,
        "qr_svg": issued.qr_svg,
        "expires_at": clock.iso(issued.expires_at),
    }


@blp.route("/staff/participants", methods=["GET"])
@staff_required("participants.read")
@blp.arguments(ListQuerySchema, location="query")
@blp.response(200, ParticipantListSchema)
def list_participants(args):
    """A page of the participants of the caller's sites, by study ID."""
    db = get_db()
    filters = {
        "site_code": args.get("site"),
        "search": args.get("q"),
        "injected_from": args.get("from_"),
        "injected_to": args.get("to"),
    }
    limit = args["limit"]
    rows = queries.list_participants(
        db, current_user.site_ids, after=args.get("after"), limit=limit + 1, **filters
    )
    page = rows[:limit]
    extra = adherence.list_columns(db, current_study(), page, now=clock.now())
    return {
        "participants": [
            {**r, **extra[r["id"]], "notifications_enabled": bool(r["notifications_enabled"])}
            for r in page
        ],
        "total": queries.count_participants(db, current_user.site_ids, **filters),
        "next_after": page[-1]["study_id"] if len(rows) > limit else None,
    }


@blp.route("/staff/participants", methods=["POST"])
@staff_required("participants.manage")
@blp.arguments(EnrollSchema)
@blp.response(201, EnrolledSchema)
@blp.alt_response(
    409,
    description="The study ID is taken in the study (at any site, by anyone, withdrawn or"
    " not): one answer for all, naming no site; nothing written",
)
def enroll(body):
    db = get_db()
    now = clock.now()
    site = auth_queries.site_by_code(db, body["site"])
    if site is None or (
        current_user.site_ids is not None and site["id"] not in current_user.site_ids
    ):
        raise invalid("site", "not one of your sites")
    with transaction(db):
        participant, issued = service.enroll(
            db,
            current_study(),
            actor=current_user.actor,
            site=site,
            study_id=body["study_id"],
            timezone=body["timezone"],
            injection_date=body["injection_date"],
            baseline_back_pain=body["baseline_back_pain"],
            baseline_mme=body["baseline_mme"],
            baseline_opioids=body["baseline_opioids"],
            now=now,
            **_issue_args(),
        )
    return {**_detail(db, participant), **_code_body(participant["study_id"], issued)}


@blp.route("/staff/participants/<study_id>", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, ParticipantSchema)
def get_participant(study_id):
    return _detail(get_db(), scoped_participant(study_id))


@blp.route("/staff/participants/<study_id>", methods=["PATCH"])
@staff_required("participants.manage")
@blp.arguments(StaffPatchSchema)
@blp.response(200, ParticipantSchema)
def patch_participant(body, study_id):
    db = get_db()
    reason = body.pop("reason", None)
    with transaction(db):
        participant = scoped_participant(study_id)
        updated = service.update(
            db,
            actor=current_user.actor,
            participant=participant,
            changes=body,
            reason=reason,
            now=clock.now(),
        )
        if body.get("status") == "withdrawn":
            auth_queries.end_participant_sessions(
                db, participant["id"], "withdrawn", now=clock.now()
            )
    return _detail(db, updated)


@blp.route("/staff/participants/<study_id>/activation-code", methods=["POST"])
@staff_required("participants.manage")
@blp.response(201, ActivationCodeSchema)
def reissue_code(study_id):
    db = get_db()
    with transaction(db):
        participant = scoped_participant(study_id)
        issued = service.reissue_code(
            db, actor=current_user.actor, participant=participant, now=clock.now(), **_issue_args()
        )
    return _code_body(participant["study_id"], issued)


@blp.route("/staff/participants/<study_id>/injections", methods=["POST"])
@staff_required("participants.manage")
@blp.arguments(InjectionSchema)
@blp.response(201, ParticipantSchema)
@blp.alt_response(409, description="An injection on that date is already recorded")
@blp.alt_response(422, description="Invalid fields (an implausible date); nothing written")
def add_injection(body, study_id):
    db = get_db()
    with transaction(db):
        participant = scoped_participant(study_id)
        service.add_injection(
            db,
            current_study(),
            actor=current_user.actor,
            participant=participant,
            day=body["date"],
            now=clock.now(),
        )
    return _detail(db, queries.get_by_id(db, participant["id"]))


@blp.route("/staff/participants/<study_id>/injections/<anydate:day>/void", methods=["POST"])
@staff_required("injections.correct")
@blp.arguments(InjectionVoidSchema)
@blp.response(200, ParticipantSchema)
@blp.alt_response(409, description="The only injection cannot be voided (correct it instead)")
@blp.alt_response(422, description="Invalid fields (a reason is required); nothing written")
def void_injection(body, study_id, day):
    """Void an injection recorded by mistake (investigators and admins)."""
    db = get_db()
    with transaction(db):
        participant = scoped_participant(study_id)
        service.void_injection(
            db,
            current_study(),
            actor=current_user.actor,
            participant=participant,
            day=day,
            reason=body["reason"],
            staff_id=current_user.staff_id,
            now=clock.now(),
        )
    return _detail(db, queries.get_by_id(db, participant["id"]))


@blp.route("/staff/participants/<study_id>/injections/<date:day>", methods=["PATCH"])
@staff_required("injections.correct")
@blp.arguments(InjectionCorrectSchema)
@blp.response(200, ParticipantSchema)
@blp.alt_response(409, description="An injection on the new date is already recorded")
@blp.alt_response(
    422, description="Invalid fields (an implausible date, no reason); nothing written"
)
def correct_injection(body, study_id, day):
    """Correct an injection's date: the old one is voided, the new one recorded, at once."""
    db = get_db()
    with transaction(db):
        participant = scoped_participant(study_id)
        service.correct_injection(
            db,
            current_study(),
            actor=current_user.actor,
            participant=participant,
            day=day,
            new_day=body["date"],
            reason=body["reason"],
            staff_id=current_user.staff_id,
            now=clock.now(),
        )
    return _detail(db, queries.get_by_id(db, participant["id"]))


# --- locks (SPEC §14) ---------------------------------------------------------


def _lock_change(study_id: str, change, reason: str) -> dict:
    db = get_db()
    with transaction(db):
        participant = scoped_participant(study_id)
        change(db, participant, reason=reason, actor=current_user.actor, now=clock.now())
    return _detail(db, queries.get_by_id(db, participant["id"]))


@blp.route("/staff/participants/<study_id>/lock", methods=["POST"])
@staff_required("participants.lock")
@blp.arguments(ReasonSchema)
@blp.response(200, ParticipantSchema)
@blp.alt_response(409, description="Locked already")
def lock_participant(body, study_id):
    """Lock a participant's data (after sign-off, at withdrawal or completion)."""
    return _lock_change(study_id, locks.lock, body["reason"])


@blp.route("/staff/participants/<study_id>/unlock", methods=["POST"])
@staff_required("participants.unlock")
@blp.arguments(ReasonSchema)
@blp.response(200, ParticipantSchema)
@blp.alt_response(409, description="Not locked")
def unlock_participant(body, study_id):
    """Unlock a participant's data: an admin, with a reason."""
    return _lock_change(study_id, locks.unlock, body["reason"])


# --- what other packages keep about a participant -------------------------------


@blp.route("/staff/participants/<study_id>/adverse-events", methods=["GET"])
@staff_required("flags.read")
@blp.response(200, AdverseEventListSchema)
def list_adverse_events(study_id):
    db = get_db()
    rows = flag_queries.adverse_events(db, participant_id=scoped_participant(study_id)["id"])
    return {"adverse_events": flag_service.present_adverse_events(db, rows, clock.now())}


@blp.route("/staff/participants/<study_id>/adverse-events", methods=["POST"])
@staff_required("adverse_events.record")
@blp.arguments(AdverseEventInSchema)
@blp.response(201, AdverseEventSchema)
def record_adverse_event(body, study_id):
    db = get_db()
    with transaction(db):
        ae_id = flag_service.record_adverse_event(
            db,
            participant=scoped_participant(study_id),
            body=body,
            actor=current_user.actor,
            staff_id=current_user.staff_id,
            now=clock.now(),
        )
    rows = flag_queries.adverse_events(db, ae_id=ae_id)
    return flag_service.present_adverse_events(db, rows, clock.now())[0]


@blp.route("/staff/participants/<study_id>/reachability", methods=["GET"])
@staff_required("participants.read")
@blp.response(200, ReachabilitySchema)
def reachability(study_id: str):
    """Can this participant be reached: live push subscriptions, last sync, last reminder."""
    db = get_db()
    participant = scoped_participant(study_id)
    state = notify_queries.reachability(db, participant["id"])
    subscriptions = [
        {**s, "service": urlsplit(s["endpoint"]).hostname or ""}
        for s in notify_queries.participant_subscriptions(db, participant["id"])
    ]
    return {
        **state,
        "study_id": study_id,
        "notifications_enabled": bool(state["notifications_enabled"]),
        "subscriptions": subscriptions,
        "sync_problems": sync_problems.recent(db, participant["id"], now=clock.now()),
        "reminders": notify_queries.reminder_outlook(
            db,
            participant["id"],
            default_time=current_study().reminder_default.strftime("%H:%M"),
            push_configured=bool(current_app.config.get("DIARY_VAPID_PRIVATE_KEY")),
        ),
    }
