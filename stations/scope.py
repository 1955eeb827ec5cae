"""Who may change what: an account's role and area, checked on the server for every write.

A city has one ``admin`` union (every station), 16 ``district`` unions (one district each),
300+ ``street`` unions (one street each) and ``viewer`` accounts that only read. Stations,
candidates, demand points and worker reports belong to the district and street where they
are; a write outside the acting account's area is refused with
:class:`~stations.errors.ForbiddenError` (HTTP 403) and changes nothing.

Areas are compared by their official codes when both sides have one (``110102`` for 西城区,
``110102020`` for 广安门外街道), else by the canonical names; callers resolve names through the
gazetteer (:mod:`geodata.places.gazetteer`) before they build a :class:`Scope`.
"""

from __future__ import annotations

from dataclasses import dataclass

from stations.errors import ForbiddenError, ValidationError

__all__ = ["ROLES", "ROLE_LABELS_ZH", "LEGACY_ROLES", "Scope", "Area", "ADMIN", "account_role"]

ROLES = ("admin", "district", "street", "viewer")
ROLE_LABELS_ZH = {"admin": "市总工会（全市）", "district": "区总工会", "street": "街道工会",
                  "viewer": "只读"}
#: Roles of accounts made before the four roles existed. ``staff`` could write everywhere;
#: it becomes an editor of the union it names (its street, else its district, else the city:
#: what it could write before scopes were checked). Mapped on read (:func:`account_role`), so
#: an old row needs no migration and nothing is lost; ``nuanxin users list`` shows the new role.
LEGACY_ROLES = ("staff",)


def account_role(role: str | None, *, district: str = "", street: str = "") -> str:
    """The role an account row means: one of :data:`ROLES` (``staff`` mapped, see
    :data:`LEGACY_ROLES`); :class:`ValidationError` for anything else."""
    role = (role or "").strip()
    if role in ROLES:
        return role
    if role in LEGACY_ROLES:
        return "street" if street else "district" if district else "admin"
    raise ValidationError(f"角色无效 {role!r} (role must be one of {', '.join(ROLES)})")


@dataclass(frozen=True)
class Area:
    """Where a thing is: district and street, by name and code (any may be empty)."""

    district: str = ""
    district_code: str = ""
    street: str = ""
    street_code: str = ""

    def label(self) -> str:
        return " ".join(p for p in (self.district, self.street) if p) or "（未定位）"


def _same(name_a: str, code_a: str, name_b: str, code_b: str) -> bool:
    if code_a and code_b:
        return code_a == code_b
    return bool(name_a) and name_a == name_b


@dataclass(frozen=True)
class Scope:
    """An account's role and its area (``district``/``street`` names and codes)."""

    role: str
    area: Area = Area()
    username: str = ""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(f"角色无效 {self.role!r} (role must be one of "
                                  f"{', '.join(ROLES)})")

    @property
    def can_write(self) -> bool:
        return self.role != "viewer"

    def covers(self, area: Area) -> bool:
        """Whether ``area`` lies inside this account's area.

        ``admin`` covers the city; a ``street`` account its street (and district, when
        given); a ``district`` account its district; a ``viewer`` its area when it has one,
        else the city. An area-bound role without an area covers nothing.
        """
        if self.role == "admin":
            return True
        mine = self.area
        in_district = _same(mine.district, mine.district_code, area.district, area.district_code)
        if self.role == "street" or (self.role == "viewer" and (mine.street or mine.street_code)):
            has_district = bool(mine.district or mine.district_code)
            return _same(mine.street, mine.street_code, area.street, area.street_code) and (
                not has_district or in_district)
        if self.role == "district" or (mine.district or mine.district_code):
            return in_district
        return self.role == "viewer"

    @property
    def jurisdiction(self) -> tuple[str, str]:
        """``(district, street)`` the screening rule ``in_area`` applies for this account:
        its area for ``district``/``street`` accounts, none (``("", "")``: not applicable)
        for the city-wide ``admin``."""
        if self.role in ("district", "street"):
            return self.area.district, self.area.street if self.role == "street" else ""
        return "", ""

    def check_write(self, area: Area, *, what: str = "站点") -> None:
        """Raise :class:`ForbiddenError` unless this account may write at ``area``."""
        if not self.can_write:
            raise ForbiddenError(f"只读账号不能修改 (the {self.role} account {self.username!r} "
                                 "is read-only)", detail={"role": self.role})
        if self.role == "admin" or self.covers(area):
            return
        raise ForbiddenError(
            f"{what}位于 {area.label()}，不在本账号的管辖范围（{self.area.label()}）内 "
            f"(outside the account's area)",
            detail={"role": self.role, "scope": self.area.label(), "target": area.label()})


#: The whole city, writable (the CLI acts as this unless told otherwise).
ADMIN = Scope("admin", Area(), "admin")
