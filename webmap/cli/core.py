"""Foundation commands: init, convert, nearest, stations import/export."""

from __future__ import annotations

import sys

import click

from webmap.cli.base import Number, crs_option, emit_json, main, ready_store

__all__ = []


@main.command("convert")
@click.option("--from", "src", required=True, help="wgs84 | gcj02 | bd09")
@click.option("--to", "dst", required=True, help="wgs84 | gcj02 | bd09")
@click.argument("lon", required=False, type=Number())
@click.argument("lat", required=False, type=Number())
def convert_cmd(src: str, dst: str, lon: float | None, lat: float | None) -> None:
    """坐标转换: 在 wgs84 / gcj02 / bd09 之间转换 (LON LAT, or `lon lat` lines on stdin)."""
    import numpy as np

    from geodata.crs.datums import convert, normalise_datum
    from geodata.errors import DatumError

    src, dst = normalise_datum(src), normalise_datum(dst)
    if lon is not None and lat is None:
        raise DatumError("give both LON and LAT (经度 纬度), or none to read stdin")
    if lon is not None:
        x, y = convert(lon, lat, src=src, dst=dst)
        click.echo(f"{x:.8f} {y:.8f}")
        return
    _convert_stream(sys.stdin, sys.stdout, src=src, dst=dst, convert=convert, np=np)


def _convert_stream(stdin, stdout, *, src, dst, convert, np, chunk_lines: int = 1_000_000):
    from geodata.errors import DatumError

    lineno = 0
    while True:
        lines = stdin.readlines(chunk_lines * 24)
        if not lines:
            break
        text = "".join(lines)
        try:
            values = np.array(text.split(), dtype=float)
        except ValueError:
            values = None
        if (values is None or values.size != 2 * len(lines)
                or not _two_fields_per_line(text, len(lines), np)):
            for i, line in enumerate(lines, start=lineno + 1):
                parts = line.split()
                try:
                    if len(parts) != 2:
                        raise ValueError
                    float(parts[0]), float(parts[1])
                except ValueError:
                    raise DatumError(
                        f"line {i}: expected 'lon lat', got {line.strip()!r}") from None
            if values is None or values.size != 2 * len(lines):
                raise DatumError(f"lines {lineno + 1}-{lineno + len(lines)}: "
                                 "expected 'lon lat' numbers")
        pairs = values.reshape(-1, 2)
        x, y = convert(pairs[:, 0], pairs[:, 1], src=src, dst=dst)
        out = np.empty((x.size, 2))
        out[:, 0], out[:, 1] = x, y
        buf = _format_pairs(out, np)
        stdout.write(buf)
        lineno += len(lines)
    stdout.flush()


def _two_fields_per_line(text: str, n_lines: int, np) -> bool:
    """Vectorised check that each line holds exactly two fields (``1 2 3`` / ``4`` is not
    two pairs). False alarms (exotic whitespace) are settled by the line-by-line check."""
    raw = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    blank = raw <= 32
    starts = np.flatnonzero(~blank & np.concatenate(([True], blank[:-1])))
    per_line = np.bincount(np.searchsorted(np.flatnonzero(raw == 10), starts),
                           minlength=n_lines)
    return per_line.size == n_lines and bool((per_line == 2).all())


def _format_pairs(out, np) -> str:
    # the same text as np.savetxt(fmt="%.8f", delimiter=" "), about 4x faster
    return ("%.8f %.8f\n" * len(out)) % tuple(out.ravel().tolist())


# ---------------------------------------------------------------------------------------------
# nuanxin nearest  (nearest-station search; see geodata/index.py)
# ---------------------------------------------------------------------------------------------
_OPEN_LABELS_ZH = {True: "营业中", False: "未营业", None: "时间未知"}


def _split_amenities(values: tuple[str, ...]) -> list[str]:
    import re

    return [item for value in values for item in re.split(r"[,，、;；\s]+", value) if item]


@main.command("nearest")
@click.option("--lon", required=True, type=Number(), help="经度 (longitude, decimal degrees)")
@click.option("--lat", required=True, type=Number(), help="纬度 (latitude, decimal degrees)")
@crs_option
@click.option("-k", "k", default="5", show_default=True, type=Number(integer=True),
              help="how many stations")
@click.option("--amenity", "amenities", multiple=True,
              help="required amenity, key or Chinese name (热水, 微波炉...); repeatable")
@click.option("--open-at", "open_at", default=None,
              help="departure time, ISO 8601 (naive = Asia/Shanghai); keep those open on arrival")
@click.option("--radius", default=None, type=Number(), help="straight-line limit in metres")
@click.option("--max-distance", "max_distance", default=None,
              type=Number(minimum=0, maximum=200_000),
              help="only stations within M metres; none → none_within_m (and a plain line)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def nearest_cmd(lon: float, lat: float, crs: str, k: int, amenities: tuple[str, ...],
                open_at: str | None, radius: float | None, max_distance: float | None,
                as_json: bool) -> None:
    """最近的驿站: k nearest stations, walking time and whether they are open on arrival."""
    from geodata.nearest.cache import get_index
    from geodata.nearest.payload import nearest_answer
    from stations.hours import parse_open_at
    from stations.store import Store

    wanted = _split_amenities(amenities)
    when = parse_open_at(open_at)  # now (Asia/Shanghai) without --open-at
    store = Store()
    try:
        index = get_index(store)
        payload = nearest_answer(index, lon, lat, k=k, crs=crs, amenities=wanted, open_at=when,
                                 radius_m=radius, require_open=open_at is not None,
                                 max_distance_m=max_distance)
    finally:
        store.dispose()
    if as_json:
        emit_json(payload)
        return
    _print_nearest(payload, empty_store=len(index) == 0, filtered=bool(wanted or open_at))


def _print_nearest(payload: dict, *, empty_store: bool, filtered: bool) -> None:
    from stations.amenities import AMENITY_LABELS_ZH

    q = payload["query"]
    if empty_store:
        click.echo("站点库里还没有开放的驿站 (no open stations in the store)。"
                   "运行 `nuanxin init --demo` 载入北京示例数据，"
                   "或用 `nuanxin stations import FILE` 导入站点。")
        return
    if payload.get("outside_coverage"):
        km = payload["coverage_m"] / 1000
        click.echo(f"这个位置不在站点库的服务范围内：{km:g} 公里内没有任何驿站 "
                   "(outside the store's coverage area)。")
        return
    if "none_within_m" in payload:
        click.echo(f"{payload['none_within_m']:g} 米内没有{'符合条件的' if filtered else ''}驿站 "
                   f"(none within {payload['none_within_m']:g} m)。")
        return
    if not payload["results"]:
        why = "符合条件的" if filtered else ""
        click.echo(f"附近没有{why}驿站 (no matching station found)。")
        return
    how = ("步行距离按步行路网计算" if payload["method"] == "network" else
           f"步行距离按直线距离 × {payload['detour_factor']:g} 估算")
    click.echo(f"离 ({q['lon']:.6f}, {q['lat']:.6f} {q['crs']}) 最近的 {len(payload['results'])} "
               f"个驿站（{how}，步速 {payload['walk_speed_kmh']:g} km/h，"
               f"出发 {q.get('open_at', '')[:16].replace('T', ' ')}）：")
    for n, r in enumerate(payload["results"], start=1):
        state = _OPEN_LABELS_ZH[r["open_at_arrival"]]
        click.echo(f"{n:>2}. {r['name']}  直线 {r['distance_m']:,.0f} m  "
                   f"步行约 {r['walk_minutes']:.0f} 分钟  到达时{state}"
                   + ("  [示例数据]" if r.get("sample") else ""))
        extra = []
        if r.get("address"):
            extra.append(r["address"])
        if r["amenities"]:
            extra.append("设施: " + "、".join(AMENITY_LABELS_ZH[a] for a in r["amenities"]))
        if r.get("opening_hours"):
            extra.append("开放时间: " + r["opening_hours"])
        if extra:
            click.echo("    " + "；".join(extra))


# -- init, stations import/export (engineer B2) ---------------------------------------------


@main.command("init")
@click.option("--demo", is_flag=True, help="载入北京示例数据 (load the shipped Beijing demo).")
@click.option("--if-empty", is_flag=True,
              help="与 --demo 同用: 仅当站点库没有站点时载入示例 (with --demo: only into an "
                   "empty store).")
@click.option("--reset", is_flag=True, help="删除并重建所有表 (drop and recreate every table).")
def init_cmd(demo: bool, if_empty: bool, reset: bool) -> None:
    """创建站点库 (create the store); --demo 载入北京示例数据。"""
    store = ready_store(reset=reset)
    if store.count_areas() == 0:  # outlines for PostGIS's area assignment in SQL (issue 15)
        from geodata.places.stored_areas import store_areas

        store_areas(store)
    click.echo(f"站点库已就绪 (store ready): {store.shown_url}")
    if not demo:
        return
    if if_empty and store.count_stations() > 0:
        click.echo(f"站点库已有 {store.count_stations()} 个站点，未载入示例 "
                   "(store not empty; demo not loaded)")
        return
    from geodata.demo import load_demo

    figures = load_demo(store)
    click.echo(f"已载入北京示例数据 [示例数据] (demo loaded): {figures['stations']} 个站点 "
               f"(stations), {figures['candidates']} 个候选承建单位 (candidates, screened), "
               f"{figures['demand']} 个社区代理点 (community proxy points: counted only with "
               "--demand community_proxy; import a demand sheet for people, "
               "e.g. geodata/demo/guangwai_demand_sample.csv)")


@main.group("stations")
def stations_group() -> None:
    """站点导入导出 (import / export stations)."""


class _OneLineUsage(click.Command):
    """A command whose usage errors are one line on stderr and exit 2 (INTERFACE.md)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from stations.errors import NuanxinError

        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise NuanxinError(f"{exc.format_message()} (usage: {ctx.command_path} "
                               f"{' '.join(self.collect_usage_pieces(ctx))})") from None


@stations_group.command("import", cls=_OneLineUsage)
@click.argument("file", type=click.Path(path_type=str))
@crs_option
@click.option("--update", is_flag=True,
              help="覆盖编码相同的已有站点 (overwrite the station with the same code); "
                   "without it such rows are rejected as duplicates.")
@click.option("--json", "as_json", is_flag=True, help="输出 JSON (print the report as JSON).")
def stations_import_cmd(file: str, crs: str, update: bool, as_json: bool) -> None:
    """导入站点 (import stations from .geojson / .csv / .xlsx / .gpkg).

    Every good row is kept and every bad row reported, one line per problem as
    ``row N, column C: reason`` (N counts data rows from 1 under the header; blank lines
    count, so row N is the spreadsheet's row N+1). Exit status 0 when the file was read
    (even with rejected rows), 2 when it cannot be read or the store cannot be written
    (then nothing is imported).
    """
    from geodata.io.stations import import_stations

    report = import_stations(ready_store(), file, crs=crs, update=update, progress=None)
    if as_json:
        emit_json(report.as_dict())
        return
    click.echo(f"已导入 {report.imported} 个站点 (imported: {report.inserted} 新增 inserted, "
               f"{report.updated} 更新 updated, {report.unchanged} 未变 unchanged)，"
               f"拒绝 {len(report.rejected)} 行 (rejected)，共 {report.total} 行 (rows read)。")
    for bad in report.problems:
        column = f" [{bad['column']}]" if bad.get("column") else ""
        where = f"row {bad['row']}" + (f", column {bad['column']}" if bad.get("column") else "")
        click.echo(f"  第 {bad['row']} 行{column} · {where}: {bad['reason']}")


@stations_group.command("export", cls=_OneLineUsage)
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--for", "platform", default=None,
              help="上传到地图平台的表 (the upload sheet of a map platform, .xlsx or .csv): "
                   "amap (高德, GCJ-02) | baidu (百度, BD-09) | tianditu (天地图, CGCS2000)")
def stations_export_cmd(file: str, platform: str | None) -> None:
    """导出站点 (export every station; format by extension: .geojson .gpkg .csv .xlsx)."""
    if platform is not None:
        from geodata.io.platforms import PLATFORMS, export_for_platform

        count = export_for_platform(ready_store(), file, platform)
        name = PLATFORMS[platform.strip().lower()].name_zh
        click.echo(f"已导出 {count} 个开放站点到 {file}，供上传{name} (exported for {platform})")
        return
    from geodata.io.stations import export_stations

    count = export_stations(ready_store(), file)
    click.echo(f"已导出 {count} 个站点到 {file} (exported)")


@stations_group.command("diff", cls=_OneLineUsage)
@click.argument("old", type=click.Path(dir_okay=False, path_type=str))
@click.argument("new", type=click.Path(dir_okay=False, path_type=str))
@click.option("--json", "as_json", is_flag=True, help="输出 JSON (print JSON)")
def stations_diff_cmd(old: str, new: str, as_json: bool) -> None:
    """比较两次导出 (added, changed field by field, and closed stations between two exports)."""
    from geodata.io.platforms import diff_exports, diff_table_zh

    diff = diff_exports(old, new)
    if as_json:
        emit_json(diff)
    else:
        click.echo(diff_table_zh(diff))
