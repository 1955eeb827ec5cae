"""Planning commands: ``nuanxin demand import``, ``nuanxin coverage``, ``nuanxin site``.

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
    """需求点 (where outdoor workers gather): import."""


@demand_group.command("import")
@click.argument("file", type=click.Path(path_type=str))
@crs_option
@click.option("--replace", is_flag=True, help="先删除已有需求点 (delete existing demand first)")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def demand_import_cmd(file: str, crs: str, replace: bool, as_json: bool) -> None:
    """导入需求点 (.geojson / .csv / .xlsx with lon/lat, optional weight, group, shift)."""
    from geodata.planning.demand import import_demand

    store = ready_store()
    try:
        report = import_demand(store, file, crs=crs, replace=replace)
    finally:
        store.dispose()
    if as_json:
        emit_json(report)
        return
    click.echo(f"已导入 {report['imported']} 个需求点 (imported)，"
               f"拒绝 {len(report['rejected'])} 行 (rejected)。")
    for bad in report["rejected"]:
        column = f" [{bad['column']}]" if bad.get("column") else ""
        click.echo(f"  第 {bad['row']} 行{column}: {bad['reason']}")


# ----------------------------------------------------------------------------- coverage
@main.command("coverage")
@click.option("--district", default=None, help="区 (name, short name, pinyin or code)")
@click.option("--street", default=None, help="街道 (name, short name or code)")
@click.option("--radius", default=None, type=Number(),
              help="服务半径, 米 (radius in metres, default 1000)")
@click.option("--minutes", default=None, type=Number(),
              help="步行分钟 (walking minutes instead of a radius)")
@click.option("--min-stations", "min_stations", default="2", show_default=True,
              type=Number(integer=True, minimum=1), help="交叉覆盖: covered by at least N stations")
@click.option("--at", "at", default=None, help="只计此时开放的站点 (ISO 8601, Asia/Shanghai)")
@click.option("--network", "network_path", default=None,
              help="步行路网文件 (.osm / .osm.pbf / .gpkg; default $NUANXIN_NETWORK)")
@click.option("--cell", default="100", show_default=True, type=Number(minimum=1),
              help="无导入需求时的网格边长, 米 (grid cell size when there is no demand)")
@click.option("--report", "report_path", default=None, help="写出 Excel 报告 (.xlsx)")
@click.option("--geojson", "geojson_path", default=None, help="写出 GeoJSON")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def coverage_cmd(district, street, radius, minutes, min_stations, at, network_path, cell,
                 report_path, geojson_path, as_json) -> None:
    """覆盖分析: how much demand is within reach of an open station (and of ≥ N)."""
    from geodata.io.reports import coverage_geojson, write_excel_report, write_geojson
    from geodata.planning.coverage import area_coverage

    network = _network(network_path)
    store = ready_store()
    try:
        result = area_coverage(store, district=district, street=street, radius_m=radius,
                               minutes=minutes, min_stations=min_stations, at=at,
                               network=network, cell_m=cell)
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
    area = (body["area"] or {}).get("name") or "全部"
    click.echo(f"{area}: 需求 {body['demand_total']:,.10g} (来源 {body['demand_source']}, "
               f"{body['demand_points']} 点), 半径 {body['radius_m']:g} m ({body['method']})")
    click.echo(f"  覆盖率 {_pct(body['covered_share'])}，≥{body['min_stations']} 站交叉覆盖率 "
               f"{_pct(body['multi_covered_share'])}，未覆盖 {body['uncovered']} 点")
    far = body["farthest"]
    if far:
        click.echo(f"  最远需求点 {far['name'] or (far['lon'], far['lat'])}: "
                   f"距最近驿站 {far['distance_m']:,.0f} m")
    for row in body["by_area"]:
        click.echo(f"  {row['name']}: {_pct(row['covered_share'])} / "
                   f"{_pct(row['multi_covered_share'])} ({row['demand_total']:g})")


# ----------------------------------------------------------------------------- site
@main.command("site")
@click.option("--district", default=None, help="区 (name, short name, pinyin or code)")
@click.option("--street", default=None, help="街道 (name, short name or code)")
@click.option("--radius", default=None, type=Number(), help="服务半径, 米 (default 1000)")
@click.option("--minutes", default=None, type=Number(),
              help="步行分钟 (walking minutes instead of a radius)")
@click.option("--add", "add", default=None, type=Number(integer=True, minimum=0),
              help="新增站点数 P (how many to open)")
@click.option("--exact", is_flag=True, help="精确求解 (MILP with HiGHS) instead of greedy+swap")
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
    click.echo(f"{area}: 候选 {body['candidates_considered']} 个 (通过筛选且未建站)，"
               f"推荐 {len(body['chosen'])} 个 ({body['model']}, {body['mode']})")
    click.echo(f"  覆盖需求 {body['covered_before']:g} → {body['covered_after']:g} "
               f"({_pct(body['covered_share_before'])} → {_pct(body['covered_share_after'])})")
    for c in body["chosen"]:
        click.echo(f"  #{c['rank']} {c['name']} (id {c['id']}): +{c['gain']:g}  {c['address']}")
