"""Datums (WGS84 ↔ GCJ-02 ↔ BD-09), metric projections and ``nuanxin convert``.

Errors are measured in metres on the WGS84 ellipsoid (pyproj ``Geod``), never in degrees.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from pyproj import CRS, Geod

from geodata.crs.datums import (
    DATUMS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalise_datum,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geodata.crs.projection import BEIJING_CRS, from_metric, metric_crs_for, to_metric
from geodata.errors import DatumError
from stations.errors import NuanxinError
from webmap.cli import main

GEOD = Geod(ellps="WGS84")
NUANXIN = Path(sys.executable).with_name("nuanxin")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance(s) in metres."""
    a = [np.broadcast_to(np.asarray(v, dtype=float), np.shape(lon1)) for v in
         (lon1, lat1, lon2, lat2)]
    return np.asarray(GEOD.inv(*a)[2])


def beijing_grid(step: float = 0.01):
    """Every ``step`` degrees over Beijing (115.4–117.6 E, 39.4–41.1 N), edges included."""
    lons = np.linspace(115.4, 117.6, int(round(2.2 / step)) + 1)
    lats = np.linspace(39.4, 41.1, int(round(1.7 / step)) + 1)
    lon, lat = np.meshgrid(lons, lats)
    return lon.ravel(), lat.ravel()


# ---------------------------------------------------------------------------- reference points
@pytest.mark.parametrize(
    ("src", "dst", "given", "expected", "tolerance_m"),
    [
        # Tiananmen: the widely published WGS84 → GCJ-02 pair (5 decimals, so ±0.6 m)
        ("wgs84", "gcj02", (116.3975, 39.9087), (116.40374, 39.91010), 1.0),
        # wandergis/coordtransform test fixtures (the reference JS implementation)
        ("wgs84", "gcj02", (116.404, 39.915), (116.41024449916938, 39.91640428150164), 0.001),
        ("gcj02", "bd09", (116.404, 39.915), (116.41036949371029, 39.92133699351021), 0.001),
        # Beijing railway station, GCJ-02 (Amap) → BD-09 (Baidu), 5 decimals
        ("gcj02", "bd09", (116.42703, 39.90245), (116.43351, 39.90851), 1.0),
        # coordtransform's one-step BD-09 → GCJ-02 is a few cm off; ours iterates
        ("bd09", "gcj02", (116.404, 39.915), (116.39762729119315, 39.90865673957631), 0.1),
    ],
    ids=["tiananmen", "coordtransform-wgs-gcj", "coordtransform-gcj-bd", "beijing-station-bd",
         "coordtransform-bd-gcj"],
)
def test_published_reference_points(src, dst, given, expected, tolerance_m):
    lon, lat = convert(*given, src=src, dst=dst)
    assert metres(lon, lat, *expected) < tolerance_m


def test_donghuamen_street_office_matches_the_gcj02_source_data():
    """SOURCES.md: Tianditu (≈WGS84) office point vs the GCJ-02 upstream centre, ~12 m apart."""
    lon, lat = wgs84_to_gcj02(116.4010383, 39.9145862)
    assert metres(lon, lat, 116.407239, 39.916094) < 15.0
    # ... while the raw, unconverted point is more than 500 m away
    assert metres(116.4010383, 39.9145862, 116.407239, 39.916094) > 500.0


def test_the_gcj02_shift_in_beijing_is_hundreds_of_metres_and_bd09_more():
    lon, lat = beijing_grid(0.1)
    glon, glat = wgs84_to_gcj02(lon, lat)
    blon, blat = wgs84_to_bd09(lon, lat)
    shift_gcj = metres(lon, lat, glon, glat)
    shift_bd = metres(lon, lat, blon, blat)
    assert shift_gcj.min() > 300 and shift_gcj.max() < 800
    assert shift_bd.min() > 900 and shift_bd.max() < 1600


def test_iterated_inverse_beats_the_one_step_inverse():
    """The one-step GCJ-02 → WGS84 (subtract the offset at the GCJ point) is metres off."""
    lon, lat = beijing_grid(0.05)
    glon, glat = wgs84_to_gcj02(lon, lat)
    one_lon = 2 * glon - wgs84_to_gcj02(glon, glat)[0]
    one_lat = 2 * glat - wgs84_to_gcj02(glon, glat)[1]
    back_lon, back_lat = gcj02_to_wgs84(glon, glat)
    assert metres(one_lon, one_lat, lon, lat).max() > 0.5
    assert metres(back_lon, back_lat, lon, lat).max() < 0.001


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    ("forward", "inverse"),
    [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84),
     (gcj02_to_bd09, bd09_to_gcj02)],
    ids=["wgs-gcj-wgs", "wgs-bd-wgs", "gcj-bd-gcj"],
)
def test_round_trip_over_beijing_is_below_one_millimetre(forward, inverse):
    lon, lat = beijing_grid(0.01)  # 221 x 171 = 37,791 points
    assert lon.size == 221 * 171
    back_lon, back_lat = inverse(*forward(lon, lat))
    error = metres(back_lon, back_lat, lon, lat)
    assert error.max() < 0.001, f"worst round trip {error.max() * 1000:.3f} mm"


@pytest.mark.parametrize("datum", ["gcj02", "bd09"])
def test_inverse_then_forward_lands_on_the_given_point(datum):
    """Start from GCJ-02/BD-09 (what map apps give): back to WGS84 and forward again."""
    rng = np.random.default_rng(7)
    lon = rng.uniform(115.4, 117.6, 20_000)
    lat = rng.uniform(39.4, 41.1, 20_000)
    wlon, wlat = convert(lon, lat, src=datum, dst="wgs84")
    again_lon, again_lat = convert(wlon, wlat, src="wgs84", dst=datum)
    assert metres(again_lon, again_lat, lon, lat).max() < 0.001


def test_round_trip_holds_across_china_in_large_blocks():
    """More points than one internal block, spread over China (72–136 E, 18–54 N)."""
    rng = np.random.default_rng(11)
    lon = rng.uniform(73.0, 135.0, 200_000)
    lat = rng.uniform(18.0, 53.5, 200_000)
    back_lon, back_lat = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(back_lon, back_lat, lon, lat).max() < 0.001


# ---------------------------------------------------------------------------- outside China
@pytest.mark.parametrize(
    "point",
    [(-0.1276, 51.5072), (-74.0060, 40.7128), (139.6917, 35.6895), (151.2093, -33.8688)],
    ids=["london", "new-york", "tokyo", "sydney"],
)
def test_outside_china_gcj02_equals_wgs84(point):
    assert wgs84_to_gcj02(*point) == point
    assert gcj02_to_wgs84(*point) == point
    back = bd09_to_wgs84(*wgs84_to_bd09(*point))
    assert metres(*back, *point) < 0.001


def test_mixed_array_inside_and_outside_china():
    lon = np.array([116.3975, -0.1276, 139.6917])
    lat = np.array([39.9087, 51.5072, 35.6895])
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert metres(glon[0], glat[0], 116.40374, 39.91010) < 1.0
    assert (glon[1:] == lon[1:]).all() and (glat[1:] == lat[1:]).all()


# ---------------------------------------------------------------------------- shapes and names
def test_scalars_in_give_python_floats_out():
    lon, lat = convert(116.3975, 39.9087, src="wgs84", dst="gcj02")
    assert type(lon) is float and type(lat) is float
    lon0, lat0 = convert(np.float64(116.3975), np.array(39.9087), src="wgs84", dst="bd09")
    assert type(lon0) is float and type(lat0) is float


@pytest.mark.parametrize("shape", [(1,), (5,), (3, 4), (2, 70_000)], ids=str)
@pytest.mark.parametrize(("src", "dst"), [("wgs84", "gcj02"), ("bd09", "wgs84"),
                                          ("gcj02", "gcj02")])
def test_arrays_keep_their_shape(shape, src, dst):
    rng = np.random.default_rng(3)
    lon = rng.uniform(116.0, 117.0, shape)
    lat = rng.uniform(39.5, 40.5, shape)
    out_lon, out_lat = convert(lon, lat, src=src, dst=dst)
    assert out_lon.shape == shape and out_lat.shape == shape
    flat_lon, flat_lat = convert(lon.ravel(), lat.ravel(), src=src, dst=dst)
    np.testing.assert_array_equal(out_lon.ravel(), flat_lon)
    np.testing.assert_array_equal(out_lat.ravel(), flat_lat)


def test_lists_are_accepted_and_same_datum_returns_a_copy():
    lon = np.array([116.1, 116.2])
    out_lon, _ = convert(lon, [39.9, 40.0], src="wgs84", dst="wgs84")
    assert out_lon is not lon
    out_lon[0] = 0.0
    assert lon[0] == 116.1
    glon, _ = convert([116.1, 116.2], [39.9, 40.0], src="wgs84", dst="gcj02")
    assert isinstance(glon, np.ndarray) and glon.shape == (2,)


def test_shape_mismatch_is_a_datum_error():
    with pytest.raises(DatumError, match="differ in shape"):
        convert(np.zeros(3), np.zeros(4), src="wgs84", dst="gcj02")
    with pytest.raises(DatumError, match="differ in shape"):
        gcj02_to_wgs84(np.zeros((2, 2)), np.zeros(4))


@pytest.mark.parametrize(
    ("name", "expected"),
    [("WGS84", "wgs84"), ("wgs-84", "wgs84"), ("EPSG:4326", "wgs84"), (" gps ", "wgs84"),
     ("CGCS2000", "wgs84"), ("GCJ-02", "gcj02"), ("gcj02", "gcj02"), ("amap", "gcj02"),
     ("高德", "gcj02"), ("BD09", "bd09"), ("bd09ll", "bd09"), ("Baidu", "bd09"),
     ("百度", "bd09")],
)
def test_datum_names_are_normalised(name, expected):
    assert normalise_datum(name) == expected


@pytest.mark.parametrize("name", ["utm", "EPSG:4548", "", None, "gcj03"])
def test_unknown_datum_is_an_error_naming_the_choices(name):
    with pytest.raises(DatumError, match="unknown datum.*wgs84, gcj02, bd09") as info:
        normalise_datum(name)
    assert isinstance(info.value, NuanxinError) and isinstance(info.value, ValueError)
    with pytest.raises(DatumError):
        convert(116.0, 40.0, src="wgs84", dst=name)


def test_every_pair_of_datums_converts():
    for src in DATUMS:
        for dst in DATUMS:
            lon, lat = convert(116.3975, 39.9087, src=src, dst=dst)
            back = convert(lon, lat, src=dst, dst=src)
            assert metres(*back, 116.3975, 39.9087) < 0.001, (src, dst)


# ---------------------------------------------------------------------------- projections
@pytest.mark.parametrize(
    ("point", "expected"),
    [((116.40, 39.90), "EPSG:4548"), ((121.47, 31.23), "EPSG:4549"),
     ((-0.1276, 51.5072), "EPSG:32630"), ((-74.006, 40.7128), "EPSG:32618"),
     ((139.6917, 35.6895), "EPSG:32654"), ((151.2093, -33.8688), "EPSG:32756")],
    ids=["beijing", "shanghai", "london", "new-york", "tokyo", "sydney"],
)
def test_metric_crs_for_picks_the_local_zone(point, expected):
    assert metric_crs_for(*point) == expected
    crs = CRS.from_user_input(expected)
    assert crs.is_projected and crs.axis_info[0].unit_name == "metre"


def test_metric_crs_for_beijing_data_and_names_of_the_zones():
    lon, lat = beijing_grid(0.1)
    assert metric_crs_for(lon, lat) == BEIJING_CRS == "EPSG:4548"
    assert "CM 117E" in CRS.from_user_input("EPSG:4548").name
    assert "CM 120E" in CRS.from_user_input(metric_crs_for(121.47, 31.23)).name
    assert metric_crs_for(np.array([]), np.array([])) == BEIJING_CRS


def test_projected_distances_match_geodesics_in_beijing():
    rng = np.random.default_rng(5)
    lon1, lat1 = rng.uniform(115.4, 117.6, 2000), rng.uniform(39.4, 41.1, 2000)
    lon2, lat2 = lon1 + rng.uniform(-0.02, 0.02, 2000), lat1 + rng.uniform(-0.02, 0.02, 2000)
    x1, y1 = to_metric(lon1, lat1)
    x2, y2 = to_metric(lon2, lat2)
    planar = np.hypot(x2 - x1, y2 - y1)
    geodesic = metres(lon1, lat1, lon2, lat2)
    # Gauss-Krüger scale error 1 + x²/2R²: ≤ 6e-5 downtown, 2.3e-4 at 115.4 E (1.6° off CM)
    relative = np.abs(planar - geodesic) / geodesic
    assert relative.max() < 2.5e-4
    downtown = (np.abs(lon1 - 116.4) < 0.2) & (np.abs(lat1 - 39.9) < 0.2)
    assert relative[downtown].max() < 7e-5
    back_lon, back_lat = from_metric(x1, y1)
    assert metres(back_lon, back_lat, lon1, lat1).max() < 1e-6


# ---------------------------------------------------------------------------- the CLI
def _run(args, stdin=None):
    return CliRunner().invoke(main, args, input=stdin)


def test_cli_convert_single_point_prints_eight_decimals():
    result = _run(["convert", "--from", "wgs84", "--to", "gcj02", "116.3975", "39.9087"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"-?\d+\.\d{8} -?\d+\.\d{8}\n", result.stdout)
    lon, lat = map(float, result.stdout.split())
    assert metres(lon, lat, 116.40374, 39.91010) < 1.0


def test_cli_convert_negative_longitudes_and_aliases():
    result = _run(["convert", "--from", "GPS", "--to", "高德", "--", "-0.1276", "51.5072"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "-0.12760000 51.50720000\n"


def test_cli_convert_stdin_batch_writes_one_line_per_input_line():
    rng = np.random.default_rng(1)
    lon = rng.uniform(115.4, 117.6, 5000)
    lat = rng.uniform(39.4, 41.1, 5000)
    text = "".join(f"{a:.7f}\t{b:.7f}\r\n" if i % 3 == 0 else f"  {a:.7f}   {b:.7f}\n"
                   for i, (a, b) in enumerate(zip(lon, lat, strict=True)))
    result = _run(["convert", "--from", "bd09", "--to", "wgs84"], stdin=text)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 5000
    assert all(re.fullmatch(r"\d+\.\d{8} \d+\.\d{8}", line) for line in lines)
    got = np.array([line.split() for line in lines], dtype=float)
    sent = np.array([[float(f"{a:.7f}"), float(f"{b:.7f}")] for a, b in zip(lon, lat,
                                                                            strict=True)])
    want_lon, want_lat = bd09_to_wgs84(sent[:, 0], sent[:, 1])
    np.testing.assert_allclose(got[:, 0], want_lon, atol=5.1e-9, rtol=0)
    np.testing.assert_allclose(got[:, 1], want_lat, atol=5.1e-9, rtol=0)


def test_cli_convert_empty_stdin_prints_nothing():
    result = _run(["convert", "--from", "wgs84", "--to", "gcj02"], stdin="")
    assert result.exit_code == 0 and result.stdout == ""


@pytest.mark.parametrize(
    ("stdin", "line", "bad"),
    [("116.1 39.9\n116.2 39.8\nabc 39.7\n", 3, "abc 39.7"),
     ("116.1 39.9\n116.2\n", 2, "116.2"),
     ("116.1 39.9 5\n116.2 39.8\n", 1, "116.1 39.9 5"),
     ("116.1 39.9\n116.2 39.8 39.7\n116.3\n", 2, "116.2 39.8 39.7"),  # 6 numbers, 3 lines
     ("116.1 39.9\n\n116.2 39.8\n", 2, ""),
     ("116.1，39.9\n", 1, "116.1，39.9")],
    ids=["word", "one-field", "three-fields", "misaligned", "blank", "chinese-comma"],
)
def test_cli_convert_bad_stdin_line_exits_2_naming_the_line(stdin, line, bad):
    result = _run(["convert", "--from", "wgs84", "--to", "gcj02"], stdin=stdin)
    assert result.exit_code == 2
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message
    assert f"line {line}:" in message and repr(bad) in message


@pytest.mark.parametrize(
    "args",
    [["--from", "utm", "--to", "gcj02", "116", "40"],
     ["--from", "wgs84", "--to", "mars", "116", "40"]],
    ids=["bad-from", "bad-to"],
)
def test_cli_convert_unknown_datum_exits_2(args):
    result = _run(["convert", *args])
    assert result.exit_code == 2
    assert "unknown datum" in result.stderr and result.stderr.count("\n") == 1


def test_cli_convert_lon_without_lat_exits_2():
    result = _run(["convert", "--from", "wgs84", "--to", "gcj02", "116.0"])
    assert result.exit_code == 2 and "LAT" in result.stderr


def test_installed_console_script_converts_a_stdin_batch():
    """The real ``nuanxin`` script, stdin to stdout, through a pipe."""
    assert NUANXIN.exists(), f"console script missing at {NUANXIN}; pip install -e ."
    text = "116.3975 39.9087\n116.4010383 39.9145862\n" * 1000
    done = subprocess.run([str(NUANXIN), "convert", "--from", "wgs84", "--to", "gcj02"],
                          input=text, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2000
    lon, lat = map(float, lines[1].split())
    assert metres(lon, lat, 116.407239, 39.916094) < 15.0
    bad = subprocess.run([str(NUANXIN), "convert", "--from", "wgs84", "--to", "gcj02"],
                         input="116 40\nx y\n", capture_output=True, text=True, timeout=60,
                         check=False)
    assert bad.returncode == 2 and "line 2" in bad.stderr and "Traceback" not in bad.stderr


def test_metric_projection_from_many_threads_at_once():
    """The web server's threads (and dask's) project at the same time: each gets its own
    Transformer, made under PROJ_LOCK (pyproj 3.7 aborts when threads make PROJ objects
    at once); every answer equals the one thread's."""
    import threading

    import numpy as np

    from geodata.crs import projection

    zones = [f"EPSG:{code}" for code in (4545, 4546, 4547, 4548, 4549, 4550)]
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(116.0, 117.0, 500), rng.uniform(39.5, 40.5, 500)
    want = {z: projection.to_metric(lon, lat, z) for z in zones}
    failures: list[str] = []
    start = threading.Barrier(8)

    def work(seed: int) -> None:
        start.wait()
        for round_ in range(30):
            z = zones[(seed + round_) % len(zones)]
            x, y = projection.to_metric(lon, lat, z)
            back = projection.from_metric(x, y, z)
            if not (np.array_equal(x, want[z][0]) and np.array_equal(y, want[z][1])
                    and np.allclose(back[0], lon, atol=1e-9)):
                failures.append(f"{z} in thread {seed}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
