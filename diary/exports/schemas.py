from marshmallow import fields

from ..schemas import SITE_CODE, DateRangeQuery


class ExportQuery(DateRangeQuery):
    """Which site, and which diary dates (`from`/`to`, both included; either alone is
    open-ended): entries and doses by date, flags overlapping the dates, adverse events
    by onset, questionnaires by due date, signatures by the day signed, adherence over
    those dates; every participant stays in DM."""

    site = fields.String(
        validate=SITE_CODE,
        metadata={"description": "one of your sites; another site's code exports no rows"},
    )
