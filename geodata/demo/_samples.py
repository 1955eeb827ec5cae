"""The sample part of the Beijing demo: stations, the union's candidate sheet, proxy demand.

Everything here is **sample data** (示例数据): stations and candidate hosts are placed at
real community / street-office centre points (Vonng/adcode, converted to WGS84 for stations,
raw GCJ-02 for the candidate sheet, as a union clerk would copy them from Amap; a few
enterprise candidates sit at invented GCJ-02 points inside 广安门外街道), but their names
(apart from the two stations named in news reports), kit, hours and statuses are invented for
demonstration. Each record draws from its own seeded RNG
(``random.Random(f"{DEMO_SEED}:{key}")``) so the build is reproducible byte for byte.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from stations.amenities import AMENITIES

__all__ = ["DEMO_SEED", "GUANGWAI_CODE", "build_stations", "build_candidates", "build_demand",
           "CANDIDATE_HEADERS"]

DEMO_SEED = 20220111  # the date of the news report on the 广外 stations
GUANGWAI_CODE = "110102020"
XICHENG_CODE = "110102"

#: 广外 community points that host a non-community station in the demo: short name →
#: (host type, station name, address tail). The other communities host their own station.
_GUANGWAI_HOSTS = {
    "车站东街": ("post", "车站东街邮政网点暖心驿站", "邮政网点一层"),
    "手帕口南街": ("gas_station", "手帕口南街加油站暖心驿站", "加油站便利店内"),
    "红莲南里": ("supermarket", "红莲南里便民超市暖心驿站", "便民超市一层"),
    "马连道": ("bank", "马连道银行网点劳动者港湾", "银行营业厅一层"),
    "莲花河": ("bus_depot", "莲花河公交场站暖心驿站", "公交场站调度室旁"),
    "荣丰": ("enterprise", "荣丰物业服务中心暖心驿站", "物业服务中心一层"),
}
#: Other Xicheng streets: street code → (where, host type, station name). ``office`` puts the
#: station at the street-office point, ``community`` at the street's first community point.
_XICHENG_OTHERS = {
    "110102016": ("office", "street_office", "陶然亭街道党群服务中心蜂巢驿站"),
    "110102007": ("office", "street_office", "月坛街道党群服务中心暖心驿站"),
    "110102009": ("office", "street_office", "展览路街道党群服务中心暖心驿站"),
    "110102019": ("office", "street_office", "白纸坊街道党群服务中心暖心驿站"),
    "110102017": ("office", "street_office", "广安门内街道党群服务中心暖心驿站"),
    "110102011": ("community", "bank", "{short}银行网点劳动者港湾"),
    "110102015": ("community", "community", "{short}社区暖心驿站"),
    "110102018": ("community", "community", "{short}社区暖心驿站"),
}
_STATUS = {  # station name → (status, reason)
    "红居街社区暖心驿站": ("suspended", "室内装修，暂停开放 (renovation; reopening after fit-out)"),
    "白纸坊街道党群服务中心暖心驿站": ("suspended", "供暖设备检修 (heating repairs)"),
    "荣丰物业服务中心暖心驿站": ("closed",
                                 "物业公司撤场，驿站撤销 (host moved out; station removed)"),
}
_HOURS_BY_HOST = {
    "community": ["Mo-Fr 09:00-17:00", "Mo-Fr 08:30-11:00,13:30-17:00", "Mo-Su 06:00-18:00",
                  "Mo-Sa 08:00-20:00", "Mo-Fr 09:00-17:00; PH off", ""],
    "street_office": ["Mo-Fr 08:30-11:30,13:30-17:30; PH off", "Mo-Fr 09:00-17:00"],
    "post": ["Mo-Su 08:00-18:00"],
    "gas_station": ["24/7"],
    "supermarket": ["Mo-Su 07:00-01:00"],
    "bank": ["Mo-Fr 09:00-17:00", "Mo-Fr 09:00-17:00; Sa-Su 09:30-16:00"],
    "bus_depot": ["Mo-Su 05:00-23:00"],
    "enterprise": ["Mo-Fr 09:00-18:00"],
    "hotel": [""],
}
_ACCESS_BY_HOST = {
    "community": ["open", "open", "open", "ask_staff", "unknown"],
    "street_office": ["open", "ask_staff"], "post": ["open"], "gas_station": ["open"],
    "supermarket": ["open", "register"], "bank": ["open", "ask_staff"], "bus_depot": ["ask_staff"],
    "enterprise": ["register"], "hotel": ["unknown"],
}
#: Probability that an amenity is recorded yes / no (the rest is unknown).
_CORE = {"hot_water", "drinking_water", "seats", "microwave", "phone_charging"}
_RARE = {"aed", "baby_room", "wheelchair", "ebike_charging"}

CANDIDATE_HEADERS = ("名称", "地址", "类型", "经度", "纬度", "面积", "楼层", "是否临街",
                     "开放时间", "设施", "进入方式", "联系人", "电话", "备注", "示例")


def _rng(key: str) -> random.Random:
    return random.Random(f"{DEMO_SEED}:{key}")


def _amenities(rng: random.Random, host_type: str) -> dict[str, str]:
    result = {}
    for key in AMENITIES:
        if key in _CORE:
            weights = (0.85, 0.05, 0.10)
        elif key in _RARE:
            weights = (0.15, 0.45, 0.40)
        else:
            weights = (0.45, 0.25, 0.30)
        if key == "toilet" and host_type in ("gas_station", "bank", "hotel", "street_office"):
            weights = (0.9, 0.0, 0.1)
        result[key] = rng.choices(("yes", "no", "unknown"), weights=weights)[0]
    return result


def _verified(rng: random.Random) -> str | None:
    if rng.random() < 0.25:
        return None
    return (date(2025, 1, 6) + timedelta(days=rng.randrange(0, 300))).isoformat()


def _station(*, code: str, name: str, host_type: str, address: str, street: dict, lon, lat,
             notes: str, rng: random.Random, hours: str | None = None,
             access: str | None = None, amenities: dict | None = None,
             area: float | None | bool = True, contact: str = "") -> dict:
    status, reason = _STATUS.get(name, ("open", ""))
    area_m2 = (round(rng.uniform(8, 40) * 2) / 2 if rng.random() < 0.8 else None) \
        if area is True else area
    capacity = rng.randrange(3, 16) if rng.random() < 0.7 else None
    props = {
        "code": code, "name": name, "host_type": host_type, "address": address,
        "district": street["district"], "district_code": street["district_code"],
        "street": street["name"], "street_code": street["code"],
        "amenities": amenities if amenities is not None else _amenities(rng, host_type),
        "access": access if access is not None else rng.choice(_ACCESS_BY_HOST[host_type]),
        "area_m2": area_m2, "capacity": capacity,
        "opening_hours": hours if hours is not None else rng.choice(_HOURS_BY_HOST[host_type]),
        "status": status, "status_reason": reason, "sample": True,
        "verified_on": _verified(rng), "contact_name": contact, "contact_phone": "",
        "notes": notes,
    }
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def build_stations(streets: list[dict], communities: list[dict], news: list[dict]) -> list[dict]:
    """Sample stations (GeoJSON features, WGS84) in 西城区, mostly 广安门外街道."""
    by_code = {s["code"]: s for s in streets}
    guangwai = by_code[GUANGWAI_CODE]
    features: list[dict] = []
    counter: dict[str, int] = {}

    def next_code(street_code: str) -> str:
        counter[street_code] = counter.get(street_code, 0) + 1
        return f"NX-{street_code}-{counter[street_code]:03d}"

    for comm in communities:
        if comm["street_code"] != GUANGWAI_CODE or comm["lon"] == "":
            continue
        short = comm["short_name"]
        host_type, name, tail = _GUANGWAI_HOSTS.get(
            short, ("community", f"{short}社区暖心驿站", "党群服务中心"))
        features.append(_station(
            code=next_code(GUANGWAI_CODE), name=name, host_type=host_type,
            address=f"北京市西城区广安门外街道{short}社区{tail}", street=guangwai,
            lon=comm["lon"], lat=comm["lat"], rng=_rng(comm["code"]),
            contact=f"{short}社区工会" if host_type == "community" else "",
            notes=f"示例数据：位置取{comm['name']}中心点 (Vonng/adcode 2016, GCJ-02→WGS84)，"
                  "非实地测量 (sample; community centre point, not surveyed)"))
    mention = next((n for n in news if n["name"].startswith("北京宝林轩国际大酒店")), None)
    if mention is not None and guangwai["lon"] != "":
        features.append(_station(
            code=next_code(GUANGWAI_CODE), name="北京宝林轩国际大酒店暖心驿站",
            host_type="hotel", address="北京市西城区广安门外街道 北京宝林轩国际大酒店一层大厅旁",
            street=guangwai, lon=guangwai["lon"], lat=guangwai["lat"], rng=_rng("baolinxuan"),
            hours="", access="unknown", amenities=dict.fromkeys(AMENITIES, "unknown"),
            area=None,
            notes=f"新闻报道中的真实驿站 ({mention['source_outlet']}, {mention['source_date']}, "
                  f"{mention['source_url']})；来源无坐标，位置暂取广安门外街道办事处点位，"
                  "设施与开放时间未知 (real station from a news report; no coordinates in the "
                  "source: placed at the 广安门外 street-office point)"))
    for street_code, (where, host_type, template) in _XICHENG_OTHERS.items():
        street = by_code.get(street_code)
        if street is None:
            continue
        if where == "office":
            if street["lon"] == "":
                continue
            lon, lat, place = street["lon"], street["lat"], f"{street['name']}办事处点位"
            short = street["short_name"]
            address = f"北京市西城区{street['name']}党群服务中心"
        else:
            comm = next((c for c in communities
                         if c["street_code"] == street_code and c["lon"] != ""), None)
            if comm is None:
                continue
            lon, lat, place = comm["lon"], comm["lat"], f"{comm['name']}中心点"
            short = comm["short_name"]
            address = f"北京市西城区{street['name']}{short}社区"
        name = template.format(short=short)
        notes = f"示例数据：位置取{place} (Vonng/adcode 2016, GCJ-02→WGS84)"
        if name.endswith("蜂巢驿站"):
            real = next((n for n in news if n["name"].startswith("陶然亭街道")), None)
            if real is not None:
                notes += ("；新闻报道中的真实驿站 "
                          f"({real['source_outlet']}, {real['source_date']})，"
                          "党群服务中心的确切位置未核实 (real station from a news report; exact "
                          "site not verified)")
        features.append(_station(code=next_code(street_code), name=name, host_type=host_type,
                                 address=address, street=street, lon=lon, lat=lat,
                                 rng=_rng(f"{street_code}:{name}"), notes=notes))
    return features


# -- the union's candidate sheet ---------------------------------------------------------------
# The origin story (DOMAIN.md): 广外 screened its community unions and enterprises against the
# conditions and most of them met them. The sheet is written so that the default standard
# (stations/standard.toml) gives a realistic mix: most rows list the full core kit on the ground
# floor, street-facing, ≥ 12 m², ≥ 8 h on ≥ 5 days, direct entry (pass); some clearly fail for
# one stated reason; a few have a gap the visit must fill (unknown). Which row is which is fixed
# below; the seeded RNG only varies the details among values that keep the row's outcome.

#: Kits that satisfy every core group of the default standard, toilet included.
_FULL_KITS = ("热水,饮水机,座椅,微波炉,手机充电,医药箱,空调,暖气,卫生间",
              "热水、饮水机、座椅、微波炉、手机充电、医药箱、暖气、卫生间、冰箱",
              "饮水机,座椅,微波炉,手机充电,医药箱,空调,卫生间,雨伞",
              "热水、休息座椅、微波炉、充电、急救箱、空调、暖气、卫生间、Wi-Fi",
              "热水,饮水机,座椅,微波炉,手机充电,医药箱,空调,暖气,卫生间,电动车充电")
#: Hours that give at least 8 hours on at least 5 days.
_LONG_HOURS = ("周一至周五 9:00-17:00", "每天 6:00-18:00", "周一至周六 8:00-20:00",
               "工作日 9:00-17:00，节假日休息", "周一至周日 8:30-17:30")
_PASS_AREAS = ("12", "15", "18", "20", "25", "30", "35")

#: Community rows that do not pass: short name → (fields replacing the passing ones, 备注).
#: Every other community row meets the default standard.
_COMMUNITY_EXCEPTIONS = {
    # fail, one clear reason each
    "朗琴园": ({"楼层": "2", "是否临街": "否"}, "活动室在居委会二层"),
    "白菜湾": ({"面积": "8"}, "可用房间仅约 8 m²"),
    "椿树馆": ({"开放时间": "周一至周五 8:30-11:00，13:30-17:00"}, "午间闭门，每天只开 6 小时"),
    "二热": ({"是否临街": "否"}, "位于小区院内，不临街"),
    # unknown: a gap the field visit must fill
    "小马厂": ({"面积": ""}, "面积待实地测量"),
    "依莲轩": ({"楼层": "", "是否临街": ""}, "楼层、是否临街待核实"),
    "天宁寺北里": ({"楼层": ""}, "楼层待核实"),
    "中新佳园": ({"设施": ""}, "设施未调查"),
    "红莲北里": ({"设施": "热水,饮水机,座椅,微波炉,手机充电,医药箱,空调,暖气"},
                 "卫生间情况未填写"),
    "乐城": ({"开放时间": ""}, "开放时间待确认"),
}

#: (名称, 类型, 地址, where, 面积, 楼层, 是否临街, 开放时间, 设施, 进入方式, 备注).
#: ``where`` is a 广外 community short name (its GCJ-02 centre point), ``"(office)"`` (the
#: street-office point), an invented GCJ-02 ``(lon, lat)`` pair inside the street's approximate
#: polygon, or None (address-only: the import geocodes it).
_ENTERPRISES = (
    ("北京宝林轩国际大酒店", "酒店", "北京市西城区广安门外街道 北京宝林轩国际大酒店", None,
     "", "1", "", "", "", "", "新闻报道 (北京日报 2022-01-11)：一层大厅旁单独房间；无坐标，"
     "面积与设施待核实"),
    ("马连道快递网点", "企业", "北京市西城区广安门外街道马连道路南段沿街商铺",
     ("116.322022", "39.880614"),
     "15", "1", "是", "每天 8:00-20:00", _FULL_KITS[4], "直接进入", "快递员集中，坐标为示例点位"),
    ("鸭子桥路加油站", "加油站", "北京市西城区广安门外街道鸭子桥路加油站",
     ("116.346774", "39.875545"),
     "20", "1", "是", "24小时", _FULL_KITS[0], "直接进入", "坐标为示例点位"),
    ("广安门外南街银行网点", "银行", "北京市西城区广安门外南街银行营业厅",
     ("116.347494", "39.887878"),
     "22", "1", "是", "周一至周五 9:00-17:00", _FULL_KITS[2], "直接进入", "坐标为示例点位"),
    ("车站西街便利店", "超市", "北京市西城区广安门外街道车站西街便利店", "车站西街",
     "8", "1", "是", "24小时", _FULL_KITS[0], "直接进入", "面积不足"),
    ("手帕口物业服务中心", "企业", "北京市西城区广安门外街道手帕口北街物业服务中心二层", None,
     "18", "2", "否", "周一至周五 9:00-18:00", _FULL_KITS[1], "需联系工作人员", "位于二层"),
    ("马连道茶叶市场商户服务站", "企业", "北京市西城区广安门外街道马连道茶叶市场商户服务站", None,
     "16", "1", "是", "每天 9:00-18:00", _FULL_KITS[3], "需注册", "需下载 App 扫码注册后进入"),
    ("北京西站南路邮政网点", "邮政", "北京市西城区广安门外街道北京西站南路邮政网点",
     ("116.327010", "39.896165"),
     "14", "1", "是", "每天 8:30-17:30", _FULL_KITS[1], "直接进入", "坐标为示例点位"),
    ("莲花池东路通信营业厅", "通信营业厅", "北京市西城区广安门外街道莲花池东路通信营业厅",
     ("116.327572", "39.895716"),
     "12", "1", "是", "每天 9:00-21:00", _FULL_KITS[3], "直接进入", "坐标为示例点位"),
    ("湾子街公交场站", "公交场站", "北京市西城区广安门外街道湾子街公交场站", None,
     "25", "1", "是", "每天 5:00-23:00", _FULL_KITS[0], "直接进入", "调度室旁休息室；无坐标"),
    ("红居街商务酒店", "酒店", "北京市西城区广安门外街道红居街商务酒店", "红居街",
     "20", "2", "否", "24小时", _FULL_KITS[1], "需联系工作人员", "位于二层"),
    ("广安门外街道党群服务中心", "街道", "北京市西城区广安门外街道党群服务中心", "(office)",
     "40", "1", "是", "周一至周五 8:30-11:30，13:30-17:30", _FULL_KITS[0], "直接进入",
     "午间闭门，每天只开 7 小时"),
    ("马连道中里便民超市", "超市", "北京市西城区广安门外街道马连道中里便民超市", "马连道中里",
     "", "1", "", "每天 7:00-22:00", _FULL_KITS[2], "直接进入", "面积、是否临街待实地核实"),
    ("莲花河物业地下活动室", "企业", "北京市西城区广安门外街道莲花河社区物业地下活动室", None,
     "30", "-1", "否", "周一至周五 9:00-17:00", _FULL_KITS[1], "需联系工作人员", "位于地下一层"),
    ("三义里快餐店", "商铺", "北京市西城区广安门外街道三义里快餐店", None,
     "10", "1", "是", "每天 10:00-21:00", _FULL_KITS[0], "直接进入", "面积不足"),
)


def build_candidates(streets: list[dict], communities: list[dict], vonng: list[dict]
                     ) -> tuple[list[dict], tuple[str, ...]]:
    """The union's sheet for 广安门外街道: every community union plus enterprises.

    Coordinates are **GCJ-02** (as copied from Amap): community rows carry the source centre
    point where known, a few enterprises an invented point inside the street; rows without a
    point are address-only. Import with ``--crs gcj02``. Under the default standard most rows
    pass, a few fail for one stated reason and a few are unknown (see the module notes above).
    """
    raw = {r["code"]: r for r in vonng}
    by_short = {}
    rows: list[dict] = []
    for comm in communities:
        if comm["street_code"] != GUANGWAI_CODE:
            continue
        short = comm["short_name"]
        src = raw[comm["code"]]
        by_short[short] = (src["longitude"], src["latitude"])
        rng = _rng(f"candidate:{comm['code']}")
        row = {
            "名称": f"{short}社区党群服务中心", "地址": f"北京市西城区广安门外街道{short}社区",
            "类型": "社区", "经度": src["longitude"], "纬度": src["latitude"],
            "面积": rng.choice(_PASS_AREAS), "楼层": "1", "是否临街": "是",
            "开放时间": rng.choice(_LONG_HOURS), "设施": rng.choice(_FULL_KITS),
            "进入方式": "直接进入", "联系人": f"{short}社区工会", "电话": "", "备注": "",
            "示例": "是",
        }
        changes, note = _COMMUNITY_EXCEPTIONS.get(short, ({}, ""))
        row.update(changes)
        notes = [note] if note else []
        if not src["longitude"]:
            notes.append("无坐标，需按地址定位")
        row["备注"] = "；".join(notes)
        rows.append(row)
    office = next(r for r in vonng if r["code"] == GUANGWAI_CODE + "000")
    by_short["(office)"] = (office["longitude"], office["latitude"])
    for (name, kind, address, at, area, floor, facing, hours, kit, access,
         note) in _ENTERPRISES:
        if isinstance(at, tuple):
            lon, lat = at
        else:
            lon, lat = by_short.get(at, ("", "")) if at else ("", "")
        rows.append({"名称": name, "地址": address, "类型": kind, "经度": lon, "纬度": lat,
                     "面积": area, "楼层": floor, "是否临街": facing, "开放时间": hours,
                     "设施": kit, "进入方式": access, "联系人": "", "电话": "",
                     "备注": note, "示例": "是"})
    return rows, CANDIDATE_HEADERS


def build_demand(communities: list[dict]) -> list[dict]:
    """Proxy demand: every community/village point of Beijing, weight 1 (WGS84)."""
    return [{"name": c["name"], "lon": c["lon"], "lat": c["lat"], "weight": 1,
             "group": "community", "sample": "是", "district": c["district"],
             "street": c["street"]}
            for c in communities if c["lon"] != ""]
