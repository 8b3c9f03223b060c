"""When the clouds may upgrade a cluster: one weekly window for AKS and GKE.

EKS has no maintenance window (control-plane upgrades are ours to start); AKS runs its upgrade
channel and node OS updates, and GKE its auto-upgrades, only inside the window. GKE needs at least
48 hours of availability in any rolling 32 days; a weekly window occurs only four times in some
32-day spans, so it must last at least 12 hours (AKS accepts 4 to 24). Default: Saturday 02:00 UTC
for 12 hours.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, field_validator

from stacks.core import Model

WeekDay = Literal["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


class MaintenanceConfig(Model):
    """The weekly window (AKS auto-upgrade and node OS schedules, GKE recurring window)."""

    day: WeekDay = Field(default="Saturday", description="Day of the week the window opens.")
    start_utc: str = Field(default="02:00", description="Start of the window, HH:MM in UTC.")
    duration_hours: int = Field(
        default=12, ge=12, le=24,
        description="Length of the window; at least 12 h so GKE gets its 48 h in any 32 days, at most 24 h (AKS).")

    @field_validator("start_utc")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        try:
            dt.time.fromisoformat(v)
        except ValueError:
            raise ValueError("is not a time of day HH:MM (UTC)") from None
        if len(v) != 5:
            raise ValueError("is not a time of day HH:MM (UTC)")
        return v

    def gke_recurring_window(self, anchor: dt.date = dt.date(2026, 1, 3)) -> tuple[str, str, str]:
        """(start_time, end_time, recurrence) for GKE: an RFC 3339 occurrence on ``day`` and an RRULE."""
        return gke_recurring_window(self.day, self.start_utc, self.duration_hours, anchor)


WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def gke_recurring_window(day: str, start_utc: str, duration_hours: int,
                         anchor: dt.date = dt.date(2026, 1, 3)) -> tuple[str, str, str]:
    """(start_time, end_time, recurrence) of a weekly window for GKE: the first occurrence of
    ``day`` on or after ``anchor`` as RFC 3339 times, and an RRULE."""
    first = anchor + dt.timedelta(days=(WEEK_DAYS.index(day) - anchor.weekday()) % 7)
    start = dt.datetime.combine(first, dt.time.fromisoformat(start_utc), tzinfo=dt.UTC)
    end = start + dt.timedelta(hours=duration_hours)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return start.strftime(fmt), end.strftime(fmt), f"FREQ=WEEKLY;BYDAY={day[:2].upper()}"
