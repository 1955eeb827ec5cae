"""Which district and street a thing belongs to: from where it is, else from what it says.

Stations, candidate hosts and demand points *belong* to the district and street where they
are (issue 10): a district union edits its district's stations, a street union its street's.
So their ``district``/``street`` (and codes) are derived here, in one place, on every import
and every move:

* **The location wins.** A point inside the shipped Beijing data takes the district of its
  district polygon and the street of its (approximate) street polygon
  (:func:`geodata.places.areas.locate_many`), whatever the sheet or the form typed.
* **Typed names only where the data cannot say.** A point outside every district polygon (or
  a record without coordinates) keeps the typed names, canonicalised by the gazetteer when it
  knows them (``广外`` → ``广安门外街道``, with codes), else as written without codes. A point
  inside a district but outside every street polygon keeps a typed street only when that street
  is in the point's district.

:func:`area_of_names` resolves names alone (``strict=True`` for account areas, where an
unknown or misplaced name is refused). Every answer is a :class:`stations.scope.Area`: canonical
names and official codes, which :class:`stations.scope.Scope` compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from geodata.errors import GeodataError
from stations.errors import ValidationError
from stations.scope import Area

__all__ = ["areas_at", "area_at", "area_of_names", "area_of_record", "assign_areas"]


@lru_cache(maxsize=1)
def _gazetteer():
    from geodata.places.gazetteer import load_gazetteer

    return load_gazetteer()


class _Names:
    """Gazetteer lookups with a memo (an import resolves the same few names many times)."""

    def __init__(self) -> None:
        self.gazetteer = _gazetteer()
        self._districts: dict[str, object] = {}
        self._streets: dict[tuple[str, str], object] = {}

    def district(self, name: str):
        """The district place written ``name``, or ``None`` (unknown or ambiguous)."""
        if not name:
            return None
        if name not in self._districts:
            try:
                self._districts[name] = self.gazetteer.find_district(name)
            except GeodataError:
                self._districts[name] = None
        return self._districts[name]

    def street(self, name: str, district_code: str = ""):
        """The street place written ``name`` (within a district code), or ``None``."""
        if not name:
            return None
        key = (name, district_code)
        if key not in self._streets:
            try:
                self._streets[key] = self.gazetteer.find_street(
                    name, district=district_code or None)
            except GeodataError:
                self._streets[key] = None
        return self._streets[key]

    def typed(self, district: str, street: str) -> Area:
        """Typed names, canonical where the gazetteer knows them (codes too), else as written."""
        d = self.district(district)
        s = self.street(street, d.code if d is not None else "")
        if d is None and s is not None:
            d = self.district(s.district_code)
        return Area(district=d.name if d is not None else district,
                    district_code=d.code if d is not None else "",
                    street=s.name if s is not None else street,
                    street_code=s.code if s is not None else "")

    def located(self, district: str, street: str | None, typed_street: str) -> Area:
        """The area of a point found in ``district`` (and ``street`` when a polygon had it)."""
        d = self.district(district)
        d_code = d.code if d is not None else ""
        s = self.street(street or typed_street, d_code)
        return Area(district=d.name if d is not None else district, district_code=d_code,
                    street=s.name if s is not None else (street or ""),
                    street_code=s.code if s is not None else "")


def _text(values: Sequence[str] | None, n: int) -> list[str]:
    if values is None:
        return [""] * n
    out = [str(v or "").strip() for v in values]
    if len(out) != n:
        raise GeodataError(f"需要 {n} 个名称，得到 {len(out)} 个 "
                           "(names and points differ in length)")
    return out


def areas_at(lon: Sequence[float | None], lat: Sequence[float | None], *,
             districts: Sequence[str] | None = None, streets: Sequence[str] | None = None
             ) -> list[Area]:
    """The area of each WGS84 point (see the module docstring for which value wins).

    Parameters
    ----------
    lon, lat : sequences of float or None
        WGS84 degrees; ``None``/NaN for a record without a position (its names decide).
    districts, streets : sequences of str, optional
        What the records typed, one per point (used only where the location cannot say).

    Returns
    -------
    list of stations.scope.Area
    """
    n = len(lon)
    typed_d, typed_s = _text(districts, n), _text(streets, n)
    names = _Names()
    xs = [float("nan") if v is None else float(v) for v in lon]
    ys = [float("nan") if v is None else float(v) for v in lat]
    if n == 0:
        return []
    from geodata.places.areas import locate_many

    found = locate_many(xs, ys)
    out = []
    for (district, street), d_typed, s_typed in zip(found, typed_d, typed_s, strict=True):
        if district is None:
            out.append(names.typed(d_typed, s_typed))
        else:
            out.append(names.located(district, street, s_typed if street is None else ""))
    return out


def area_at(lon: float | None, lat: float | None, *, district: str = "", street: str = ""
            ) -> Area:
    """The area of one WGS84 point (:func:`areas_at` for one)."""
    return areas_at([lon], [lat], districts=[district], streets=[street])[0]


@lru_cache(maxsize=4096)
def _named(district: str, street: str) -> Area:
    """Lenient :func:`area_of_names`, memoised (lists resolve the same names over and over)."""
    return _Names().typed(district, street)


def area_of_names(district: str = "", street: str = "", *, strict: bool = False) -> Area:
    """The area named by a district and/or street (any form the gazetteer accepts).

    Parameters
    ----------
    strict : bool
        ``True`` refuses what it cannot resolve (an account's area must be a real place):
        :class:`~stations.errors.ValidationError` for an unknown or ambiguous district or
        street, and for a street that is not in the given district. ``False`` keeps unknown
        names as written, without codes.
    """
    district, street = (district or "").strip(), (street or "").strip()
    if not strict:
        return _named(district, street)
    names = _Names()
    gazetteer = names.gazetteer
    d = None
    if district:
        try:
            d = gazetteer.find_district(district)
        except GeodataError as exc:
            raise ValidationError(exc.message, detail={**(exc.detail or {}),
                                                       "field": "district"}) from None
    if not street:
        return Area(district=d.name, district_code=d.code) if d is not None else Area()
    try:
        s = gazetteer.find_street(street, district=d)
    except GeodataError as exc:
        elsewhere = names.street(street) if d is not None else None
        if elsewhere is not None:
            raise ValidationError(
                f"街道 {street}（{elsewhere.name}）属于{elsewhere.district}，不在{d.name} "
                f"(street {street!r} is {elsewhere.name} in {elsewhere.district}, not in "
                f"{d.name})", detail={"field": "street", "street": elsewhere.name,
                                      "district": elsewhere.district,
                                      "given_district": d.name}) from None
        raise ValidationError(exc.message, detail={**(exc.detail or {}),
                                                   "field": "street"}) from None
    return Area(district=s.district, district_code=s.district_code, street=s.name,
                street_code=s.code)


def area_of_record(record: object) -> Area:
    """The stored area of a station, candidate or demand point (any object or mapping with
    ``district``/``street`` and optionally their ``*_code``), codes filled in by the gazetteer
    when a record lacks them (rows written before codes were derived)."""
    def get(key: str) -> str:
        value = record.get(key) if isinstance(record, dict) else getattr(record, key, "")
        return str(value or "").strip()

    area = Area(district=get("district"), district_code=get("district_code"),
                street=get("street"), street_code=get("street_code"))
    if (area.district and not area.district_code) or (area.street and not area.street_code):
        named = area_of_names(area.district, area.street)
        area = Area(district=named.district,
                    district_code=area.district_code or named.district_code,
                    street=named.street, street_code=area.street_code or named.street_code)
    return area


def assign_areas(records) -> list:
    """Set each record's ``district``/``street`` (and ``district_code``/``street_code`` when it
    has them) from its ``lon``/``lat`` (:func:`areas_at`); objects such as
    :class:`stations.records.Station` are changed in place and returned as a list."""
    records = list(records)
    areas = areas_at([r.lon for r in records], [r.lat for r in records],
                     districts=[r.district for r in records],
                     streets=[r.street for r in records])
    for record, area in zip(records, areas, strict=True):
        record.district, record.street = area.district, area.street
        if hasattr(record, "district_code"):
            record.district_code, record.street_code = area.district_code, area.street_code
    return records
