"""The union's review queue (issue 13 item 3): open problems per station, the union's answer,
figures per street, and stations that no longer meet a hard rule.

Settling is one transaction: the change (through :mod:`stations.lifecycle` for a status,
:meth:`stations.store.Store.update_station` for hours, amenities or the inspection date, both
audited), the audit row of a dismissal, and the reports marked with how, why, by whom and
when. Then the station's trust is worked out again (:func:`stations.trust.refresh`). Scope is
checked by the caller (the dashboard) before anything here runs.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from stations import audit, lifecycle, settings, trust, worker_reports
from stations.amenities import AMENITIES, normalise_amenities
from stations.errors import ValidationError
from stations.hours import OpeningHours
from stations.records import Station, parse_access
from stations.scope import Area
from stations.standard import ScreeningContext, Standard

__all__ = ["ACTIONS", "ACTION_LABELS_ZH", "RECHECK_RULES", "StationProblems", "queue",
           "settle", "street_figures", "failing_hard_rules"]

#: The union's answers: confirm (and act) or dismiss.
ACTION_LABELS_ZH = {
    "verify": "现场核实：信息无误",
    "hours": "确认：修改开放时间",
    "amenities": "确认：修改设施",
    "access": "确认：修改进入方式",
    "move": "确认：按工人标注移动位置",
    "suspend": "确认：暂停站点",
    "close": "确认：关闭站点",
    "dismiss": "不予采纳",
}
ACTIONS = tuple(ACTION_LABELS_ZH)
#: Report status each action leaves the reports in.
_STATUS = {a: ("dismissed" if a == "dismiss" else "handled") for a in ACTIONS}
#: Rules of the screening standard re-checked against confirmed evidence.
RECHECK_RULES = ("hours", "access", "core_kit", "toilet")


@dataclass
class StationProblems:
    """One station's open problem reports (the evidence) as the queue shows them."""

    station_id: int
    name: str
    code: str
    street: str
    district: str
    status: str
    reports: list[dict] = field(default_factory=list)

    @property
    def newest(self) -> datetime:
        return max(r["created_at"] for r in self.reports)

    @property
    def clients(self) -> int:
        """Distinct clients behind the open reports."""
        return len({r.get("client_key") or f"#{r['id']}" for r in self.reports})

    @property
    def kinds(self) -> dict[str, int]:
        """Open reports per kind, most first."""
        counts: dict[str, int] = {}
        for r in self.reports:
            counts[r["kind"]] = counts.get(r["kind"], 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    @property
    def pins(self) -> list[tuple[float, float]]:
        """Where "wrong location" reports put the station (WGS84 lon, lat)."""
        return [(r["lon"], r["lat"]) for r in self.reports
                if r["kind"] == "wrong_location" and r.get("lon") is not None]


def queue(store, *, area: Area | None = None, order: str = "most") -> list[StationProblems]:
    """Stations in ``area`` with open problem reports: most-reported (distinct clients)
    first, then newest (``order="most"``), or newest first (``order="newest"``)."""
    by_station: dict[int, StationProblems] = {}
    for row in worker_reports.open_problem_reports(store, area=area):
        entry = by_station.get(row["station_id"])
        if entry is None:
            entry = by_station[row["station_id"]] = StationProblems(
                station_id=row["station_id"], name=row["station_name"],
                code=row["station_code"], street=row["station_street"] or "",
                district=row["station_district"] or "", status=row["station_status"])
        entry.reports.append(row)
    items = list(by_station.values())
    if order == "newest":
        items.sort(key=lambda e: (e.newest, e.clients), reverse=True)
    else:
        items.sort(key=lambda e: (e.clients, e.newest), reverse=True)
    return items


def _changed(station: Station, action: str, values: Mapping, today: date) -> Station | None:
    """The station after an action that edits it (``None`` for the others)."""
    if action == "hours":
        text = str(values.get("opening_hours") or "").strip()
        try:
            hours = OpeningHours.parse(text).to_text() if text else ""
        except ValueError as exc:
            raise ValidationError(f"开放时间无法识别 (opening_hours): {exc}",
                                  detail={"param": "opening_hours", "value": text}) from exc
        return dataclasses.replace(station, opening_hours=hours, verified_on=today)
    if action == "amenities":
        given = values.get("amenities") or {}
        amenities = {**station.amenities, **normalise_amenities(given)}
        return dataclasses.replace(station, amenities=amenities, verified_on=today)
    if action == "access":
        return dataclasses.replace(station, access=parse_access(values.get("access")),
                                   verified_on=today)
    if action == "move":
        lon, lat = values.get("lon"), values.get("lat")
        if lon is None or lat is None:
            raise ValidationError("移动位置需要经纬度 (move needs lon and lat)",
                                  detail={"param": "lon"})
        lon, lat = float(lon), float(lat)
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
                and -90 <= lat <= 90):
            raise ValidationError("经纬度超出范围 (need -180 ≤ lon ≤ 180, -90 ≤ lat ≤ 90)",
                                  detail={"param": "lon"})
        return dataclasses.replace(station, lon=lon, lat=lat, verified_on=today)
    return dataclasses.replace(station, verified_on=today)


def settle(store, station_id: int, action: str, *, actor: str, reason: str = "",
           values: Mapping | None = None, kinds: Sequence[str] | None = None,
           now: datetime | None = None) -> dict:
    """The union's answer to a station's open problem reports.

    ``action`` is one of :data:`ACTIONS`: ``verify`` (inspected, all correct), ``hours``
    (``values["opening_hours"]``), ``amenities`` (``values["amenities"]``, key → yes/no/
    unknown), ``access`` (``values["access"]``), ``move`` (``values["lon"]``,
    ``values["lat"]``, WGS84), ``suspend`` or ``close`` (``reason`` required; through the
    lifecycle), or ``dismiss`` (``reason`` required). Every action but ``dismiss`` is an
    inspection: ``verified_on`` becomes today. The open reports (of ``kinds``, default every
    kind) are marked handled or dismissed. Returns ``{settled: [report ids], trust: ...}``.
    """
    if action not in ACTIONS:
        raise ValidationError(f"未知处理方式 {action!r} (action must be one of "
                              f"{', '.join(ACTIONS)})", detail={"param": "action"})
    reason = (reason or "").strip()
    if action in ("suspend", "close", "dismiss") and not reason:
        raise ValidationError("请填写原因 (a reason is required)", detail={"param": "reason"})
    now = now or settings.wall_now()
    note = reason or ACTION_LABELS_ZH[action]
    with store.transaction() as conn:
        station = store.lock_station(station_id, conn=conn)
        if action == "dismiss":
            stage = audit.stage_of_status(station.status)
            audit.record_event(conn, candidate_id=None, station_id=station_id, actor=actor,
                               frm=stage, to=stage, action="dismiss_reports",
                               note=f"工人反馈不予采纳：{reason}")
        else:
            after = _changed(station, action, values or {}, settings.local_time(now).date())
            store.update_station(after, conn=conn, actor=actor,
                                 action="move" if action == "move" else "review",
                                 note=f"处理工人反馈：{note}")
        if action in ("suspend", "close"):
            getattr(lifecycle, action)(store, station_id=station_id, actor=actor,
                                       reason=reason, conn=conn)
        settled = worker_reports.settle_reports(
            store, station_id, kinds=kinds or trust.PROBLEM_KINDS, status=_STATUS[action],
            resolution=action, reason=note, by=actor, at=now, conn=conn)
    state = trust.refresh(store, station_id, now=now)
    return {"settled": settled, "trust": state.trust, "problem": state.problem}


def street_figures(store, stations: Sequence[Station], *, area: Area | None = None,
                   today: date | None = None, rule: trust.Rule | None = None) -> list[dict]:
    """Per street of ``stations`` (those in ``area``): open problem reports, flagged stations,
    median hours to settle a report, and open stations not verified in ``unverified_days``."""
    rule = rule or trust.Rule.from_settings()
    today = today or settings.now().date()
    rows: dict[str, dict] = {}

    def row(street: str) -> dict:
        return rows.setdefault(street or "（未填街道）", {
            "street": street or "（未填街道）", "stations": 0, "open_problems": 0,
            "flagged": 0, "unverified": 0, "_hours": []})

    for s in stations:
        if s.status != "open":
            continue
        r = row(s.street)
        r["stations"] += 1
        state, _ = trust.trust_of(s, today=today, rule=rule)
        r["flagged"] += state == "flagged"
        r["unverified"] += state == "unverified"
    for rep in worker_reports.open_problem_reports(store, area=area):
        row(rep["station_street"])["open_problems"] += 1
    for rep in worker_reports.settled_reports(store, area=area):
        hours = (rep["settled_at"] - rep["created_at"]).total_seconds() / 3600
        row(rep["station_street"])["_hours"].append(hours)
    out = []
    for r in sorted(rows.values(), key=lambda x: x["street"]):
        hours = r.pop("_hours")
        r["settled"] = len(hours)
        r["median_hours_to_settle"] = round(statistics.median(hours), 1) if hours else None
        out.append(r)
    return out


#: Answers that confirmed workers' evidence by changing the record.
CONFIRMING = ("hours", "amenities", "access")


def failing_hard_rules(store, stations: Sequence[Station], standard: Standard, *,
                       area: Area | None = None) -> list[dict]:
    """Open stations whose record the union changed on workers' evidence (:data:`CONFIRMING`)
    and that no longer meet a hard rule of :data:`RECHECK_RULES` (hours, access, kit,
    toilet), judged as workers see them: ``[{station, failed: [RuleOutcome]}]``."""
    rules = [r for r in standard.rules if r.hard and r.name in RECHECK_RULES]
    confirmed = worker_reports.confirmed_station_ids(store, CONFIRMING, area=area)
    out = []
    for s in stations:
        if s.status != "open" or s.id not in confirmed:
            continue
        seen = dataclasses.replace(s, amenities={k: s.worker_amenities().get(k, "unknown")
                                                 for k in AMENITIES})
        failed = [o for o in (rule.evaluate(seen, ScreeningContext()) for rule in rules)
                  if o.outcome == "fail"]
        if failed:
            out.append({"station": s, "failed": failed})
    return out
