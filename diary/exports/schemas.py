from marshmallow import fields

from ..schemas import SITE_CODE, StrictSchema


class ExportQuery(StrictSchema):
    site = fields.String(
        validate=SITE_CODE,
        metadata={"description": "one of your sites; another site's code exports no rows"},
    )
