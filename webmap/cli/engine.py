"""``nuanxin coverage --engine dask``: the coverage question on dask.distributed (issue 15).

Called by :func:`webmap.cli.planning.coverage_cmd` when ``--engine dask`` is given; the work is
:func:`geodata.planning.cluster.area_coverage_dask`. Options the dask engine does not take
(a walking network, ``--at``, the day strip, report files) are refused with one line (exit 2)
rather than silently answering a different question.
"""

from __future__ import annotations

import click

from stations.errors import ValidationError
from webmap.cli.base import emit_json

__all__ = ["dask_coverage"]


def _refuse(given: dict[str, object]) -> None:
    bad = [name for name, value in given.items() if value]
    if bad:
        raise ValidationError(f"--engine dask 不支持 {', '.join(bad)} (the dask engine measures "
                              "straight line × detour for every open station at any hour; "
                              "use the default engine for these)")


def dask_coverage(*, district, street, radius, minutes, min_stations, cell, demand,
                  scheduler, demand_parquet, partitions, as_json, refuse: dict) -> None:
    """Run the dask engine and print its answer (JSON with ``--json``)."""
    from geodata.planning.cluster import area_coverage_dask
    from webmap.cli.base import ready_store

    _refuse(refuse)
    if demand_parquet and demand != "auto":
        raise ValidationError("--demand-parquet 与 --demand 不能同时使用 (give one demand source)")
    store = ready_store()
    try:
        body = area_coverage_dask(store, district=district, street=street, radius_m=radius,
                                  minutes=minutes, min_stations=min_stations,
                                  demand_path=demand_parquet, scheduler=scheduler,
                                  partitions=partitions, cell_m=cell, demand=demand)
    finally:
        store.dispose()
    if as_json:
        emit_json(body)
        return
    share = "—" if body["covered_share"] is None else f"{body['covered_share'] * 100:.1f}%"
    multi = ("—" if body["multi_covered_share"] is None
             else f"{body['multi_covered_share'] * 100:.1f}%")
    click.echo(f"dask ({body['scheduler']}, {body['workers']} workers, {body['partitions']} "
               f"partitions, {body['seconds']:.1f} s): 需求 {body['demand_total']:,.10g} "
               f"({body['demand_points']:,} 点), 半径 {body['radius_m']:g} 米")
    click.echo(f"  覆盖率 {share}，≥{body['min_stations']} 站交叉覆盖率 {multi}，"
               f"未覆盖 {body['uncovered']:,} 点")
    for row in body["by_area"]:
        if row["demand_points"]:
            click.echo(f"  {row['name']}: {row['covered_share'] or 0:.1%} "
                       f"({row['demand_total']:,.10g})")
