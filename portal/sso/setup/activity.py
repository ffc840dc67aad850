"""SSO logins per day for the SSO page: one aggregate query, and the geometry of its server-drawn SVG chart."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from portal.audit import Event
from portal.extensions import db
from portal.models import Account, AuditEvent, utcnow

DAYS = 30
COUNTED_REASON = "sso.login_failures_counted"  # failure reason shown for floods: the event type to look up
# Chart geometry in SVG user units (the SVG scales to its box through viewBox).
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 180, 36, 22, 8
PLOT_HEIGHT = HEIGHT - BOTTOM - TOP


@dataclass(frozen=True)
class Day:
    day: date
    successes: int = 0
    failures: int = 0


@dataclass(frozen=True)
class Bar:
    """One rectangle of the chart; title is its tooltip and its text for screen readers."""
    x: float
    y: float
    width: float
    height: float
    kind: str  # "success" or "failure"
    title: str


@dataclass
class DailyLogins:
    days: list[Day]
    reasons: list[tuple[str, int]] = field(default_factory=list)  # failure reason, count; most first

    @property
    def successes(self) -> int:
        return sum(d.successes for d in self.days)

    @property
    def failures(self) -> int:
        return sum(d.failures for d in self.days)

    @property
    def peak(self) -> int:
        """The y axis' top: the busiest day's total, at least 1."""
        return max([d.successes + d.failures for d in self.days] + [1])

    def bars(self) -> list[Bar]:
        """Stacked bars per day: successes at the bottom, failures on top."""
        slot = (WIDTH - LEFT) / len(self.days)
        scale = PLOT_HEIGHT / self.peak
        bars = []
        for index, d in enumerate(self.days):
            x = round(LEFT + index * slot + slot * 0.15, 2)
            base = HEIGHT - BOTTOM
            for kind, count in (("success", d.successes), ("failure", d.failures)):
                if count:
                    height = round(count * scale, 2)
                    base -= height
                    label = "successful" if kind == "success" else "failed"
                    bars.append(Bar(x, round(base, 2), round(slot * 0.7, 2), height, kind,
                                    f"{d.day:%Y-%m-%d}: {count} {label} SSO login{'s' if count != 1 else ''}"))
        return bars

    def labels(self) -> list[tuple[float, str]]:
        """x position and text of a date label every week, the last day included."""
        slot = (WIDTH - LEFT) / len(self.days)
        last = len(self.days) - 1
        return [(round(LEFT + i * slot + slot / 2, 2), f"{d.day:%b %d}") for i, d in enumerate(self.days)
                if (last - i) % 7 == 0]


def daily_logins(account: Account, now: datetime | None = None, days: int = DAYS) -> DailyLogins:
    """The account's SSO login successes and failures per UTC day for the last days days, with failure reasons."""
    today = (now or utcnow()).date()
    first = today - timedelta(days=days - 1)
    day = func.date(AuditEvent.time)
    counted = AuditEvent.event_type == Event.SSO_LOGIN_FAILURES_COUNTED.value
    # A flood of unsigned posts past the per-minute rate is one sso.login_failures_counted event per minute
    # whose details.count says how many more there were: those count as failures too.
    rows = db.session.execute(
        select(day, AuditEvent.outcome, AuditEvent.reason, func.count(), counted,
               func.sum(AuditEvent.details["count"].as_integer()))
        .where(AuditEvent.account_id == account.id,
               AuditEvent.event_type.in_((Event.SSO_LOGIN.value, Event.SSO_LOGIN_FAILURES_COUNTED.value)),
               AuditEvent.time >= datetime.combine(first, time.min))
        .group_by(day, AuditEvent.outcome, AuditEvent.reason, counted))
    successes: Counter = Counter()
    failures: Counter = Counter()
    reasons: Counter = Counter()
    for when, outcome, reason, count, is_counted, over_rate in rows:
        key = str(when)[:10]  # SQLite answers 'YYYY-MM-DD', PostgreSQL a date
        if is_counted:
            failures[key] += over_rate or 0
            reasons[COUNTED_REASON] += over_rate or 0
        elif outcome == "failure":
            failures[key] += count
            reasons[reason or "unknown"] += count
        else:
            successes[key] += count
    dates = [first + timedelta(days=i) for i in range(days)]
    return DailyLogins(days=[Day(d, successes[d.isoformat()], failures[d.isoformat()]) for d in dates],
                       reasons=sorted(reasons.items(), key=lambda item: (-item[1], item[0])))
