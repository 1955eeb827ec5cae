"""The fixed amenity vocabulary and tri-state values (yes / no / unknown).

"Unknown" is recorded separately from "no" (DOMAIN.md): a station whose toilet was never
asked about is not a station without a toilet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from stations.errors import ValidationError
from stations.text import fold, half_width

__all__ = [
    "AMENITIES",
    "AMENITY_LABELS_ZH",
    "YES",
    "NO",
    "UNKNOWN",
    "TRI_STATES",
    "normalise_amenity",
    "accepted_amenity_names",
    "parse_tristate",
    "parse_amenity_list",
    "empty_amenities",
    "normalise_amenities",
]

YES, NO, UNKNOWN = "yes", "no", "unknown"
TRI_STATES = (YES, NO, UNKNOWN)

#: Vocabulary in display order (most cited first, DOMAIN.md).
AMENITIES: tuple[str, ...] = (
    "hot_water",
    "drinking_water",
    "seats",
    "microwave",
    "phone_charging",
    "ebike_charging",
    "toilet",
    "first_aid",
    "heating",
    "cooling",
    "fridge",
    "wifi",
    "umbrella",
    "wheelchair",
    "baby_room",
    "aed",
)

AMENITY_LABELS_ZH: dict[str, str] = {
    "hot_water": "热水",
    "drinking_water": "饮用水",
    "seats": "座椅",
    "microwave": "微波炉",
    "phone_charging": "手机充电",
    "ebike_charging": "电动车充电",
    "toilet": "卫生间",
    "first_aid": "医药箱",
    "heating": "取暖",
    "cooling": "空调降温",
    "fridge": "冰箱",
    "wifi": "Wi-Fi",
    "umbrella": "雨伞雨衣",
    "wheelchair": "无障碍",
    "baby_room": "母婴室",
    "aed": "AED",
}

# Synonyms people write in union sheets, keyed by a folded form (see _fold).
_SYNONYMS: dict[str, str] = {
    "热水": "hot_water", "开水": "hot_water", "热饮水": "hot_water", "hotwater": "hot_water",
    "饮用水": "drinking_water", "饮水": "drinking_water", "饮水机": "drinking_water",
    "喝水": "drinking_water", "水": "drinking_water", "water": "drinking_water",
    "drinkingwater": "drinking_water", "纯净水": "drinking_water",
    "座椅": "seats", "桌椅": "seats", "椅子": "seats", "休息座椅": "seats", "桌凳": "seats",
    "座位": "seats", "seat": "seats", "seats": "seats", "seating": "seats",
    "微波炉": "microwave", "加热": "microwave", "热饭": "microwave", "microwave": "microwave",
    "手机充电": "phone_charging", "充电": "phone_charging", "充电器": "phone_charging",
    "phonecharging": "phone_charging", "charging": "phone_charging",
    "电动车充电": "ebike_charging", "电瓶车充电": "ebike_charging", "换电": "ebike_charging",
    "电动自行车充电": "ebike_charging", "电池换电": "ebike_charging",
    "ebikecharging": "ebike_charging", "ebike": "ebike_charging",
    "卫生间": "toilet", "厕所": "toilet", "洗手间": "toilet", "公厕": "toilet",
    "toilet": "toilet", "toilets": "toilet", "wc": "toilet",
    "医药箱": "first_aid", "药箱": "first_aid", "急救箱": "first_aid", "应急药箱": "first_aid",
    "常用药品": "first_aid", "firstaid": "first_aid", "firstaidkit": "first_aid",
    "取暖": "heating", "暖气": "heating", "供暖": "heating", "heating": "heating",
    "空调": "cooling", "降温": "cooling", "风扇": "cooling", "电扇": "cooling",
    "cooling": "cooling", "airconditioning": "cooling", "ac": "cooling",
    "冰箱": "fridge", "冰柜": "fridge", "fridge": "fridge", "refrigerator": "fridge",
    "wifi": "wifi", "无线网": "wifi", "无线网络": "wifi", "网络": "wifi",
    "雨伞": "umbrella", "雨衣": "umbrella", "雨具": "umbrella", "雨伞雨衣": "umbrella",
    "umbrella": "umbrella", "umbrellas": "umbrella",
    "无障碍": "wheelchair", "轮椅": "wheelchair", "无障碍通道": "wheelchair",
    "wheelchair": "wheelchair", "wheelchairaccess": "wheelchair",
    "母婴室": "baby_room", "母婴": "baby_room", "babyroom": "baby_room",
    "aed": "aed", "除颤仪": "aed", "自动体外除颤器": "aed",
}

_TRUE = {"yes", "y", "true", "1", "有", "是", "√", "✓", "✔", "t", "on"}
_FALSE = {"no", "n", "false", "0", "无", "否", "没有", "×", "✗", "x", "f", "off"}
_UNK = {"", "unknown", "未知", "不详", "?", "？", "待确认", "none", "null", "nan", "-"}


#: Amenity words and yes/no marks: the vocabulary-key separators (:mod:`stations.text`) plus
#: ``/`` and ``·``, which are written inside one word here (``A/C`` is air conditioning,
#: ``Wi·Fi``); a list is split on them before (:func:`parse_amenity_list`).
_AMENITY_SEPARATORS = re.compile(r"[\s_\-/·]+")


def _fold(text: str) -> str:
    return fold(text, drop=_AMENITY_SEPARATORS)


def normalise_amenity(name: str) -> str:
    """Map an amenity name (English key, Chinese word or synonym) to its vocabulary key.

    Raises
    ------
    ValidationError
        When the name is not in the vocabulary; the message lists the accepted keys.
    """
    folded = _fold(name)
    for key in AMENITIES:
        if folded == key.replace("_", ""):
            return key
    if folded in _SYNONYMS:
        return _SYNONYMS[folded]
    raise ValidationError(
        f"未知设施 '{name}' (unknown amenity); accepted: "
        + ", ".join(f"{k} ({AMENITY_LABELS_ZH[k]})" for k in AMENITIES)
    )


def accepted_amenity_names() -> tuple[str, ...]:
    """Every name :func:`normalise_amenity` reads as written: the keys, the Chinese labels and
    the synonyms (sorted; the API document lists them as the ``amenity`` enum)."""
    names = {*AMENITIES, *AMENITY_LABELS_ZH.values(), *_SYNONYMS}
    out = []
    for name in names:
        try:
            normalise_amenity(name)
        except ValidationError:
            continue
        out.append(name)
    return tuple(sorted(out))


def parse_tristate(value: object) -> str:
    """Read yes / no / unknown from the many ways a sheet says it (是/否/有/无/1/0/√/空)."""
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) and value != value:  # NaN from pandas
        return UNKNOWN
    folded = _fold(str(value))
    if folded in _TRUE:
        return YES
    if folded in _FALSE:
        return NO
    if folded in _UNK:
        return UNKNOWN
    raise ValidationError(f"'{value}' 不是 是/否/未知 (expected yes, no or unknown)")


def empty_amenities() -> dict[str, str]:
    """Every amenity ``unknown``."""
    return {key: UNKNOWN for key in AMENITIES}


def parse_amenity_list(text: str | Iterable[str] | None, *,
                       absent: str = UNKNOWN) -> dict[str, str]:
    """Read a list such as ``热水,微波炉、手机充电`` into a full tri-state mapping.

    Listed amenities become ``yes``; the others get ``absent`` (``unknown`` by default:
    a list says what is there, not always what is missing). Items prefixed with ``无``/``no ``
    (``无卫生间``) become ``no``.
    """
    result = {key: absent for key in AMENITIES}
    if text is None:
        return result
    if isinstance(text, str):
        items = re.split(r"[,，、;；/|\s]+", half_width(text))
    else:
        items = list(text)
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        state = YES
        m = re.match(r"^(无|没有|no[ _-]?|不含)(.+)$", item, flags=re.I)
        if m and _fold(item) not in _SYNONYMS:
            state, item = NO, m.group(2)
        result[normalise_amenity(item)] = state
    return result


def normalise_amenities(
        value: Mapping[str, object] | Iterable[str] | str | None) -> dict[str, str]:
    """A mapping ``{key: tri-state}``, a list of keys, or list text → a full mapping."""
    if value is None:
        return empty_amenities()
    if isinstance(value, Mapping):
        result = empty_amenities()
        for name, state in value.items():
            result[normalise_amenity(name)] = parse_tristate(state)
        return result
    return parse_amenity_list(value)
