"""An SDTM-style package: DM, QS (pain NRS) with SUPPQS (when the entry was made
and received), CM (opioid doses) with SUPPCM (MME), AE (confirmed adverse events)
with SUPPAE, and a define-style data dictionary.

SDTM-style, not a validated SDTMIG submission: no controlled-terminology
version, no MedDRA or WHODrug coding. Each dataset's columns come from the
variable metadata below, so a dataset and its dictionary cannot disagree.

Study days (--DY) follow SDTM: day 1 is the first injection (RFSTDTC) and there
is no day 0; the API and the CSV exports count the injection date as day 0.
No treatment arm is exported: the diary never stores it (blinding).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from ..mme import Dose, daily_mme
from ..study import Study
from . import queries
from . import questionnaires as questionnaire_exports
from .tables import Table, signature_status, to_csv


@dataclass(frozen=True)
class Var:
    name: str
    label: str
    type: str  # Char | Num
    codelist: str = ""
    notes: str = ""


@dataclass(frozen=True)
class Dataset:
    name: str
    label: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Var, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)


_COMMON = (
    Var("STUDYID", "Study Identifier", "Char", notes="study.id of the protocol file"),
    Var("DOMAIN", "Domain Abbreviation", "Char"),
    Var("USUBJID", "Unique Subject Identifier", "Char", notes="STUDYID-participant study ID"),
)

DM = Dataset(
    "DM",
    "Demographics (reference dates only)",
    "One record per subject",
    ("STUDYID", "USUBJID"),
    (
        *_COMMON,
        Var("SUBJID", "Subject Identifier for the Study", "Char", notes="participant study ID"),
        Var("SITEID", "Study Site Identifier", "Char", notes="site code"),
        Var("RFSTDTC", "Subject Reference Start Date", "Char", "ISO 8601", "first injection"),
        Var("RFXSTDTC", "Date of First Study Treatment", "Char", "ISO 8601", "first injection"),
        Var(
            "DMSTAT",
            "Participation Status",
            "Char",
            "ACTIVE; WITHDRAWN; COMPLETED",
            "sponsor-defined; no ARM/ARMCD: the diary never stores the arm (blinding)",
        ),
    ),
)

PAIN_TESTS = {
    "back_pain": ("BACKPAIN", "Back Pain Intensity NRS"),
    "leg_pain": ("LEGPAIN", "Leg Pain Intensity NRS"),
}

QS = Dataset(
    "QS",
    "Questionnaires: daily pain numeric rating scales and the scheduled instruments",
    "One record per subject per diary date per test; per answered item or score of a questionnaire",
    ("STUDYID", "USUBJID", "QSTESTCD", "QSDTC"),
    (
        *_COMMON,
        Var("QSSEQ", "Sequence Number", "Num", notes="1.. within subject"),
        Var(
            "QSTESTCD",
            "Question Short Name",
            "Char",
            "BACKPAIN; LEGPAIN; a questionnaire's linkIds and score names",
            "questionnaire items: the linkId in capitals and digits, at most 8 characters",
        ),
        Var(
            "QSTEST",
            "Question Name",
            "Char",
            "Back Pain Intensity NRS; Leg Pain Intensity NRS; the item's text",
            "questionnaire items: the item text, cut to 40 characters",
        ),
        Var(
            "QSCAT",
            "Category of Question",
            "Char",
            "PAIN NRS; the instrument's code in capitals (e.g. PEG, PGIC)",
        ),
        Var(
            "QSORRES",
            "Finding in Original Units",
            "Char",
            "0-10",
            "0 = no pain, 10 = worst pain imaginable",
        ),
        Var("QSSTRESC", "Character Result/Finding in Std Format", "Char", "0-10"),
        Var("QSSTRESN", "Numeric Finding in Standard Units", "Num", "0-10"),
        Var(
            "QSDTC",
            "Date/Time of Finding",
            "Char",
            "ISO 8601",
            "the participant's local diary date the rating is for",
        ),
        Var(
            "QSDY",
            "Study Day of Finding",
            "Num",
            notes="SDTM study day: day 1 = first injection date (RFSTDTC); no day 0",
        ),
        Var("QSEVLINT", "Evaluation Interval", "Char", "-P1D", "the diary day rated"),
    ),
)

# CDISC UNIT submission values for the formulary's units.
CDISC_UNITS = {"mg": "mg", "mcg": "ug", "mcg/hr": "ug/h"}

CM = Dataset(
    "CM",
    "Concomitant Medications: opioid doses from the daily diary",
    "One record per subject per diary date per drug and strength reported",
    ("STUDYID", "USUBJID", "CMDECOD", "CMSTDTC", "CMSEQ"),
    (
        *_COMMON,
        Var("CMSEQ", "Sequence Number", "Num", notes="1.. within subject"),
        Var(
            "CMSPID",
            "Sponsor-Defined Identifier",
            "Char",
            notes="diary date and dose position, e.g. 2026-03-02#1",
        ),
        Var(
            "CMTRT",
            "Reported Name of Drug, Med, or Therapy",
            "Char",
            notes="formulary label the participant picked",
        ),
        Var(
            "CMDECOD",
            "Standardized Medication Name",
            "Char",
            notes="generic ingredient in upper case (not WHODrug-coded)",
        ),
        Var("CMCAT", "Category for Medication", "Char", "OPIOID"),
        Var("CMDOSE", "Dose per Administration", "Num", notes="strength of one unit"),
        Var(
            "CMDOSU",
            "Dose Units",
            "Char",
            "mg; ug; ug/h",
            "ug/h for transdermal fentanyl (strength of one patch)",
        ),
        Var(
            "CMDOSTOT",
            "Total Daily Dose",
            "Num",
            notes="CMDOSE x number of units taken that day (SUPPCM CMUNITS)",
        ),
        Var(
            "CMROUTE",
            "Route of Administration",
            "Char",
            "TRANSDERMAL",
            "given for patches only; not collected otherwise",
        ),
        Var("CMSTDTC", "Start Date/Time of Medication", "Char", "ISO 8601", "diary date"),
        Var("CMENDTC", "End Date/Time of Medication", "Char", "ISO 8601", "diary date"),
        Var(
            "CMSTDY",
            "Study Day of Start of Medication",
            "Num",
            notes="SDTM study day: day 1 = first injection date",
        ),
        Var(
            "CMENDY",
            "Study Day of End of Medication",
            "Num",
            notes="SDTM study day: day 1 = first injection date",
        ),
    ),
)

_SUPP_VARS = (
    Var("STUDYID", "Study Identifier", "Char"),
    Var("RDOMAIN", "Related Domain Abbreviation", "Char"),
    Var("USUBJID", "Unique Subject Identifier", "Char"),
    Var("IDVAR", "Identifying Variable", "Char"),
    Var("IDVARVAL", "Identifying Variable Value", "Char"),
    Var("QNAM", "Qualifier Variable Name", "Char"),
    Var("QLABEL", "Qualifier Variable Label", "Char"),
    Var("QVAL", "Data Value", "Char"),
    Var("QORIG", "Origin", "Char", "CRF; DERIVED"),
)


def _supp_vars(qnam_codelist: str, qnam_notes: str) -> tuple[Var, ...]:
    return tuple(
        Var(v.name, v.label, v.type, qnam_codelist, qnam_notes) if v.name == "QNAM" else v
        for v in _SUPP_VARS
    )


SUPPQS_QUALIFIERS = {
    "ENTLATE": ("Entered After the Diary Date Ended", "DERIVED"),
    "SYNCLATE": ("Received After the Entry Window Closed", "DERIVED"),
}

SUPPQS = Dataset(
    "SUPPQS",
    "Supplemental Qualifiers for QS: when the diary entry was made and received",
    "One record per QS record per qualifier",
    ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
    _supp_vars(
        "; ".join(SUPPQS_QUALIFIERS),
        "Y or N for every QS record (ENTLATE for diary records only). ENTLATE: Y when the entry was made (by the device's "
        "clock) after its local diary date ended, inside the entry window (entries.csv "
        "late); SYNCLATE: Y when the participant's latest write of the entry reached the "
        "server after the entry window closed, i.e. made offline in time and sent later "
        "(entries.csv synced_late). A staff data clarification leaves SYNCLATE as it was.",
    ),
)

SUPPCM_QUALIFIERS = {
    "CMUNITS": ("Number of Units Taken", "CRF"),
    "DOSEMME": ("Dose MME (mg/day)", "DERIVED"),
    "DAYMME": ("Daily MME of the Diary Date", "DERIVED"),
    "MMEINCMP": ("Daily MME Incomplete", "DERIVED"),
}

SUPPCM = Dataset(
    "SUPPCM",
    "Supplemental Qualifiers for CM: units taken and morphine milligram equivalents",
    "One record per CM record per qualifier",
    ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
    _supp_vars(
        "; ".join(SUPPCM_QUALIFIERS),
        "CMUNITS: number of units (tablets, patches) taken that day; DOSEMME: this "
        "record's MME (the protocol's factors, each with its source in define.json "
        "mme_conversion_factors), absent for drugs with no factor; DAYMME: the "
        "diary date's total MME, absent when no dose converts; MMEINCMP: Y when a drug "
        "that day had no conversion factor (e.g. buprenorphine), so DAYMME understates use",
    ),
)

AE_SEVERITY = {1: "MILD", 2: "MODERATE", 3: "SEVERE", 4: "SEVERE", 5: "SEVERE"}
AE_RELATION = {
    "not_related": "NOT RELATED",
    "unlikely": "UNLIKELY RELATED",
    "possible": "POSSIBLY RELATED",
    "probable": "PROBABLY RELATED",
    "definite": "RELATED",
}

AE_OUTCOME = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
# SDTM's seriousness flags, from the diary's seriousness criteria.
AE_SERIOUSNESS = (
    ("AESDTH", "Results in Death", "death"),
    ("AESLIFE", "Is Life Threatening", "life_threatening"),
    ("AESHOSP", "Requires or Prolongs Hospitalization", "hospitalisation"),
    ("AESDISAB", "Persist or Signif Disability/Incapacity", "disability"),
    ("AESCONG", "Congenital Anomaly or Birth Defect", "congenital_anomaly"),
    ("AESMIE", "Other Medically Important Serious Event", "other_important"),
)

AE = Dataset(
    "AE",
    "Adverse Events confirmed by study staff",
    "One record per adverse event",
    ("STUDYID", "USUBJID", "AETERM", "AESTDTC", "AESEQ"),
    (
        *_COMMON,
        Var("AESEQ", "Sequence Number", "Num", notes="1.. within subject"),
        Var("AESPID", "Sponsor-Defined Identifier", "Char", notes="the diary's adverse event id"),
        Var(
            "AETERM",
            "Reported Term for the Adverse Event",
            "Char",
            notes="staff-entered or derived from the flag (not MedDRA-coded)",
        ),
        Var(
            "AESEV",
            "Severity/Intensity",
            "Char",
            "MILD; MODERATE; SEVERE",
            "derived from the CTCAE grade: 1 MILD, 2 MODERATE, 3-5 SEVERE",
        ),
        Var("AETOXGR", "Standard Toxicity Grade", "Char", "1; 2; 3; 4; 5", "CTCAE grade"),
        Var("AESER", "Serious Event", "Char", "Y; N"),
        *(
            Var(
                name, label, "Char", "Y; N", f"seriousness criterion {code}; empty when not serious"
            )
            for name, label, code in AE_SERIOUSNESS
        ),
        Var(
            "AEACN",
            "Action Taken with Study Treatment",
            "Char",
            "NOT APPLICABLE; UNKNOWN",
            "the study treatment is a one-time injection: NOT APPLICABLE once recorded",
        ),
        Var(
            "AEACNOTH",
            "Other Action Taken",
            "Char",
            "NONE; TREATMENT GIVEN; HOSPITALISED; WITHDRAWN FROM STUDY",
            "the diary's action_taken",
        ),
        Var("AEOUT", "Outcome of Adverse Event", "Char", "; ".join(AE_OUTCOME.values())),
        Var(
            "AEREL",
            "Causality",
            "Char",
            "; ".join(AE_RELATION.values()),
            "relatedness to study treatment as judged by the investigator",
        ),
        Var("AESTDTC", "Start Date/Time of Adverse Event", "Char", "ISO 8601", "onset date"),
        Var("AEENDTC", "End Date/Time of Adverse Event", "Char", "ISO 8601", "end date"),
        Var(
            "AESTDY",
            "Study Day of Start of Adverse Event",
            "Num",
            notes="SDTM study day: day 1 = first injection date; negative before it",
        ),
        Var(
            "AEDTC",
            "Date/Time of Collection",
            "Char",
            "ISO 8601",
            "when staff recorded it (UTC date)",
        ),
    ),
)

SUPPAE = Dataset(
    "SUPPAE",
    "Supplemental Qualifiers for AE: how the event came to light",
    "One record per AE record per qualifier",
    ("STUDYID", "USUBJID", "IDVAR", "IDVARVAL", "QNAM"),
    _supp_vars(
        "AESOURCE; AEFLAGID; AEEXPECT; AESIGST; AESIGBY; AESIGDTC; AESIGMN; AESPRDTC; AESPRREF",
        "AESOURCE: FLAG, PARTICIPANT_REPORT, SITE_VISIT, INTERVIEW, CLINICAL_EXAM or DIARY;"
        " AEFLAGID: the diary flag that raised it; AEEXPECT: EXPECTED or UNEXPECTED;"
        " AESIGST: the investigator's e-signature, SIGNED, INVALIDATED (changed after"
        " signing) or UNSIGNED; AESIGBY, AESIGDTC, AESIGMN: signer, UTC time and meaning of"
        " the valid signature; AESPRDTC, AESPRREF: when the serious event was reported to"
        " the sponsor and the sponsor's reference",
    ),
)

DATASETS = (DM, QS, SUPPQS, CM, SUPPCM, AE, SUPPAE)


def sdtm_day(reference: str | None, day: str) -> int | None:
    """SDTM --DY: day 1 is the reference date, the day before it is -1."""
    if not reference:
        return None
    delta = (date.fromisoformat(day) - date.fromisoformat(reference)).days
    return delta + 1 if delta >= 0 else delta


def _usubjid(study: Study, study_id: str) -> str:
    return f"{study.id}-{study_id}"


def _table(dataset: Dataset, rows: list[dict[str, Any]]) -> Table:
    return Table(dataset.columns, [[row.get(c) for c in dataset.columns] for row in rows])


def _seq(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    counters: dict[str, int] = defaultdict(int)
    for row in rows:
        counters[row["USUBJID"]] += 1
        row[name] = counters[row["USUBJID"]]
    return rows


def _supp(
    study: Study,
    rdomain: str,
    usubjid: str,
    seq: int,
    qnam: str,
    qlabel: str,
    qval: Any,
    qorig: str,
) -> dict[str, Any]:
    return {
        "STUDYID": study.id,
        "RDOMAIN": rdomain,
        "USUBJID": usubjid,
        "IDVAR": f"{rdomain}SEQ",
        "IDVARVAL": str(seq),
        "QNAM": qnam,
        "QLABEL": qlabel,
        "QVAL": qval,
        "QORIG": qorig,
    }


def dm(db: Database, study: Study, site_ids, site_code) -> list[dict[str, Any]]:
    return [
        {
            "STUDYID": study.id,
            "DOMAIN": "DM",
            "USUBJID": _usubjid(study, p["study_id"]),
            "SUBJID": p["study_id"],
            "SITEID": p["site"],
            "RFSTDTC": p["first_injection"],
            "RFXSTDTC": p["first_injection"],
            "DMSTAT": p["status"].upper(),
        }
        for p in queries.participants(db, site_ids, site_code)
    ]


def qs(
    db: Database, study: Study, site_ids, site_code, instruments=None, period=None
) -> tuple[list[dict], list[dict]]:
    rows = []
    for e in queries.entries(db, site_ids, site_code, period):
        for field, (testcd, test) in PAIN_TESTS.items():
            value = e[field]
            rows.append(
                {
                    "STUDYID": study.id,
                    "DOMAIN": "QS",
                    "USUBJID": _usubjid(study, e["study_id"]),
                    "QSTESTCD": testcd,
                    "QSTEST": test,
                    "QSCAT": "PAIN NRS",
                    "QSORRES": str(value),
                    "QSSTRESC": str(value),
                    "QSSTRESN": value,
                    "QSDTC": e["date"],
                    "QSDY": sdtm_day(e["first_injection"], e["date"]),
                    "QSEVLINT": "-P1D",
                    "_entry": e,
                }
            )
    responses = queries.questionnaire_responses(db, site_ids, site_code, period)
    for r in questionnaire_exports.decoded(responses):
        instrument = (instruments or {}).get(r["instrument"])
        if r["status"] == "completed" and instrument is not None:
            rows += questionnaire_exports.qs_rows(
                study, instrument, r, _usubjid(study, r["study_id"]), sdtm_day
            )
    rows.sort(key=lambda row: (row["USUBJID"], row["QSDY"] if row["QSDY"] is not None else 0))
    _seq(rows, "QSSEQ")
    supp = []
    for row in rows:
        e = row.pop("_entry", None)
        if e is None:  # a questionnaire answer: only when it was received counts
            values = {"SYNCLATE": row.pop("_synced_late")}
        else:
            values = {"ENTLATE": e["late"], "SYNCLATE": e["synced_late"]}
        for qnam, (qlabel, qorig) in SUPPQS_QUALIFIERS.items():
            if qnam not in values:
                continue
            supp.append(
                _supp(
                    study,
                    "QS",
                    row["USUBJID"],
                    row["QSSEQ"],
                    qnam,
                    qlabel,
                    "Y" if values[qnam] else "N",
                    qorig,
                )
            )
    return rows, supp


def _decode(code: str) -> str:
    return code.split("_")[0].upper()


def cm(
    db: Database, study: Study, site_ids, site_code, period=None
) -> tuple[list[dict], list[dict]]:
    rows, supp = [], []
    for d in queries.doses(db, site_ids, site_code, period):
        drug = study.drug(d["drug"])
        unit = drug.unit if drug else ""
        day = sdtm_day(d["first_injection"], d["date"])
        rows.append(
            {
                "STUDYID": study.id,
                "DOMAIN": "CM",
                "USUBJID": _usubjid(study, d["study_id"]),
                "CMSPID": f"{d['date']}#{d['position'] + 1}",
                "CMTRT": (drug.label.split(" (")[0] if drug else d["drug"]),
                "CMDECOD": _decode(d["drug"]),
                "CMCAT": "OPIOID",
                "CMDOSE": d["strength"],
                "CMDOSU": CDISC_UNITS.get(unit, unit),
                "CMDOSTOT": round(d["strength"] * d["units"], 4),
                "CMROUTE": "TRANSDERMAL" if unit == "mcg/hr" else None,
                "CMSTDTC": d["date"],
                "CMENDTC": d["date"],
                "CMSTDY": day,
                "CMENDY": day,
                "_dose": d,
            }
        )
    _seq(rows, "CMSEQ")
    for row in rows:
        d = row.pop("_dose")
        factor = study.factors.get(d["drug"])
        values = {
            "CMUNITS": d["units"],
            "DOSEMME": (
                daily_mme([Dose(d["drug"], d["strength"], d["units"])], study.factors).mme
                if factor is not None
                else None
            ),
            "DAYMME": d["day_mme"],
            "MMEINCMP": "Y" if json.loads(d["mme_unconverted"]) else "N",
        }
        for qnam, (qlabel, qorig) in SUPPCM_QUALIFIERS.items():
            if values[qnam] is not None:
                supp.append(
                    _supp(
                        study, "CM", row["USUBJID"], row["CMSEQ"], qnam, qlabel, values[qnam], qorig
                    )
                )
    return rows, supp


def ae(
    db: Database, study: Study, site_ids, site_code, period=None
) -> tuple[list[dict], list[dict]]:
    rows = [
        {
            "STUDYID": study.id,
            "DOMAIN": "AE",
            "USUBJID": _usubjid(study, a["study_id"]),
            "AESPID": str(a["id"]),
            "AETERM": a["term"],
            "AESEV": AE_SEVERITY[a["ctcae_grade"]],
            "AETOXGR": str(a["ctcae_grade"]),
            "AESER": "Y" if a["serious"] else "N",
            **{
                name: (
                    ("Y" if code in json.loads(a["seriousness_criteria"]) else "N")
                    if a["serious"]
                    else None
                )
                for name, _, code in AE_SERIOUSNESS
            },
            "AEACN": None
            if a["action_taken"] is None
            else ("UNKNOWN" if a["action_taken"] == "unknown" else "NOT APPLICABLE"),
            "AEACNOTH": None
            if a["action_taken"] in (None, "unknown", "not_applicable")
            else a["action_taken"].replace("_", " ").upper(),
            "AEOUT": AE_OUTCOME.get(a["ae_outcome"]) if a["ae_outcome"] else None,
            "AEREL": AE_RELATION.get(a["related"], a["related"].upper()),
            "AESTDTC": a["onset_date"],
            "AEENDTC": a["end_date"],
            "AESTDY": sdtm_day(a["first_injection"], a["onset_date"]),
            "AEDTC": a["recorded_at"][:10],
            "_ae": a,
        }
        for a in queries.adverse_events(db, site_ids, site_code, period)
    ]
    _seq(rows, "AESEQ")
    supp = []
    for row in rows:
        a = row.pop("_ae")
        supp.append(
            _supp(
                study,
                "AE",
                row["USUBJID"],
                row["AESEQ"],
                "AESOURCE",
                "Source of the Adverse Event",
                a["source"].upper(),
                "CRF",
            )
        )
        if a["flag_id"] is not None:
            supp.append(
                _supp(
                    study,
                    "AE",
                    row["USUBJID"],
                    row["AESEQ"],
                    "AEFLAGID",
                    "Diary Flag Identifier",
                    str(a["flag_id"]),
                    "DERIVED",
                )
            )
        qualifiers = [
            ("AEEXPECT", "Expectedness", (a["expected"] or "").upper() or None, "CRF"),
            ("AESIGST", "Investigator Signature Status", signature_status(a).upper(), "DERIVED"),
            ("AESIGBY", "Signed By", a["signed_by"], "DERIVED"),
            ("AESIGDTC", "Signature Date/Time (UTC)", a["signed_at"], "DERIVED"),
            (
                "AESIGMN",
                "Signature Meaning",
                (a["signature_meaning"] or "").upper() or None,
                "DERIVED",
            ),
            ("AESPRDTC", "Reported to Sponsor Date/Time (UTC)", a["sponsor_reported_at"], "CRF"),
            ("AESPRREF", "Sponsor Case Reference", a["sponsor_reference"], "CRF"),
        ]
        for qnam, label, value, origin in qualifiers:
            if value is not None:
                supp.append(
                    _supp(study, "AE", row["USUBJID"], row["AESEQ"], qnam, label, value, origin)
                )
    return rows, supp


def define(study: Study) -> dict[str, Any]:
    """The data dictionary: every dataset and every column, with label, type, codelist."""
    return {
        "study": {"id": study.id, "title": study.title},
        "standard": "SDTM-style CSV (modelled on SDTMIG 3.x; not a validated submission)",
        "conventions": [
            "USUBJID is the study id, a dash, and the participant's study ID.",
            "--DY study days: day 1 is the first injection date (RFSTDTC); there is no day 0. "
            "The diary app and its CSV exports call the injection date day 0.",
            "Dates are ISO 8601 local diary dates of the participant's time zone.",
            "Values that were not collected are empty.",
            "A text cell that starts with = + - @, a tab, CR or LF (which a spreadsheet would"
            " run as a formula), or with an apostrophe, is written with a leading apostrophe:"
            " to read a value exactly, drop the first character of a cell that starts with '.",
            "No treatment arm is exported: the diary never stores it (blinding).",
        ],
        "datasets": [
            {
                "name": ds.name,
                "file": f"{ds.name}.csv",
                "label": ds.label,
                "structure": ds.structure,
                "keys": list(ds.keys),
                "variables": [
                    {
                        "name": v.name,
                        "label": v.label,
                        "type": v.type,
                        "codelist": v.codelist,
                        "notes": v.notes,
                    }
                    for v in ds.variables
                ],
            }
            for ds in DATASETS
        ],
        # DOSEMME and DAYMME are only as good as their factors: say where each is from.
        "mme_conversion_factors": [
            {
                "drug": d.code,
                "label": d.label,
                "unit": d.unit,
                "factor": d.factor,
                "source": d.factor_source,
            }
            for d in study.formulary
        ],
    }


def define_csv(study: Study) -> Table:
    columns = ("dataset", "variable", "label", "type", "codelist", "notes")
    rows = [
        [ds.name, v.name, v.label, v.type, v.codelist, v.notes]
        for ds in DATASETS
        for v in ds.variables
    ]
    return Table(columns, rows)


def tables(
    db: Database, study: Study, site_ids, site_code: str | None, instruments=None, period=None
) -> dict[str, Table]:
    """Every dataset of the package, by name; in a period, DM keeps every participant in
    scope and the other domains the records dated in it."""
    qs_rows, suppqs = qs(db, study, site_ids, site_code, instruments, period)
    cm_rows, suppcm = cm(db, study, site_ids, site_code, period)
    ae_rows, suppae = ae(db, study, site_ids, site_code, period)
    return {
        "DM": _table(DM, dm(db, study, site_ids, site_code)),
        "QS": _table(QS, qs_rows),
        "SUPPQS": _table(SUPPQS, suppqs),
        "CM": _table(CM, cm_rows),
        "SUPPCM": _table(SUPPCM, suppcm),
        "AE": _table(AE, ae_rows),
        "SUPPAE": _table(SUPPAE, suppae),
    }


def _members(
    study: Study, datasets: dict[str, Table], data_state: dict[str, Any] | None
) -> Iterator[tuple[str, str]]:
    for name, table in datasets.items():
        yield f"{name}.csv", to_csv(table)
    yield "define.json", json.dumps(define(study), indent=2, ensure_ascii=False) + "\n"
    yield "define.csv", to_csv(define_csv(study))
    if data_state is not None:
        yield "data_state.json", json.dumps(data_state, indent=2, ensure_ascii=False) + "\n"


def package(
    study: Study,
    datasets: dict[str, Table],
    *,
    now: datetime,
    data_state: dict[str, Any] | None = None,
) -> bytes:
    """The zip: one CSV per dataset plus define.json and define.csv, all UTF-8, and
    data_state.json (the study freeze and the locked participants at export time)."""
    buffer = io.BytesIO()
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _members(study, datasets, data_state):
            archive.writestr(
                zipfile.ZipInfo(name, date_time=stamp),
                text.encode("utf-8"),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return buffer.getvalue()
