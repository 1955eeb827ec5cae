"""The union's workflow on the command line: ``nuanxin candidates ...`` and ``nuanxin geocode``.

Every lifecycle step takes ``--actor`` (default ``NUANXIN_ACTOR``, else the login name) which
is written to the audit log. Exit status 0 on success, 2 on a user error (one line on stderr):
an illegal step, an unknown id, a bad option or an unreadable file. An import whose file was
read exits 0 even when rows were rejected (the report lists them).
"""

from __future__ import annotations

import getpass
import sys

import click

from stations import settings
from stations.limits import ID_MAX, ID_MIN
from webmap.cli.base import Number, crs_option, emit_json, json_option, main, ready_store

__all__: list[str] = []


def _default_actor() -> str:
    actor = settings.get("ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


#: A candidate (or, with ``--station``, a station) id: a whole number the store can hold.
_ID = Number(integer=True, minimum=ID_MIN, maximum=ID_MAX)

actor_option = click.option(
    "--actor", default=None, help="操作人，写入审计日志 (who; default NUANXIN_ACTOR or login name)")


def _candidate_json(candidate) -> dict:
    from stations.lifecycle import allowed_actions

    data = candidate.as_dict()
    data["allowed_actions"] = allowed_actions(candidate.stage, result=candidate.screening_result)
    # INTERFACE.md: host_type as the sheet wrote it when it is none of ours; the category too
    data["host_category"] = candidate.host_type
    if candidate.host_type == "other" and candidate.host_type_text:
        data["host_type"] = candidate.host_type_text
    data["needs_pin"] = candidate.needs_pin
    data["location"] = candidate.location_label
    return data


@main.group("candidates")
def candidates_group() -> None:
    """候选承建单位：导入、筛选、走访、建站 (the union's candidate workflow)."""


@candidates_group.command("import")
@click.argument("file", type=click.Path(path_type=str))
@crs_option
@click.option("--progress/--no-progress", default=None,
              help="地理编码进度条 (progress bar on stderr; default when stderr is a terminal)")
@json_option
def import_cmd(file: str, crs: str, progress: bool | None, as_json: bool) -> None:
    """导入候选单位表 (CSV/XLSX; rows without coordinates are geocoded)."""
    from geodata.io.candidates import import_candidates

    report = import_candidates(ready_store(), file, crs=crs, progress=progress)
    if as_json:
        emit_json(report.as_dict())
        return
    click.echo(f"已导入 {report.imported} 个候选单位，拒绝 {len(report.rejected_rows)} 行，"
               f"共 {report.total} 行 (imported / rejected rows / rows read)。")
    for label, rows in report.location_groups_zh():
        click.echo(f"  {label}：第 {_row_list(rows)} 行")
    if report.needs_pin:
        click.echo(f"待定位 {len(report.needs_pin)} 行：请在工作台的候选单位页面放置位置标记，"
                   "或走访时记录位置 (waiting for a pin)")
    for bad in report.rejected:
        column = f" [{bad['column']}]" if bad.get("column") else ""
        click.echo(f"  第 {bad['row']} 行{column}: {bad['reason']}")


_RESULT_ZH = {"pass": "符合", "fail": "不符合", "unknown": "待确认"}


def _row_list(rows: list[int]) -> str:
    """``1、2、5``: row numbers as a union officer reads them."""
    return "、".join(str(r) for r in rows)


@candidates_group.command("screen")
@click.option("--standard", "standard_path", default=None, type=click.Path(path_type=str),
              help="标准文件 (TOML; default NUANXIN_STANDARD or the shipped standard)")
@click.option("--union-district", "district", default=None,
              help="工会辖区：区 (the union's district, the jurisdiction of in_area)")
@click.option("--union-street", "street", default=None,
              help="工会辖区：街道 (the union's street, e.g. 广外; its district is inferred)")
@actor_option
@json_option
def screen_cmd(standard_path: str | None, district: str | None, street: str | None,
               actor: str | None, as_json: bool) -> None:
    """按标准筛选全部候选单位 (screen every candidate against the standard).

    The rule in_area (位于本工会辖区) applies --union-district/--union-street; without them it
    is not applicable (不适用) and decides nothing.
    """
    from geodata.io.candidates import screen_candidates
    from stations.standard import NOT_APPLICABLE

    results = screen_candidates(ready_store(), standard=standard_path,
                                actor=actor or _default_actor(), union_district=district,
                                union_street=street)
    if as_json:
        # INTERFACE.md: each reason's outcome is pass, fail or unknown; a rule that does not
        # apply (in_area without a jurisdiction) is "not applied", so it is left out here.
        emit_json([{**r, "reasons": [x for x in r.get("reasons", [])
                                     if x.get("outcome") != NOT_APPLICABLE]} for r in results])
        return
    if not results:
        click.echo("没有候选单位 (no candidates); 先导入: nuanxin candidates import FILE")
        return
    counts = {k: sum(r["result"] == k for r in results) for k in ("pass", "unknown", "fail")}
    click.echo(f"筛选 {len(results)} 个候选单位：符合 {counts['pass']}，"
               f"待确认 {counts['unknown']}，不符合 {counts['fail']} (pass / unknown / fail)")
    for r in results:
        click.echo(f"#{r['id']} {r['name']}：{r['summary']}")


@candidates_group.command("template")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
def template_cmd(file: str) -> None:
    """保存候选单位表模板 (write the XLSX/CSV template with an example row and notes)."""
    from geodata.io.candidates import write_template

    path = write_template(file)
    click.echo(f"已保存模板 (template written): {path}")


@candidates_group.command("list")
@click.option("--stage", default=None, help="按阶段筛选 (candidate, screened, visited, agreed, "
              "opened, suspended, closed, declined)")
@json_option
def list_cmd(stage: str | None, as_json: bool) -> None:
    """列出候选单位 (list candidates)."""
    from stations.candidates import STAGE_LABELS_ZH, list_candidates

    items = list_candidates(ready_store(), stage=stage)
    if as_json:
        emit_json([_candidate_json(c) for c in items])
        return
    if not items:
        click.echo("没有候选单位 (no candidates)")
    for c in items:
        where = c.location_label
        result = f"，筛选{_RESULT_ZH[c.screening_result]}" if c.screening_result else ""
        click.echo(f"#{c.id} {c.name}（{c.host_label}）[{STAGE_LABELS_ZH[c.stage]}{result}] "
                   f"{c.street or c.district}（定位：{where}）")


def _point(lon: float | None, lat: float | None, crs: str):
    if lon is None and lat is None:
        return None, None
    if lon is None or lat is None:
        from stations.errors import ValidationError

        raise ValidationError("--lon 和 --lat 需同时给出 (give both --lon and --lat)")
    from geodata.crs.datums import convert, normalise_datum

    datum = normalise_datum(crs)
    if datum == "wgs84":
        return lon, lat
    x, y = convert(lon, lat, src=datum, dst="wgs84")
    return float(x), float(y)


_SEEN_NAMES = {"面积": "area_m2", "楼层": "floor", "临街": "street_facing",
               "是否临街": "street_facing", "开放时间": "opening_hours", "进入方式": "access",
               "附近卫生间": "toilet_nearby"}


def _seen_facts(seen: tuple[str, ...]) -> dict:
    """``--seen 面积=20 --seen 卫生间=有 --seen opening_hours="每天 7:00-20:00"`` → facts."""
    from stations.amenities import AMENITIES, AMENITY_LABELS_ZH
    from stations.candidates import parse_visit_facts
    from stations.errors import ValidationError

    by_label = {label: f"amenity_{key}" for key, label in AMENITY_LABELS_ZH.items()}
    values: dict[str, str] = {}
    for item in seen:
        name, sep, value = item.partition("=")
        name = name.strip()
        key = _SEEN_NAMES.get(name) or by_label.get(name) or (
            f"amenity_{name}" if name in AMENITIES else name)
        if not sep or key not in (*_SEEN_NAMES.values(), *by_label.values()):
            raise ValidationError(
                f"--seen {item!r} 无法识别 (expected NAME=VALUE with NAME one of "
                "面积, 楼层, 临街, 开放时间, 进入方式, 附近卫生间 or an amenity such as 卫生间)")
        values[key] = value.strip()
    return parse_visit_facts(values)


@candidates_group.command("visit")
@click.argument("candidate_id", type=_ID)
@click.option("--notes", required=True, help="走访记录 (field notes)")
@click.option("--lon", type=Number(), default=None, help="校正后的经度 (corrected longitude)")
@click.option("--lat", type=Number(), default=None, help="校正后的纬度 (corrected latitude)")
@crs_option
@click.option("--photo", "photos", multiple=True, help="照片文件或链接，可重复 (photo, repeatable)")
@click.option("--seen", multiple=True, help="实地看到的情况 NAME=VALUE，可重复，如 面积=20、"
              "卫生间=有、开放时间=每天 7:00-20:00 (what the visit saw, repeatable)")
@click.option("--union-district", "u_district", default=None, help="工会辖区：区 (for in_area)")
@click.option("--union-street", "u_street", default=None, help="工会辖区：街道 (for in_area)")
@actor_option
@json_option
def visit_cmd(candidate_id: int, notes: str, lon: float | None, lat: float | None, crs: str,
              photos: tuple[str, ...], seen: tuple[str, ...], u_district: str | None,
              u_street: str | None, actor: str | None, as_json: bool) -> None:
    """记录实地走访 (record a field visit: what was seen, optionally a corrected pin).

    A corrected pin moves the candidate to the district and street where the pin is; the
    candidate is screened again with what the visit saw.
    """
    from geodata.io.candidates import record_visit
    from stations.candidates import get_candidate

    store = ready_store()
    wlon, wlat = _point(lon, lat, crs)
    facts = _seen_facts(seen)
    result = record_visit(store, candidate_id, actor=actor or _default_actor(), notes=notes,
                          lon=wlon, lat=wlat, photos=photos, facts=facts,
                          union_district=u_district or "", union_street=u_street or "")
    _done(get_candidate(store, candidate_id), as_json,
          f"已记录走访 (visit recorded)，重新筛选 {result['result']}")


@candidates_group.command("pin")
@click.argument("candidate_id", type=_ID)
@click.option("--lon", type=Number(), required=True, help="经度 (longitude)")
@click.option("--lat", type=Number(), required=True, help="纬度 (latitude)")
@crs_option
@click.option("--union-district", "u_district", default=None, help="工会辖区：区 (for in_area)")
@click.option("--union-street", "u_street", default=None, help="工会辖区：街道 (for in_area)")
@actor_option
@json_option
def pin_cmd(candidate_id: int, lon: float, lat: float, crs: str, u_district: str | None,
            u_street: str | None, actor: str | None, as_json: bool) -> None:
    """放置位置标记 (set a candidate's location; district and street follow, re-screened)."""
    from geodata.io.candidates import place_pin
    from stations.candidates import get_candidate

    store = ready_store()
    wlon, wlat = _point(lon, lat, crs)
    result = place_pin(store, candidate_id, wlon, wlat, actor=actor or _default_actor(),
                       union_district=u_district or "", union_street=u_street or "")
    c = get_candidate(store, candidate_id)
    _done(c, as_json,
          f"位置已保存 (pin saved)：{c.district} {c.street}，重新筛选 {result['result']}")


def _done(candidate, as_json: bool, message: str) -> None:
    from stations.candidates import STAGE_LABELS_ZH

    if as_json:
        emit_json(_candidate_json(candidate))
    else:
        click.echo(f"{message}: #{candidate.id} {candidate.name} → "
                   f"{STAGE_LABELS_ZH[candidate.stage]} ({candidate.stage})")


@candidates_group.command("agree")
@click.argument("candidate_id", type=_ID)
@click.option("--note", default="", help="备注 (note)")
@actor_option
@json_option
def agree_cmd(candidate_id: int, note: str, actor: str | None, as_json: bool) -> None:
    """记录承建单位同意建站 (the host agrees)."""
    from stations.lifecycle import agree

    candidate = agree(ready_store(), candidate_id, actor=actor or _default_actor(), note=note)
    _done(candidate, as_json, "已同意建站 (agreed)")


@candidates_group.command("open")
@click.argument("candidate_id", type=_ID)
@click.option("--code", default=None, help="站点编码 (station code; default assigned)")
@click.option("--note", default="", help="备注 (note)")
@click.option("--override", default="", help="筛选结果不是「符合」时强制建站的理由，写入审计日志 "
              "(open although screening is not pass; the reason is audited)")
@actor_option
@json_option
def open_cmd(candidate_id: int, code: str | None, note: str, override: str, actor: str | None,
             as_json: bool) -> None:
    """建站上图：创建站点并分配编码 (open the station; screening must be pass)."""
    from geodata.io.candidates import open_candidate

    station = open_candidate(ready_store(), candidate_id, actor=actor or _default_actor(),
                             note=note, code=code, override=override)
    if as_json:
        emit_json(station.as_dict())
        return
    click.echo(f"已建站 (opened): 站点 #{station.id} {station.name}，编码 {station.code}，"
               f"{station.district} {station.street}")


def _station_step(step: str, candidate_id: int, reason: str, by_station: bool,
                  actor: str | None, as_json: bool) -> None:
    from stations import lifecycle
    from stations.records import STATUS_LABELS_ZH

    func = getattr(lifecycle, step)
    key = {"station_id": candidate_id} if by_station else {"candidate_id": candidate_id}
    station = func(ready_store(), actor=actor or _default_actor(), reason=reason, **key)
    if as_json:
        emit_json(station.as_dict())
        return
    click.echo(f"站点 #{station.id} {station.name} → {STATUS_LABELS_ZH[station.status]} "
               f"({station.status})")


_by_station = click.option("--station", "by_station", is_flag=True,
                           help="ID 是站点编号而非候选单位编号 (ID is a station id)")


@candidates_group.command("suspend")
@click.argument("candidate_id", type=_ID)
@click.option("--reason", required=True, help="暂停原因 (reason)")
@_by_station
@actor_option
@json_option
def suspend_cmd(candidate_id: int, reason: str, by_station: bool, actor: str | None,
                as_json: bool) -> None:
    """暂停站点 (suspend the station opened from a candidate)."""
    _station_step("suspend", candidate_id, reason, by_station, actor, as_json)


@candidates_group.command("reopen")
@click.argument("candidate_id", type=_ID)
@click.option("--reason", default="", help="备注 (note)")
@_by_station
@actor_option
@json_option
def reopen_cmd(candidate_id: int, reason: str, by_station: bool, actor: str | None,
               as_json: bool) -> None:
    """恢复开放暂停的站点 (reopen a suspended station)."""
    _station_step("reopen", candidate_id, reason, by_station, actor, as_json)


@candidates_group.command("close")
@click.argument("candidate_id", type=_ID)
@click.option("--reason", required=True, help="关闭原因 (reason)")
@_by_station
@actor_option
@json_option
def close_cmd(candidate_id: int, reason: str, by_station: bool, actor: str | None,
              as_json: bool) -> None:
    """关闭站点 (close the station for good; it stays on record)."""
    _station_step("close", candidate_id, reason, by_station, actor, as_json)


@candidates_group.command("decline")
@click.argument("candidate_id", type=_ID)
@click.option("--reason", required=True, help="放弃原因 (reason)")
@actor_option
@json_option
def decline_cmd(candidate_id: int, reason: str, actor: str | None, as_json: bool) -> None:
    """放弃该候选单位 (decline, with a reason)."""
    from stations.lifecycle import decline

    candidate = decline(ready_store(), candidate_id, actor=actor or _default_actor(), reason=reason)
    _done(candidate, as_json, "已放弃 (declined)")


@candidates_group.command("history")
@click.argument("candidate_id", type=_ID)
@_by_station
@json_option
def history_cmd(candidate_id: int, by_station: bool, as_json: bool) -> None:
    """审计日志 (the audit log of a candidate or station)."""
    from stations.lifecycle import history

    store = ready_store()
    events = (history(store, station_id=candidate_id) if by_station
              else history(store, candidate_id))
    if as_json:
        emit_json(events)
        return
    if not events:
        click.echo("暂无记录 (no events)")
    for e in events:
        move = f"{e['from_zh']} → {e['to_zh']}" if e["from"] != e["to"] else "（阶段不变）"
        click.echo(f"{e['at']} {e['actor']} {e['action_zh']}: {move}  {e['note']}")


@main.command("geocode")
@click.argument("addresses", nargs=-1)
@json_option
def geocode_cmd(addresses: tuple[str, ...], as_json: bool) -> None:
    """地址解析（离线；配置后可用在线服务）: ADDRESS... or one address per line on stdin."""
    from geodata.places.online import geocoder_from_env
    from stations.errors import ValidationError
    from stations.store import Store

    items = list(addresses) or [line.strip() for line in sys.stdin if line.strip()]
    if not items:
        raise ValidationError("请给出地址 (give at least one ADDRESS, or lines on stdin)")
    store = Store()
    try:
        store.check()
    except Exception:  # no store yet: geocode against the shipped gazetteer only
        store = None
    geocoder = geocoder_from_env(store)
    results = geocoder.geocode_many(items, progress=len(items) > 50 and sys.stderr.isatty())
    keys = ("query", "lon", "lat", "precision", "matched", "confidence")
    if as_json:
        emit_json([{**{k: r.as_dict()[k] for k in keys}, **{
            k: v for k, v in r.as_dict().items() if k not in keys}} for r in results])
        return
    for r in results:
        if r.lon is None:
            click.echo(f"{r.query}\t未找到 (none)")
        else:
            click.echo(f"{r.query}\t{r.lon:.6f} {r.lat:.6f}\t{r.precision}\t{r.matched}\t"
                       f"置信度 {r.confidence:.2f}")
