"""Planning commands: ``nuanxin demand template|import|pending``, ``nuanxin coverage``,
``nuanxin site``.

Thin faces over :mod:`geodata.planning.demand`, :mod:`geodata.planning.coverage`,
:mod:`geodata.planning.siting` and :mod:`geodata.io.reports`. Numbers are read by the CLI's
one number type (:class:`webmap.cli.base.Number`): a bad value is one line on stderr and exit
status 2 (not click's multi-line usage error).
"""

from __future__ import annotations

import click

from webmap.cli.base import Number, crs_option, emit_json, main, ready_store

__all__ = []

#: Uncovered demand points written to --geojson at most (the dissolved area is always whole).
_GEOJSON_POINTS = 50_000


def _network(path: str | None):
    from geodata.network import default_network

    return default_network(path)


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# ----------------------------------------------------------------------------- demand
@main.group("demand")
def demand_group() -> None:
    """需求点 (where outdoor workers gather): template, import, rows waiting for a pin."""


@demand_group.command("template")
@click.argument("file", type=click.Path(path_type=str))
def demand_template_cmd(file: str) -> None:
    """写出需求表模板 (.xlsx or .csv): 名称, 类型, 人数, 班次, 地址/经纬度, 备注."""
    from geodata.io.demand import write_template

    path = write_template(file)
    click.echo(f"已写出需求表模板 (template written): {path}")


@demand_group.command("import")
@click.argument("file", type=click.Path(path_type=str))
@crs_option
@click.option("--replace", is_flag=True, help="先删除已有需求点 (delete existing demand first)")
@click.option("--sample", is_flag=True, help="标记为示例数据 (mark as sample data)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def demand_import_cmd(file: str, crs: str, replace: bool, sample: bool, as_json: bool) -> None:
    """导入需求表 (.xlsx / .csv / .geojson): 坐标或地址, 人数, 班次; 定位到区/市的行待定位."""
    from geodata.io.demand import import_demand_sheet

    store = ready_store()
    try:
        report = import_demand_sheet(store, file, crs=crs, replace=replace, sample=sample,
                                     replace_source=True)
    finally:
        store.dispose()
    if as_json:
        emit_json(report)
        return
    rows = {r["row"] for r in report["rejected"]}
    click.echo(f"已导入 {report['imported']} 个需求点，共 {report['people']:,.10g} 人 (imported)；"
               f"拒绝 {len(rows)} 行 (rejected)；待定位 {len(report['pending_pin'])} 行。")
    for bad in report["rejected"]:
        column = f" [{bad['column']}]" if bad.get("column") else ""
        click.echo(f"  第 {bad['row']} 行{column}: {bad['reason']}")
    for row in report["pending_pin"]:
        click.echo(f"  第 {row['row']} 行 {row['name']}: {row['precision_zh']}，不参与计算，"
                   "请用 nuanxin demand pin 定位 (needs a pin)")
    for row in report["approximate"]:
        click.echo(f"  第 {row['row']} 行 {row['name']}: 近似位置（街道级）")


@demand_group.command("pending")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def demand_pending_cmd(as_json: bool) -> None:
    """待定位的需求点 (rows geocoded only to their district or city)."""
    from stations.demand_points import pending_pins

    store = ready_store()
    try:
        rows = pending_pins(store)
    finally:
        store.dispose()
    if as_json:
        emit_json([{k: r[k] for k in ("id", "name", "address", "district", "street", "weight",
                                      "precision")} for r in rows])
        return
    click.echo(f"待定位需求点 {len(rows)} 个 (waiting for a pin)")
    for r in rows:
        click.echo(f"  #{r['id']} {r['name']} · {r['address']} · {r['weight']:g} 人")


@demand_group.command("pin")
@click.argument("point_id", type=Number(integer=True, minimum=1))
@click.option("--lon", required=True, type=Number(), help="经度 (longitude)")
@click.option("--lat", required=True, type=Number(), help="纬度 (latitude)")
@crs_option
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def demand_pin_cmd(point_id: int, lon: float, lat: float, crs: str, as_json: bool) -> None:
    """给待定位的需求点定位 (place a demand point; its street follows from the pin)."""
    from geodata.crs.datums import convert, normalise_datum
    from geodata.places.assign import areas_at
    from stations.demand_points import set_pin
    from stations.errors import ValidationError

    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(f"坐标超出范围 (lon must be -180..180, lat -90..90): {lon}, {lat}")
    datum = normalise_datum(crs)
    if datum != "wgs84":
        lon, lat = (float(v) for v in convert(lon, lat, src=datum, dst="wgs84"))
    area = areas_at([lon], [lat])[0]
    store = ready_store()
    try:
        row = set_pin(store, point_id, lon=lon, lat=lat, district=area.district,
                      street=area.street)
    finally:
        store.dispose()
    if as_json:
        emit_json({k: row[k] for k in ("id", "name", "lon", "lat", "district", "street",
                                       "precision")})
        return
    click.echo(f"已定位需求点 #{row['id']} {row['name']}: {row['district']} {row['street']}")


# ----------------------------------------------------------------------------- coverage
@main.command("coverage")
@click.option("--district", default=None, help="区 (name, short name, pinyin or code)")
@click.option("--street", default=None, help="街道 (name, short name or code)")
@click.option("--radius", default=None, type=Number(),
              help="服务半径, 米 (radius in metres, default 1000)")
@click.option("--minutes", default=None, type=Number(),
              help="步行分钟 (walking minutes; with --radius: within both)")
@click.option("--min-stations", "min_stations", default="2", show_default=True,
              type=Number(integer=True, minimum=1), help="交叉覆盖: covered by at least N stations")
@click.option("--at", "at", default=None, help="只计此时开放的站点 (ISO 8601, Asia/Shanghai)")
@click.option("--network", "network_path", default=None,
              help="步行路网文件 (.osm / .osm.pbf / .gpkg; default $NUANXIN_NETWORK)")
@click.option("--cell", default="100", show_default=True, type=Number(minimum=1),
              help="无导入需求时的网格边长, 米 (grid cell size when there is no demand)")
@click.option("--demand", "demand", default="auto", show_default=True,
              type=click.Choice(["auto", "imported", "area", "community_proxy"]),
              help="需求: auto = 导入的需求点, 没有则按面积; community_proxy = 社区代理点")
@click.option("--strip", is_flag=True,
              help="一天的覆盖条 (coverage at 06:00 / 12:00 / 18:00 / 22:00)")
@click.option("--report", "report_path", default=None, help="写出 Excel 报告 (.xlsx)")
@click.option("--geojson", "geojson_path", default=None, help="写出 GeoJSON")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
@click.option("--engine", default="local", show_default=True,
              type=click.Choice(["local", "dask"]),
              help="计算引擎: local = 本进程; dask = dask.distributed "
                   "(LocalCluster 或 --scheduler)")
@click.option("--scheduler", default=None,
              help="dask 调度器地址 (tcp://host:8786); 默认本机 LocalCluster")
@click.option("--demand-parquet", "demand_parquet", default=None,
              help="需求点 GeoParquet (可分区的文件夹; --engine dask)")
@click.option("--partitions", default=None, type=Number(integer=True, minimum=1, maximum=100000),
              help="需求分块数 (--engine dask)")
def coverage_cmd(district, street, radius, minutes, min_stations, at, network_path, cell,
                 demand, strip, report_path, geojson_path, as_json, engine="local",
                 scheduler=None, demand_parquet=None, partitions=None) -> None:
    """覆盖分析: how much demand is within reach of an open station (and of ≥ N)."""
    if engine == "dask":  # issue 15: webmap.cli.engine / geodata.planning.cluster
        from stations import settings
        from webmap.cli.engine import dask_coverage

        return dask_coverage(
            district=district, street=street, radius=radius, minutes=minutes,
            min_stations=min_stations, cell=cell, demand=demand, scheduler=scheduler,
            demand_parquet=demand_parquet, partitions=partitions, as_json=as_json,
            refuse={"--at": at, "--network": network_path or settings.get("NETWORK"),
                    "--strip": strip,
                    "--report": report_path, "--geojson": geojson_path})
    if scheduler or demand_parquet or partitions:
        from stations.errors import ValidationError

        raise ValidationError("--scheduler/--demand-parquet/--partitions 需要 --engine dask")
    from geodata.io.reports import coverage_geojson, write_excel_report, write_geojson
    from geodata.planning.coverage import area_coverage

    network = _network(network_path)
    store = ready_store()
    try:
        result = area_coverage(store, district=district, street=street, radius_m=radius,
                               minutes=minutes, min_stations=min_stations, at=at,
                               network=network, cell_m=cell, demand=demand, strip=strip)
    finally:
        store.dispose()
    if report_path:
        write_excel_report(report_path, coverage=result)
    if geojson_path:
        write_geojson(geojson_path, coverage_geojson(result, max_points=_GEOJSON_POINTS))
    body = result.as_dict()
    if as_json:
        emit_json(body)
        return
    _print_coverage(body)


def _print_coverage(body: dict) -> None:
    area = (body["area"] or {}).get("name") or "全部"
    click.echo(f"{area}: 需求 {body['demand_amount_zh']} (来源: {body['demand_label_zh']}, "
               f"{body['demand_points']} 点), 半径 {body['radius_m']:g} 米 ({body['method_note']})")
    click.echo(f"  {body['demand_note_zh']}")
    click.echo(f"  覆盖率 {_pct(body['covered_share'])}，≥{body['min_stations']} 站交叉覆盖率 "
               f"{_pct(body['multi_covered_share'])}，未覆盖 {body['uncovered']} 点")
    far = body["farthest"]
    if far:
        click.echo(f"  最远需求点 {far['name'] or (far['lon'], far['lat'])}: "
                   f"距最近驿站 {far['distance_m']:,.0f} m")
    from geodata.planning.gaps import size_text

    for row in body["by_area"]:
        click.echo(f"  {row['name']}: {_pct(row['covered_share'])} / "
                   f"{_pct(row['multi_covered_share'])} "
                   f"({size_text(row['demand_total'], body['demand_unit'])})")
    if body.get("time_strip"):
        click.echo("  一天: " + "  ".join(f"{r['time']} {_pct(r['covered_share'])}"
                                        for r in body["time_strip"]))
    unit = body["demand_unit"]
    for gap in body["gaps"][:10]:
        cand = gap["candidate"]
        near = ("无驿站" if gap["nearest_station_m"] is None
                else f"最近驿站 {gap['nearest_station_name']} {gap['nearest_station_m']:,.0f} 米")
        click.echo(f"  缺口 #{gap['rank']} {gap['street'] or ''}: {gap['size_zh']}, {near}"
                   + (f"; 候选 {cand['name']} 可覆盖 {size_text(cand['covers'], unit)}"
                      if cand else "; 无可覆盖的候选单位"))


# ----------------------------------------------------------------------------- site
@main.command("site")
@click.option("--district", default=None, help="区 (name, short name, pinyin or code)")
@click.option("--street", default=None, help="街道 (name, short name or code)")
@click.option("--radius", default=None, type=Number(), help="服务半径, 米 (default 1000)")
@click.option("--minutes", default=None, type=Number(),
              help="步行分钟 (walking minutes; with --radius: within both)")
@click.option("--add", "add", default=None, type=Number(integer=True, minimum=0),
              help="新增站点数 P (how many to open)")
@click.option("--exact/--fast", default=None, help="精确求解 (MILP, HiGHS) 或快速近似；默认：HiGHS "
              "在时限内证明最优则为精确解，否则给出近似解及其可证明的差距 (default: exact when "
              "HiGHS proves it in time, else the heuristic with its proven gap)")
@click.option("--lscp", is_flag=True, help="最少站点覆盖全部可覆盖需求 (set covering)")
@click.option("--backup", is_flag=True, help="同时追求交叉覆盖 (backup coverage)")
@click.option("--network", "network_path", default=None,
              help="步行路网文件 (.osm / .osm.pbf / .gpkg; default $NUANXIN_NETWORK)")
@click.option("--cell", default="100", show_default=True, type=Number(minimum=1),
              help="网格边长, 米 (grid cell size)")
@click.option("--report", "report_path", default=None, help="写出 Excel 报告 (.xlsx)")
@click.option("--geojson", "geojson_path", default=None, help="写出 GeoJSON")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def site_cmd(district, street, radius, minutes, add, exact, lscp, backup, network_path, cell,
             report_path, geojson_path, as_json) -> None:
    """选址: which screened candidates to open next (existing stations stay)."""
    from geodata.io.reports import siting_geojson, write_excel_report, write_geojson
    from geodata.planning.siting import site
    from stations.errors import ValidationError

    if add is None and not lscp:
        raise ValidationError("需要 --add P (how many stations to add), or --lscp")
    network = _network(network_path)
    store = ready_store()
    try:
        body = site(store, district=district, street=street, radius_m=radius,
                    minutes=minutes, add=add, exact=exact, lscp=lscp, backup=backup,
                    network=network, cell_m=cell)
    finally:
        store.dispose()
    if report_path:
        write_excel_report(report_path, siting=body)
    if geojson_path:
        write_geojson(geojson_path, siting_geojson(body))
    if as_json:
        emit_json(body)
        return
    area = (body["area"] or {}).get("name") or "全部"
    gap = body.get("gap")
    how = body.get("mode_zh", body["mode"]) + (
        f"，与最优相差不超过 {gap * 100:.1f}%" if gap else "")
    click.echo(f"{area}: 候选 {body['candidates_considered']} 个 (通过筛选、未建站、已定位)，"
               f"推荐 {len(body['chosen'])} 个（{how}）")
    click.echo(f"  覆盖需求 {body['covered_before']:g} → {body['covered_after']:g} "
               f"({_pct(body['covered_share_before'])} → {_pct(body['covered_share_after'])})")
    if body.get("explanation"):
        click.echo(f"  {body['explanation']['message_zh']}")
    for c in body["chosen"]:
        click.echo(f"  #{c['rank']} {c['name']} (id {c['id']}): +{c['gain']:g}  {c['address']}")
