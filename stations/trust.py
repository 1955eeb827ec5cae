"""Trust that follows evidence: what workers' reports make of a station (issue 13).

The rule
--------
Every station is ``ok``, ``unverified`` or ``flagged`` (:data:`TRUST_STATES`), with
``last_verified``: the later of the union's last inspection (``verified_on``) and the last
"still correct" (``ok``) report.

1. **Flagged.** A problem kind (any report kind but ``ok``) flags the station when reports of
   that kind from ``NUANXIN_TRUST_REPORTS`` (default 3) *distinct clients* fall within
   ``NUANXIN_TRUST_WINDOW_DAYS`` (default 7) days of each other. A client is the day's salted
   key of the sender's address (:func:`webmap.security.client_fingerprint`): the same phone
   twice in a day counts once; nothing links it to a person or across days (so one address
   on two days counts as two clients: the price of keeping no address). The flag names the
   kind with the most clients (``problem``; the latest wins a tie) and says why in Chinese
   (``trust_reason``). A flag does not fade with time: it stays until cleared.
2. **What counts.** Only open reports (not yet settled or dismissed by the union), sent after
   the last union inspection (a report on the day of an inspection counts as seen by it).
3. **Cleared.** A report stops counting when the union settles or dismisses it (the review
   queue), when the union inspects the station (``verified_on``), or when "still correct"
   reports from as many distinct clients (``NUANXIN_TRUST_REPORTS``) came after it: the same
   bar of evidence clears a flag as raises it.
4. **Amenities in doubt.** While ``no_hot_water``, ``no_toilet`` or ``no_charging`` flags a
   station, the amenity it names (:data:`KIND_AMENITIES`) that was recorded ``yes`` reads
   ``unknown`` for workers, with the reason (``amenity_notes``), until the union settles it.
5. **Unverified.** A station that is not flagged and was neither inspected nor confirmed
   "still correct" for ``NUANXIN_UNVERIFIED_DAYS`` (default 180) days -- counted from the day
   it came on the map when it never was -- is ``unverified``. This depends on the date only,
   so it is worked out when read (:func:`trust_of`); ``ok``/``flagged`` are stored on the
   station row by :func:`refresh` after every report and every settlement.

Flagged stations rank below unflagged ones in nearest answers (``geodata.nearest.index``) and
are drawn differently on the worker map; they never disappear from either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from stations import settings

__all__ = [
    "TRUST_STATES",
    "REPORT_KIND_LABELS_ZH",
    "REPORT_KINDS",
    "PROBLEM_KINDS",
    "KIND_AMENITIES",
    "LEGACY_KINDS",
    "Rule",
    "Report",
    "TrustState",
    "evaluate",
    "trust_of",
    "refresh",
]

TRUST_STATES = ("ok", "unverified", "flagged")
TRUST_LABELS_ZH = {"ok": "信息可靠", "unverified": "待核实", "flagged": "有工人反映问题"}

#: What a worker may report, with the words of the one-tap buttons.
REPORT_KIND_LABELS_ZH = {
    "ok": "信息无误",
    "locked": "锁门/开放时间没开",
    "needs_registration": "需要下载 APP 或登记才能进",
    "no_hot_water": "没有热水",
    "no_toilet": "厕所不能用",
    "no_charging": "不能充电",
    "wrong_location": "位置不对",
    "gone": "已搬走或关闭",
    "other": "其他",
}
REPORT_KINDS = tuple(REPORT_KIND_LABELS_ZH)
PROBLEM_KINDS = tuple(k for k in REPORT_KINDS if k != "ok")
#: Kinds of the first release, still accepted and stored as the kind they became.
LEGACY_KINDS = {"confirmed": "ok", "hours": "locked", "registration": "needs_registration",
                "location": "wrong_location", "closed": "gone", "amenities": "other"}
#: Problem kinds that put an amenity in doubt, and which amenities.
KIND_AMENITIES: dict[str, tuple[str, ...]] = {
    "no_hot_water": ("hot_water",),
    "no_toilet": ("toilet",),
    "no_charging": ("phone_charging", "ebike_charging"),
}


@dataclass(frozen=True)
class Rule:
    """The rule's numbers (defaults: the settings ``TRUST_REPORTS``, ``TRUST_WINDOW_DAYS``,
    ``UNVERIFIED_DAYS``)."""

    reports: int = 3
    window_days: int = 7
    unverified_days: int = 180

    @classmethod
    def from_settings(cls) -> Rule:
        """The configured rule (``NUANXIN_TRUST_*``, ``NUANXIN_UNVERIFIED_DAYS``)."""
        return cls(reports=max(1, int(settings.get("TRUST_REPORTS"))),
                   window_days=max(1, int(settings.get("TRUST_WINDOW_DAYS"))),
                   unverified_days=max(1, int(settings.get("UNVERIFIED_DAYS"))))


@dataclass(frozen=True)
class Report:
    """One worker report as the rule sees it (``created_at``: aware, from the store; a naive
    time is Beijing wall time)."""

    kind: str
    created_at: datetime
    client: str | None = None
    status: str = "new"
    id: int | None = None

    @property
    def who(self) -> str:
        """The client; a report from before clients were kept counts as its own client."""
        return self.client or f"#report-{self.id}-{self.created_at.isoformat()}"

    @classmethod
    def from_row(cls, row: Mapping) -> Report:
        return cls(kind=row["kind"], created_at=row["created_at"],
                   client=row.get("client_key"), status=row.get("status") or "new",
                   id=row.get("id"))


@dataclass(frozen=True)
class TrustState:
    """What :func:`evaluate` makes of a station's reports (the stored part of trust)."""

    trust: str = "ok"  # ok or flagged
    problem: str | None = None
    reason: str = ""
    confirmed_on: date | None = None
    amenity_notes: dict[str, str] = field(default_factory=dict)
    #: per problem kind: the most distinct clients within one window (counting reports)
    clients: dict[str, int] = field(default_factory=dict)


def _max_clients_in_window(reports: Sequence[Report], window: timedelta) -> tuple[int, datetime]:
    """The most distinct clients whose reports fall within ``window`` of each other, and the
    time of the latest report of the best window."""
    ordered = sorted(reports, key=lambda r: r.created_at)
    best, latest = 0, ordered[-1].created_at
    for end, last in enumerate(ordered):
        clients = {r.who for r in ordered[:end + 1] if last.created_at - r.created_at < window}
        if len(clients) >= best:
            best, latest = len(clients), last.created_at
    return best, latest


def evaluate(reports: Iterable[Report], *, verified_on: date | None = None,
             amenities: Mapping[str, str] | None = None, rule: Rule | None = None,
             now: datetime | None = None) -> TrustState:
    """Apply the rule (module docstring) to one station's reports at ``now``.

    Parameters
    ----------
    reports : iterable of Report
        The station's reports (any status; reports after ``now`` are ignored).
    verified_on : date, optional
        The union's last inspection.
    amenities : mapping, optional
        The recorded amenities (only ``yes`` ones are put in doubt).
    """
    rule = rule or Rule.from_settings()
    now = settings.local_time(now or settings.wall_now())
    # every time in Beijing time: days are Beijing days
    seen = [r for r in (dataclasses.replace(r, created_at=settings.local_time(r.created_at))
                        for r in reports) if r.created_at <= now]
    oks = [r for r in seen if r.kind == "ok" and r.status != "dismissed"]
    confirmed_on = max((r.created_at.date() for r in oks), default=None)
    open_problems = [r for r in seen if r.kind != "ok" and r.status == "new"
                     and (verified_on is None or r.created_at.date() > verified_on)]

    def cleared(report: Report) -> bool:
        return len({o.who for o in oks if o.created_at > report.created_at}) >= rule.reports

    counting = [r for r in open_problems if not cleared(r)]
    by_kind: dict[str, list[Report]] = {}
    for r in counting:
        by_kind.setdefault(r.kind, []).append(r)
    window = timedelta(days=rule.window_days)
    clients: dict[str, int] = {}
    latest: dict[str, datetime] = {}
    for kind, group in by_kind.items():
        clients[kind], latest[kind] = _max_clients_in_window(group, window)
    active = [k for k, n in clients.items() if n >= rule.reports]
    if not active:
        return TrustState(confirmed_on=confirmed_on, clients=clients)
    problem = max(active, key=lambda k: (clients[k], latest[k]))
    when = latest[problem]
    reason = (f"{clients[problem]} 位师傅在 {rule.window_days} 天内反映“"
              f"{REPORT_KIND_LABELS_ZH.get(problem, problem)}”（最近一次 {when.month} 月 "
              f"{when.day} 日），工会正在核实")
    notes: dict[str, str] = {}
    for kind in sorted(active):
        for key in KIND_AMENITIES.get(kind, ()):
            if (amenities or {}).get(key) == "yes":
                notes[key] = (f"{clients[kind]} 位师傅反映“{REPORT_KIND_LABELS_ZH[kind]}”，"
                              "待工会核实")
    return TrustState(trust="flagged", problem=problem, reason=reason,
                      confirmed_on=confirmed_on, amenity_notes=notes, clients=clients)


def trust_of(station, *, today: date | None = None, rule: Rule | None = None
             ) -> tuple[str, str]:
    """``(trust, trust_reason)`` of a :class:`~stations.records.Station` as workers see it
    today: the stored flag, else ``unverified`` when neither the union nor workers verified
    it for ``unverified_days`` (from the day it came on the map when never), else ``ok``."""
    if station.trust == "flagged":
        return "flagged", station.trust_reason or "有工人反映问题，工会正在核实"
    days = rule.unverified_days if rule else max(1, int(settings.get("UNVERIFIED_DAYS")))
    today = today or settings.now().date()
    last = station.last_verified
    since = last or (settings.local_time(station.created_at).date()
                     if station.created_at else None)
    if since is None:  # a record not yet stored: nothing to go by
        return "ok", ""
    if (today - since).days > days:
        if last is None:
            return "unverified", f"上图后超过 {days} 天未核实"
        return "unverified", f"超过 {days} 天未核实（上次核实 {last.isoformat()}）"
    return "ok", ""


def refresh(store, station_id: int, *, now: datetime | None = None,
            rule: Rule | None = None) -> TrustState:
    """Re-apply the rule to one station from its stored reports and write the result on its
    row (only when it changed: the station snapshot is rebuilt then)."""
    from stations import worker_reports

    station = store.get_station(station_id)
    rows = worker_reports.trust_evidence(store, station_id)
    state = evaluate((Report.from_row(r) for r in rows), verified_on=station.verified_on,
                     amenities=station.amenities, rule=rule, now=now)
    worker_reports.write_trust(store, station_id, trust=state.trust, problem=state.problem,
                               reason=state.reason, confirmed_on=state.confirmed_on,
                               amenity_notes=state.amenity_notes)
    return state
