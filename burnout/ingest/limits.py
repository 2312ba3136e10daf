"""Plausibility limits of imported figures, in one place.

The defaults are deliberately generous: they refuse what cannot be true (a
week has 168 hours; nobody holds 5,000 cases) or is almost surely a typing
slip (a survey answered in 2099), never what is merely unusual.  The settings
layer builds them with ``ImportLimits.from_settings``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from burnout.domain.settings import Settings
from burnout.store import schema as s

HOURS_IN_A_WEEK = 168.0


def _stored_length(column) -> int:
    return int(column.type.length)


@dataclass(frozen=True)
class ImportLimits:
    """Limits every import is checked against.

    - ``max_active_cases`` (1,000): most active cases one helper may hold in a
      week; also bounds new, high-acuity and outside-specialty cases.
    - ``max_events_per_week`` (100): most trauma exposures, and most critical
      incidents, one helper may record in a week.
    - ``organisation_start`` (2000-01-01): no survey answer or caseload week
      before it.
    - ``earliest_hire`` (1950-01-01): no roster start or end date before it (a
      long-serving helper may have started before the organisation's records).
    - ``future_days`` (7): survey answers and caseload weeks at most this many
      days after today (clocks and time zones differ a little, years do not).
    - ``roster_start_lead_days`` (365): a roster start or end date at most this
      many days ahead (hires and leavers announced in advance).
    - ``max_xlsx_bytes`` (50 MB uncompressed) and ``max_rows`` (2,000,000):
      checked before a workbook is parsed, so a crafted file cannot exhaust memory.
    - ``max_mapping_bytes`` (256 KB): a mapping file is a few dozen lines.
    - ``today``: the day "today" means; None is the real today (tests pin it).
    Identifier lengths come from the stored columns (``burnout/store/schema.py``).
    """

    # the configurable ones take the organisation's settings (their defaults are the Settings')
    max_active_cases: int = Settings.import_max_active_cases
    max_events_per_week: int = Settings.import_max_events_per_week
    organisation_start: dt.date = dt.date.fromisoformat(Settings.organisation_start)
    future_days: int = Settings.import_future_days
    roster_start_lead_days: int = Settings.roster_start_lead_days
    earliest_hire: dt.date = dt.date(1950, 1, 1)
    max_xlsx_bytes: int = 50 * 1024 * 1024
    max_rows: int = 2_000_000
    max_mapping_bytes: int = 256 * 1024
    today: dt.date | None = None
    max_hours_per_week: float = field(default=HOURS_IN_A_WEEK, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "ImportLimits":
        """The limits an organisation set (Users & settings), the rest as documented."""
        return cls(max_active_cases=int(settings.import_max_active_cases),
                   max_events_per_week=int(settings.import_max_events_per_week),
                   organisation_start=dt.date.fromisoformat(settings.organisation_start),
                   future_days=int(settings.import_future_days),
                   roster_start_lead_days=int(settings.roster_start_lead_days))

    def now(self) -> dt.date:
        return self.today or dt.date.today()

    @property
    def latest_answer(self) -> dt.date:
        return self.now() + dt.timedelta(days=self.future_days)

    @property
    def latest_roster_date(self) -> dt.date:
        return self.now() + dt.timedelta(days=self.roster_start_lead_days)


# Stored lengths of the text columns an import writes (schema.py is the truth).
TEXT_LENGTHS = {
    "helper_id": _stored_length(s.helpers.c.helper_id),
    "team": _stored_length(s.helpers.c.team_id),
    "role": _stored_length(s.helpers.c.role),
    "site": _stored_length(s.helpers.c.site),
    "name": _stored_length(s.helpers.c.name),
    "end_reason": _stored_length(s.helpers.c.end_reason),
    "team_kind": _stored_length(s.teams.c.kind),
}
