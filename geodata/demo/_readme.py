"""The README written beside the shipped demo data (figures filled in by the build)."""

from __future__ import annotations

__all__ = ["readme_text"]

_TEMPLATE = """\
# Beijing demo data (北京示例数据)

Built by `python -m geodata.demo build` (or `make demo`) from the public source files in
`../shared/data/` (see its `SOURCES.md`). Do not edit these files by hand: change the builder
and rebuild; `tests/test_demo.py` checks that the shipped files equal a fresh build.

**Datum: every coordinate in these files is WGS84 (EPSG:4326)**, converted from the GCJ-02
sources with `geodata.crs.datums.convert(..., src="gcj02", dst="wgs84")` (iterated inverse,
round trip < 1 mm) — except the `经度`/`纬度` columns of `demo_candidates.csv`, which are
kept in **GCJ-02** on purpose (import it with `--crs gcj02`).

## Files

- `districts.geojson` ({districts} features): the 16 district polygons (`adcode, name,
  short_name, pinyin, center_lon, center_lat, datum, source`), converted vertex by vertex,
  rounded to 7 decimals (≈1 cm), made valid.
- `streets.csv` ({streets} rows, {streets_with_point} with a point): streets/towns (街道/乡镇):
  `code` (9 digits), `name`, `short_name`, `pinyin`, `district`, `district_code`, `lon`, `lat`
  (street-office point, blank when unknown), `vintage`, `name_2016`.
- `communities.csv` ({communities} rows, {communities_with_point} with a point):
  communities/villages (社区/村): `code` (12 digits), `name`, `short_name`, `kind`
  (`community`/`village`), `street`, `street_code`, `district`, `district_code`, `lon`, `lat`
  (blank when unknown).
- `streets_approx.geojson` ({street_areas} features): **approximate** street polygons
  (`approx: true`), see below.
- `demo_stations.geojson` ({demo_stations} features): sample stations (every feature
  `sample: true`) in 西城区, mostly 广安门外街道.
- `demo_candidates.csv` ({demo_candidates} rows): sample union sheet for 广安门外街道
  (Chinese headers, 示例 = 是).
- `demo_demand.csv` ({demo_demand} rows): proxy demand, every community/village point of
  Beijing, weight 1, group `community`.

## Sources and vintages

- **Vonng/adcode** (CC BY 4.0, attribution "Vonng/adcode"; `LICENSE-vonng-adcode.md`): district
  fences (from Amap) and the street-office and community centre points; codes are the NBS 2016
  统计用区划代码 (as of 2016-07-31), so the **community list is the 2016 list**.
- **modood/Administrative-divisions-of-China** (WTFPL; `LICENSE-modood-divisions.txt`): NBS 2023
  street codes and names (as of 2023-06-30). **Street names and codes are the 2023 ones**: a 2016
  street whose code still exists in 2023 takes the 2023 name (renames such as
  卢沟桥街道 → 六里桥街道 or 长辛店镇 → 北宫镇 are kept with `name_2016`); a street that
  moved code under the same name takes its 2023 code. `vintage` says which lists hold the
  street: `2016-2023` (both), `2016` (only the 2016 list, e.g. 南苑地区, since split up; its
  communities still point at it) or `2023` (new since 2016: no point and no communities in
  these sources).
- **AreaCity-JsSpider-StatsGov** (MIT; `LICENSE-areacity.txt`): street short names (广安门外) and
  pinyin, matched on the 2023 name within the district; where it has no entry the short name is
  the name without its 街道/地区/镇/乡 suffix and pinyin is blank.
- **station-news** (facts from news reports): the two Xicheng stations named in the news.

## Approximations (read before trusting a boundary)

- No official street (街道) boundaries exist in the sources. `streets_approx.geojson` builds them
  as Voronoi cells of each district's community and street-office points (computed in metres in
  EPSG:4548), dissolved by street, clipped to the district polygon and coverage-simplified with a
  20 m tolerance (shared edges stay shared; outlines may differ from `districts.geojson` by a few
  metres), 6 decimals. They are good enough to say roughly which street a point falls in and to
  draw an outline; they are **not** official boundaries. Streets without any point (new 2023
  streets, and those whose communities have no coordinates) have no polygon. Where two points
  share exact coordinates the street-office point wins, then the lower community code.
- Community centre points are Amap geocodes of the committee names (2016); about a third of the
  communities have one. They are centres, not surveyed addresses.

## Sample data (示例数据)

`demo_stations.geojson`, `demo_candidates.csv` and `demo_demand.csv` are **sample data** for
demonstration, marked `sample` / `示例 = 是` in every row; the UI labels them 示例数据.

- Stations sit at real community or street-office points of 西城区: {demo_stations_guangwai} in
  广安门外街道 (the product's origin, where 26 stations were set up in reality) and
  {demo_stations_other} in other Xicheng streets. Names of community-hosted stations follow the
  community; other host names are
  generic inventions tied to the community they are placed in. Amenities (with unknowns), access,
  area, opening hours (9–5 weekdays, split hours, 24/7, 06:00–18:00, past midnight, holiday
  closures), statuses (a few suspended or closed, with reasons) and verified dates are drawn from
  a seeded RNG (seed {seed}) so a rebuild reproduces the same bytes.
- Two stations are real ones named in news reports:
  **北京宝林轩国际大酒店暖心驿站** (广安门外街道, 北京日报 2022-01-11) has no coordinates in the
  source and is **placed at the 广安门外 street-office point**; its kit and hours are unknown.
  **陶然亭街道党群服务中心蜂巢驿站** (北京日报 2021-08-27) is placed at the 陶然亭
  street-office point.
- `demo_candidates.csv` lists every 2016 community of 广安门外街道 (30; the real screening covered
  35 community unions) plus 15 enterprises and other hosts. Community rows carry the GCJ-02
  centre point when one is known, others are address-only (the import geocodes them); a few
  enterprises sit at the GCJ-02 point of the community (or street office) they are named after
  and five at invented GCJ-02 points near the edges of the street (marked 坐标为示例点位), where
  they reach communities no open station covers. It tells the origin story (in reality 26 hosts
  met the conditions): screened as the demo's union, 广安门外街道 (`geodata.demo.DEMO_UNION`;
  the default standard `stations/standard.toml` names no place), **26 rows pass**
  (full core kit and toilet listed, ground floor and street-facing, ≥ 12 m², ≥ 8 hours on ≥ 5
  days, direct entry, inside 广安门外街道), **11 fail** for one stated reason each (second floor,
  basement, not street-facing, 8–10 m², app registration, split hours of 6–7 hours a day) and
  **8 are unknown** (blank area or floor, facilities not surveyed, toilet or hours not filled
  in). `nuanxin site` picks among the passing rows that are not yet stations.
- `demo_demand.csv` uses community points as a stand-in for where outdoor workers are; real
  demand (depots, courier stations, taxi ranks) should replace it.
"""


def readme_text(figures: dict, *, seed: int) -> str:
    """The README with the build's figures."""
    return _TEMPLATE.format(seed=seed, **figures)
