"""Foundation commands: init, convert, nearest, stations import/export."""

from __future__ import annotations

import sys

import click

from webmap.cli import emit_json, main

__all__ = []


@main.command("convert")
@click.option("--from", "src", required=True, help="wgs84 | gcj02 | bd09")
@click.option("--to", "dst", required=True, help="wgs84 | gcj02 | bd09")
@click.argument("lon", required=False, type=float)
@click.argument("lat", required=False, type=float)
def convert_cmd(src: str, dst: str, lon: float | None, lat: float | None) -> None:
    """坐标转换: 在 wgs84 / gcj02 / bd09 之间转换 (LON LAT, or `lon lat` lines on stdin)."""
    import numpy as np

    from geodata.datums import convert, normalise_datum
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
        if values is None or values.size != 2 * len(lines):
            for i, line in enumerate(lines, start=lineno + 1):
                parts = line.split()
                try:
                    if len(parts) != 2:
                        raise ValueError
                    float(parts[0]), float(parts[1])
                except ValueError:
                    raise DatumError(
                        f"line {i}: expected 'lon lat', got {line.strip()!r}") from None
        pairs = values.reshape(-1, 2)
        x, y = convert(pairs[:, 0], pairs[:, 1], src=src, dst=dst)
        out = np.empty((x.size, 2))
        out[:, 0], out[:, 1] = x, y
        buf = _format_pairs(out, np)
        stdout.write(buf)
        lineno += len(lines)
    stdout.flush()


def _format_pairs(out, np) -> str:
    import io

    sink = io.StringIO()
    np.savetxt(sink, out, fmt="%.8f", delimiter=" ")
    return sink.getvalue()
