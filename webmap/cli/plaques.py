"""``nuanxin plaques``: print-ready QR plaques (issue 13 item 4)."""

from __future__ import annotations

import click

from stations.limits import ID_MAX, ID_MIN
from webmap.cli.base import Number, main, ready_store

__all__ = []


@main.command("plaques")
@click.option("--station", "station_id", type=Number(integer=True, minimum=ID_MIN, maximum=ID_MAX),
              help="一个站点的编号 (one station's id): a .png or .pdf")
@click.option("--street", help="一个街道的全部开放站点 (every open station of a street): .pdf")
@click.option("--district", default="", help="与 --street 同用：街道所在的区 (the street's "
              "district, when its name is ambiguous)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="输出文件 .png（一个站点）或 .pdf (output file)")
def plaques_cmd(station_id: int | None, street: str | None, district: str, out: str) -> None:
    """二维码标识牌 (QR plaques): the QR opens NUANXIN_PUBLIC_URL/stations/<id>?src=qr."""
    from webmap.plaques import plaque_stations, write_plaques

    store = ready_store()
    stations = plaque_stations(store, station_id=station_id, street=street, district=district)
    count = write_plaques(stations, out)
    click.echo(f"已生成 {count} 个标识牌 (plaques written): {out}")
