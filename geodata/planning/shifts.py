"""Time of day for coverage: who is on shift, which stations are open.

* :func:`on_shift` — a demand point with a shift counts at a moment only inside its shift
  (``22:00-06:00`` runs past midnight); a point without a shift always counts.
* :func:`station_masks` — per class of demand point (no shift, or one class per distinct
  shift), the stations it may use: open at ``at``, or open at some moment of its shift on
  ``day`` (:meth:`stations.hours.OpeningHours.open_during`).

Used by :mod:`geodata.planning.coverage` (re-exported there).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import numpy as np

from geodata.planning.demand import DemandSet
from stations.errors import ValidationError
from stations.hours import TZ, hours_of
from stations.settings import now

__all__ = ["on_shift", "station_masks"]


def _shift_window(start: int, end: int, at: datetime | None, day: date) -> tuple[datetime,
                                                                              datetime]:
    if at is not None:
        local = at.astimezone(TZ) if at.tzinfo else at.replace(tzinfo=TZ)
        day = local.date()
        minute = local.hour * 60 + local.minute
        if end > 1440 and minute < end - 1440 and minute < start:
            day -= timedelta(days=1)  # still inside the shift that began yesterday
    base = datetime.combine(day, time(), tzinfo=TZ)
    return base + timedelta(minutes=int(start)), base + timedelta(minutes=int(end))


def on_shift(demand: DemandSet, at: datetime) -> np.ndarray:
    """Boolean per demand point: on shift at ``at`` (local time), or without a shift."""
    local = at.astimezone(TZ) if at.tzinfo else at.replace(tzinfo=TZ)
    minute = local.hour * 60 + local.minute
    start, end = demand.shift_start, demand.shift_end
    inside = ((start <= minute) & (minute < end)) | ((end > 1440) & (minute + 1440 < end))
    return (start < 0) | inside


def station_masks(hours_text: Sequence[str], demand: DemandSet, *, at: datetime | None = None,
                  day: date | None = None, unknown_hours: str = "exclude"
                  ) -> tuple[np.ndarray | None, list[np.ndarray] | None, dict]:
    """Eligibility classes for time-of-day coverage.

    Returns ``(demand_class, class_masks, info)``: ``None, None`` when nothing restricts
    (no ``at``, no shifts). ``info`` counts stations with unknown hours.
    """
    if unknown_hours not in ("exclude", "include"):
        raise ValidationError("unknown_hours must be 'exclude' or 'include'")
    has_shift = demand.shift_start >= 0
    info = {"stations_unknown_hours": 0}
    if at is None and not has_shift.any():
        return None, None, info
    texts = np.asarray(hours_text, dtype=object)
    uniq, inverse = np.unique(texts.astype(str), return_inverse=True)
    parsed = [hours_of(t) for t in uniq]
    info["stations_unknown_hours"] = int(sum(parsed[i].unknown for i in inverse))
    day = day or now().date()

    def verdict(values: list) -> np.ndarray:
        ok = np.array([v is True or (v is None and unknown_hours == "include") for v in values],
                      dtype=bool)
        return ok[inverse] if inverse.size else np.zeros(0, dtype=bool)

    base = np.ones(texts.size, dtype=bool) if at is None else verdict(
        [h.is_open(at) for h in parsed])
    demand_class = np.zeros(len(demand), dtype=np.int64)
    masks = [base]
    if has_shift.any():
        pairs = np.stack([demand.shift_start, demand.shift_end], axis=1)
        shifts, shift_inv = np.unique(pairs[has_shift], axis=0, return_inverse=True)
        demand_class[has_shift] = shift_inv.ravel() + 1
        for s, e in shifts:
            a, b = _shift_window(int(s), int(e), at, day)
            masks.append(base & verdict([h.open_during(a, b) for h in parsed]))
    return demand_class, masks, info
