"""A diary entry's body as the phone sends it, for tests: an ordinary day (pain 4 and 2,
no doses, no symptoms), made now in Chicago, with whatever the test changes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")


def entry(**overrides: Any) -> dict[str, Any]:
    body = {
        "client_id": str(uuid.uuid4()),
        "back_pain": 4,
        "leg_pain": 2,
        "doses": [],
        "symptoms": [],
        "device_time": datetime.now(CHICAGO).isoformat(),
    }
    body.update(overrides)
    return body
