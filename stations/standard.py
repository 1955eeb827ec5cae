"""The screening standard: rules a candidate host must meet, read from an editable TOML file.

The default (``stations/standard.toml``) is drawn from the published local rules in DOMAIN.md;
a union edits a copy and points ``NUANXIN_STANDARD`` (or an explicit path) at it. Each rule
looks at one candidate plus a :class:`ScreeningContext` computed elsewhere (distance to the
nearest open station, whether the area is dense, the union's district and street) and answers
``pass``, ``fail`` or ``unknown`` with a reason in Chinese. Missing data is always ``unknown``,
never ``pass``.

The jurisdiction comes from the union, not the file (issue 10): the ``in_area`` rule applies the
acting account's area (dashboard) or ``--union-district``/``--union-street`` (CLI), passed in
the context. Without one it answers ``not_applicable``: neither pass nor fail, left out of the
overall result and of the best possible score. The shipped standard names no place, and a
standard file with a ``[union]`` table is refused (the place belongs to the account).

Hard rules decide the result (fail if any hard rule fails; unknown if none fails but a hard
rule is unknown; pass otherwise); scored rules only add points. The total score ranks
candidates: a hard rule earns its weight on pass, a scored rule a share of it.

Pure domain: no database, no geography. The geodata layer computes the context.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from stations import settings
from stations.amenities import AMENITIES, AMENITY_LABELS_ZH
from stations.errors import ValidationError

__all__ = [
    "DEFAULT_STANDARD_PATH",
    "OUTCOMES",
    "RULE_OUTCOMES",
    "NOT_APPLICABLE",
    "RULES",
    "RuleOutcome",
    "Rule",
    "Screening",
    "ScreeningContext",
    "Standard",
    "load_standard",
    "area_key",
]

DEFAULT_STANDARD_PATH = Path(__file__).with_name("standard.toml")
#: Overall results of a screening.
OUTCOMES = ("pass", "fail", "unknown")
#: A rule that does not apply (``in_area`` without a jurisdiction): counts for nothing.
NOT_APPLICABLE = "not_applicable"
#: What one rule may answer.
RULE_OUTCOMES = (*OUTCOMES, NOT_APPLICABLE)
_OUTCOME_ZH = {"pass": "符合", "fail": "不符合", "unknown": "待确认", NOT_APPLICABLE: "不适用"}


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule says about one candidate."""

    rule: str
    outcome: str
    detail: str
    hard: bool
    score: float
    label: str = ""

    def as_dict(self) -> dict:
        """JSON form: ``{rule, label, outcome, detail, hard, score}``."""
        return {"rule": self.rule, "label": self.label, "outcome": self.outcome,
                "detail": self.detail, "hard": self.hard, "score": round(self.score, 2)}


@dataclass(frozen=True)
class Screening:
    """The verdict on one candidate: overall result, total score, every rule's outcome."""

    result: str
    score: float
    max_score: float
    reasons: tuple[RuleOutcome, ...]

    def as_dict(self) -> dict:
        """JSON form: ``{result, score, max_score, reasons: [...]}``."""
        return {"result": self.result, "score": round(self.score, 2),
                "max_score": round(self.max_score, 2),
                "reasons": [r.as_dict() for r in self.reasons]}

    def summary_zh(self) -> str:
        """One line in Chinese: the result and the hard rules that failed or are unknown."""
        head = f"{_OUTCOME_ZH[self.result]}（{self.score:.0f}/{self.max_score:.0f} 分）"
        problems = [f"{r.label}{_OUTCOME_ZH[r.outcome]}" for r in self.reasons
                    if r.hard and r.outcome in ("fail", "unknown")]
        return head + ("：" + "；".join(problems) if problems else "")


@dataclass
class ScreeningContext:
    """Facts about a candidate's surroundings, computed by the geodata layer.

    Parameters
    ----------
    nearest_open_station_m : float or None
        Metres to the nearest open station (not the candidate's own); ``math.inf`` when no
        station is open; ``None`` when the candidate has no precise position.
    nearest_station_name : str
        Name of that station, for the reason text.
    dense_area : bool or None
        Whether the area counts as dense (see the ``gap`` rule's parameters); None = unknown.
    union_district, union_street : str
        The acting union's area (its jurisdiction); both empty: ``in_area`` does not apply.
    candidate_district, candidate_street : str
        The candidate's area when the geodata layer resolved it (canonical names); empty means
        "use the candidate's own fields".
    area_note : str
        How the candidate's area was found (e.g. 按近似街道范围判断), appended to the reason.
    placed : bool
        False for a candidate that is not placed (待定位: only a district or city centre):
        ``in_area`` and ``gap`` answer unknown whatever its fields say.
    location_note : str
        Why the position is not good enough for the gap rule (e.g. 位置仅到街道), in its reason.
    """

    nearest_open_station_m: float | None = None
    nearest_station_name: str = ""
    dense_area: bool | None = None
    union_district: str = ""
    union_street: str = ""
    candidate_district: str = ""
    candidate_street: str = ""
    area_note: str = ""
    placed: bool = True
    location_note: str = ""


def _get(candidate: object, key: str, default=None):
    if isinstance(candidate, Mapping):
        return candidate.get(key, default)
    return getattr(candidate, key, default)


_AREA_SUFFIX = re.compile(r"(街道办事处|街道办|街道|地区办事处|地区|办事处|镇|乡|区)$")


def area_key(name: str | None) -> str:
    """Fold a district/street name for comparison (``广安门外街道`` → ``广安门外``)."""
    text = re.sub(r"\s+", "", str(name or ""))
    text = re.sub(r"^(北京市|北京)", "", text)
    return _AREA_SUFFIX.sub("", text) if len(text) > 2 else text


def _clock_minutes(text: str, *, what: str) -> int:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", str(text).strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValidationError(f"标准参数 {what} = {text!r} 不是 HH:MM 时间 (expected HH:MM)")
    return int(m.group(1)) * 60 + int(m.group(2))


def _m(value: float) -> str:
    return f"{value / 1000:.1f} km" if value >= 1000 else f"{value:.0f} m"


# -- the rules ---------------------------------------------------------------------------------
# Each evaluator returns (outcome, detail, share of the weight earned in [0, 1]).
Evaluator = Callable[[object, ScreeningContext, Mapping], tuple[str, str, float]]


def _rule_area(c, ctx, p):
    area = _get(c, "area_m2")
    need = float(p["min_m2"])
    if area is None:
        return "unknown", f"未填写使用面积，无法判断是否达到 {need:g} m²", 0.0
    if float(area) >= need:
        return "pass", f"使用面积 {float(area):g} m²，达到 {need:g} m² 的要求", 1.0
    return "fail", f"使用面积 {float(area):g} m²，低于 {need:g} m² 的要求", 0.0


def _rule_ground_floor(c, ctx, p):
    floor, facing = _get(c, "floor"), _get(c, "street_facing")
    if floor is not None and int(floor) != 1:
        where = f"地下 {-int(floor)} 层" if int(floor) < 0 else f"第 {int(floor)} 层"
        return "fail", f"位于{where}，不在一层", 0.0
    if facing is False:
        return "fail", "不临街，户外劳动者不易找到", 0.0
    if floor is None and facing is None:
        return "unknown", "未填写楼层和是否临街", 0.0
    if floor is None:
        return "unknown", "临街，但未填写楼层", 0.0
    if facing is None:
        return "unknown", "位于一层，但未填写是否临街", 0.0
    return "pass", "位于一层且临街", 1.0


def _group_label(group) -> str:
    return "或".join(AMENITY_LABELS_ZH[a] for a in group)


def _rule_core_kit(c, ctx, p):
    amenities = _get(c, "amenities") or {}
    missing, unsure, have = [], [], []
    for group in p["groups"]:
        states = [amenities.get(a, "unknown") for a in group]
        if "yes" in states:
            have.append(_group_label([a for a, s in zip(group, states, strict=True)
                                      if s == "yes"]))
        elif all(s == "no" for s in states):
            missing.append(_group_label(group))
        else:
            unsure.append(_group_label(group))
    if missing:
        text = "缺少核心设施：" + "、".join(missing)
        if unsure:
            text += "；未确认：" + "、".join(unsure)
        return "fail", text, 0.0
    if unsure:
        return "unknown", "未确认的核心设施：" + "、".join(unsure), 0.0
    return "pass", "核心设施齐全：" + "、".join(have), 1.0


def _rule_toilet(c, ctx, p):
    toilet = (_get(c, "amenities") or {}).get("toilet", "unknown")
    nearby = _get(c, "toilet_nearby")
    if toilet == "yes":
        return "pass", "站内有卫生间", 1.0
    if nearby is True:
        return "pass", "站内无卫生间，已约定可使用附近卫生间", 1.0
    if toilet == "no" and nearby is False:
        return "fail", "站内无卫生间，也没有约定可用的附近卫生间", 0.0
    if toilet == "no":
        return "unknown", "站内无卫生间，附近卫生间是否可用未确认", 0.0
    return "unknown", "未填写是否有卫生间（站内或约定附近）", 0.0


def _hours_of(c):
    from stations.hours import OpeningHours  # sibling topic module

    text = (_get(c, "opening_hours") or "").strip()
    if not text:
        return None, "未填写开放时间"
    try:
        hours = OpeningHours.parse(text)
    except ValueError as exc:
        return None, f"开放时间无法识别（{exc}）"
    if hours.unknown:
        return None, "开放时间未知"
    return hours, ""


_WEEKDAYS_ZH = "一二三四五六日"


def _rule_hours(c, ctx, p):
    hours, why = _hours_of(c)
    if hours is None:
        return "unknown", why, 0.0
    need = float(p["min_hours_per_day"]) * 60
    days_needed = int(p["min_days_per_week"])
    long_days = [d for d in range(7) if hours.minutes_open_on(d) >= need]
    desc = hours.describe_zh()
    if len(long_days) >= days_needed:
        return "pass", (f"每周有 {len(long_days)} 天开放满 {need / 60:g} 小时（{desc}）"), 1.0
    best = hours.max_daily_minutes() / 60
    return "fail", (f"每天开放满 {need / 60:g} 小时的只有 {len(long_days)} 天，"
                    f"要求至少 {days_needed} 天；最长一天 {best:.1f} 小时（{desc}）"), 0.0


def _rule_shift_cover(c, ctx, p):
    hours, why = _hours_of(c)
    if hours is None:
        return "unknown", why + "，无法判断是否覆盖早晚班", 0.0
    early_at = _clock_minutes(p["early_before"], what="early_before")
    late_at = _clock_minutes(p["late_after"], what="late_after")
    early = bool(hours.open_at_minute_any_day((early_at - 1) % 1440))
    late = bool(hours.open_at_minute_any_day(late_at % 1440))
    parts = []
    if hours.always_open:
        parts.append("24 小时开放")
    if early:
        parts.append(f"{p['early_before']} 前已开门（早班）")
    if late:
        parts.append(f"{p['late_after']} 后仍开放（晚班）")
    if not (early or late):
        return "fail", (f"不覆盖早班（{p['early_before']} 前）或晚班（{p['late_after']} 后），"
                        "仅作加分项，不影响是否通过"), 0.0
    return "pass", "，".join(parts), 0.5 * early + 0.5 * late


def _rule_access(c, ctx, p):
    access = _get(c, "access") or "unknown"
    if access == "open":
        return "pass", "直接进入，无需注册或扫码", 1.0
    if access == "ask_staff":
        return "pass", "无需注册，但需联系工作人员开门（建议公示联系电话）", float(
            p["ask_staff_share"])
    if access == "register":
        return "fail", "需下载 App 或扫码注册才能进入，不符合免注册要求", 0.0
    return "unknown", "未填写进入方式（直接进入 / 需注册 / 需联系工作人员）", 0.0


def _rule_in_area(c, ctx, p):
    level = p["level"]
    u_district, u_street = ctx.union_district, ctx.union_street
    if not u_district and not u_street:
        return (NOT_APPLICABLE, "未指定工会辖区，本项不适用 (no jurisdiction: the account's "
                "area or --union-district/--union-street)", 0.0)
    if not ctx.placed:
        return ("unknown", "尚未定位（待定位），无法确认是否在本工会辖区；"
                "请在候选单位页面放置位置标记", 0.0)
    c_district = ctx.candidate_district or _get(c, "district") or ""
    c_street = ctx.candidate_street or _get(c, "street") or ""
    note = f"（{ctx.area_note}）" if ctx.area_note else ""
    if u_street and (level == "street" or not u_district):
        if c_street:
            if area_key(c_street) == area_key(u_street):
                return "pass", f"位于本工会辖区 {u_street}{note}", 1.0
            return "fail", f"位于 {c_street}，不在本工会辖区 {u_street}{note}", 0.0
        if c_district and u_district and area_key(c_district) != area_key(u_district):
            return "fail", f"位于 {c_district}，不在本工会辖区 {u_district}{u_street}{note}", 0.0
        return "unknown", f"所在街道未知，无法确认是否在 {u_street}", 0.0
    if not c_district:
        return "unknown", f"所在区未知，无法确认是否在 {u_district}", 0.0
    if area_key(c_district) == area_key(u_district):
        return "pass", f"位于本工会辖区 {u_district}{note}", 1.0
    return "fail", f"位于 {c_district}，不在本工会辖区 {u_district}{note}", 0.0


def _rule_gap(c, ctx, p):
    distance = ctx.nearest_open_station_m
    if distance is None:
        why = ctx.location_note or "缺少准确位置"
        return "unknown", f"{why}，无法计算与现有站点的距离（不影响是否通过）", 0.0
    dense = bool(ctx.dense_area)
    radius = float(p["dense_radius_m"] if dense else p["radius_m"])
    near = float(p["dense_near_m"] if dense else p["near_m"])
    area = "密集区" if dense else ("一般区域" if ctx.dense_area is not None else "区域密度未知")
    if math.isinf(distance):
        return "pass", f"目前没有开放站点，可填补空白（{area}）", 1.0
    who = f"（{ctx.nearest_station_name}）" if ctx.nearest_station_name else ""
    if distance >= radius:
        return "pass", (f"{area}，{_m(radius)} 内没有开放站点，最近站点{who}"
                        f" {_m(distance)}，可填补服务空白"), 1.0
    share = 0.0 if distance <= near else (distance - near) / (radius - near)
    if distance <= near:
        text = (f"最近开放站点{who}仅 {_m(distance)}，补充作用小（{area}标准 {_m(radius)}）；"
                "仅影响排序，不影响是否通过")
    else:
        text = (f"最近开放站点{who} {_m(distance)}，在 {_m(radius)} 服务半径内（{area}），"
                "补充作用有限；仅影响排序")
    return "pass", text, share


@dataclass(frozen=True)
class _RuleSpec:
    evaluator: Evaluator
    label: str
    hard: bool
    weight: float
    params: dict


#: Every rule the standard knows: name → (evaluator, default label, default params).
RULES: dict[str, tuple[Evaluator, str, dict]] = {
    "area": (_rule_area, "使用面积", {"min_m2": 12.0}),
    "ground_floor": (_rule_ground_floor, "一层临街", {}),
    "core_kit": (_rule_core_kit, "核心设施", {"groups": [
        ["drinking_water", "hot_water"], ["seats"], ["microwave"], ["phone_charging"],
        ["first_aid"], ["heating", "cooling"]]}),
    "toilet": (_rule_toilet, "卫生间", {}),
    "hours": (_rule_hours, "开放时长", {"min_hours_per_day": 8.0, "min_days_per_week": 5}),
    "shift_cover": (_rule_shift_cover, "覆盖早晚班",
                    {"early_before": "07:00", "late_after": "20:00"}),
    "access": (_rule_access, "免注册进入", {"ask_staff_share": 0.5}),
    "in_area": (_rule_in_area, "位于本工会辖区", {"level": "street"}),
    "gap": (_rule_gap, "填补服务空白", {
        "radius_m": 1000.0, "dense_radius_m": 500.0, "near_m": 300.0, "dense_near_m": 150.0,
        "density_radius_m": 1000.0, "dense_min_communities": 8, "dense_min_stations": 3}),
}


@dataclass
class Rule:
    """One configured rule of a :class:`Standard`."""

    name: str
    label: str
    hard: bool
    weight: float
    params: dict = field(default_factory=dict)

    def evaluate(self, candidate: object, context: ScreeningContext) -> RuleOutcome:
        """Apply the rule; the score is ``weight × share`` (0 unless pass)."""
        evaluator = RULES[self.name][0]
        outcome, detail, share = evaluator(candidate, context, self.params)
        score = self.weight * share if outcome == "pass" else 0.0
        return RuleOutcome(rule=self.name, outcome=outcome, detail=detail, hard=self.hard,
                           score=score, label=self.label)


@dataclass
class Standard:
    """A rule set: name, version, ordered rules (no place: see the module docstring)."""

    name: str
    version: str
    rules: list[Rule]
    path: str = ""

    def rule(self, name: str) -> Rule | None:
        """The configured rule called ``name`` (None when switched off)."""
        return next((r for r in self.rules if r.name == name), None)

    def params(self, name: str) -> dict:
        """The parameters of rule ``name``: as configured, else the rule's defaults.

        A rule switched off still lends its numbers to the screening context (what counts as
        a dense area comes from the ``gap`` rule); the defaults live once, in :data:`RULES`.
        """
        rule = self.rule(name)
        return dict(rule.params) if rule is not None else dict(RULES[name][2])

    @property
    def max_score(self) -> float:
        """The best possible total score when every rule applies."""
        return sum(r.weight for r in self.rules)

    def evaluate(self, candidate: object, context: ScreeningContext | None = None
                 ) -> Screening:
        """Screen one candidate (a :class:`stations.candidates.Candidate` or a mapping).

        A rule answering :data:`NOT_APPLICABLE` is listed among the reasons but decides
        nothing: it is left out of the result and of ``max_score``.
        """
        ctx = context or ScreeningContext()
        reasons = tuple(rule.evaluate(candidate, ctx) for rule in self.rules)
        hard = [r.outcome for r in reasons if r.hard]
        result = "fail" if "fail" in hard else "unknown" if "unknown" in hard else "pass"
        applied = sum(rule.weight for rule, r in zip(self.rules, reasons, strict=True)
                      if r.outcome != NOT_APPLICABLE)
        return Screening(result=result, score=sum(r.score for r in reasons),
                         max_score=applied, reasons=reasons)

    @classmethod
    def from_mapping(cls, data: Mapping, *, path: str = "") -> Standard:
        """Build from parsed TOML; unknown rules or parameters are refused (typos matter)."""
        where = f" ({path})" if path else ""
        head = data.get("standard", {}) or {}
        tables = data.get("rules", {}) or {}
        if "union" in data:
            raise ValidationError(
                f"标准文件{where}不再写工会辖区 [union]：辖区来自账号（工作台）或 "
                "--union-district/--union-street（命令行）(the jurisdiction comes from the "
                "union, not the standard: remove the [union] table)")
        extra = set(data) - {"standard", "rules"}
        if extra:
            raise ValidationError(f"标准文件{where}有未知的表 {sorted(extra)} "
                                  "(unknown tables; expected [standard], [rules.*])")
        rules = []
        for name, table in tables.items():
            if name not in RULES:
                raise ValidationError(f"标准文件{where}中的规则 {name!r} 不存在 (unknown rule); "
                                      f"known rules: {', '.join(RULES)}")
            if not isinstance(table, Mapping):
                raise ValidationError(f"规则 {name} 应为表 [rules.{name}] (expected a table)")
            if not table.get("enabled", True):
                continue
            _, default_label, defaults = RULES[name]
            params = dict(defaults)
            for key, value in table.items():
                if key in ("enabled", "hard", "weight", "label"):
                    continue
                if key not in defaults:
                    raise ValidationError(
                        f"规则 {name} 没有参数 {key!r} (unknown parameter){where}; "
                        f"accepted: {', '.join(['enabled', 'hard', 'weight', 'label', *defaults])}")
                params[key] = value
            _check_params(name, params, where)
            weight = table.get("weight", 10)
            if not isinstance(weight, (int, float)) or isinstance(weight, bool) or weight < 0:
                raise ValidationError(f"规则 {name} 的 weight 应为非负数 (weight must be ≥ 0), "
                                      f"got {weight!r}")
            hard = table.get("hard", name not in ("gap", "shift_cover"))
            if name == "gap" and hard:
                raise ValidationError("规则 gap 只能是加分项 (hard = false): 填补空白从不否决"
                                      "符合标准的承建单位 (the gap rule never fails a host)")
            rules.append(Rule(name=name, label=str(table.get("label", default_label)),
                              hard=bool(hard), weight=float(weight), params=params))
        if not rules:
            raise ValidationError(f"标准文件{where}没有启用任何规则 (no rules enabled)")
        return cls(name=str(head.get("name", "筛选标准")), version=str(head.get("version", "")),
                   rules=rules, path=path)


def _param_number(name: str, params: dict, key: str, where: str, *,
                  positive: bool = True) -> float:
    """``params[key]`` of rule ``name`` as a float: a number, positive unless told otherwise."""
    value = params[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or (
            positive and value <= 0):
        raise ValidationError(f"规则 {name} 的 {key} 应为正数 (must be a positive number)"
                              f"{where}, got {value!r}")
    return float(value)


def _check_area_params(name: str, params: dict, where: str) -> None:
    _param_number(name, params, "min_m2", where)


def _check_hours_params(name: str, params: dict, where: str) -> None:
    if not 0 < _param_number(name, params, "min_hours_per_day", where) <= 24:
        raise ValidationError(f"min_hours_per_day 应在 0–24 之间{where}")
    if not 1 <= _param_number(name, params, "min_days_per_week", where) <= 7:
        raise ValidationError(f"min_days_per_week 应在 1–7 之间{where}")


def _check_shift_cover_params(name: str, params: dict, where: str) -> None:
    _clock_minutes(params["early_before"], what="early_before")
    _clock_minutes(params["late_after"], what="late_after")


def _check_access_params(name: str, params: dict, where: str) -> None:
    if not 0 <= _param_number(name, params, "ask_staff_share", where, positive=False) <= 1:
        raise ValidationError(f"ask_staff_share 应在 0–1 之间{where}")


def _check_in_area_params(name: str, params: dict, where: str) -> None:
    if params["level"] not in ("street", "district"):
        raise ValidationError(f"in_area 的 level 应为 street 或 district{where}, "
                              f"got {params['level']!r}")


def _check_core_kit_params(name: str, params: dict, where: str) -> None:
    groups = params["groups"]
    if not isinstance(groups, list) or not groups or not all(
            isinstance(g, list) and g for g in groups):
        raise ValidationError(f"core_kit 的 groups 应为非空列表的列表{where}")
    for group in groups:
        for item in group:
            if item not in AMENITIES:
                raise ValidationError(f"core_kit 中的设施 {item!r} 不存在 (unknown amenity)"
                                      f"{where}; use: {', '.join(AMENITIES)}")


def _check_gap_params(name: str, params: dict, where: str) -> None:
    for key in ("radius_m", "dense_radius_m", "near_m", "dense_near_m",
                "density_radius_m", "dense_min_communities", "dense_min_stations"):
        _param_number(name, params, key, where)
    if params["near_m"] >= params["radius_m"] or \
            params["dense_near_m"] >= params["dense_radius_m"]:
        raise ValidationError(f"gap 的 near_m 应小于 radius_m{where}")


_PARAM_CHECKS = {  # rule name → check of its parameters (a rule not named here has none)
    "area": _check_area_params,
    "hours": _check_hours_params,
    "shift_cover": _check_shift_cover_params,
    "access": _check_access_params,
    "in_area": _check_in_area_params,
    "core_kit": _check_core_kit_params,
    "gap": _check_gap_params,
}


def _check_params(name: str, params: dict, where: str) -> None:
    """Refuse parameters rule ``name`` cannot use (type, range, unknown amenity)."""
    check = _PARAM_CHECKS.get(name)
    if check is not None:
        check(name, params, where)


def load_standard(path: str | os.PathLike | None = None) -> Standard:
    """Read a standard: ``path``, else ``NUANXIN_STANDARD``, else the shipped default.

    Raises
    ------
    ValidationError
        When the file is missing, is not valid TOML or names unknown rules or parameters.
    """
    chosen = path or settings.get("STANDARD") or DEFAULT_STANDARD_PATH
    chosen = Path(chosen)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"找不到标准文件 {chosen} (standard file not found; "
                              "check NUANXIN_STANDARD or --standard)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(f"标准文件 {chosen} 不是有效的 TOML (invalid TOML): {exc}") from None
    return Standard.from_mapping(data, path=str(chosen))
