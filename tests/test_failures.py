"""Issue 9 item 5: failures are loud and classed right.

A broken or uninitialised store never answers "no stations nearby": the library raises
StoreError, the HTTP API answers 503 with the JSON error shape, the CLI exits 2 with one line.
Unreadable opening hours are logged where they are read.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from geodata.nearest.cache import clear_index_cache, get_index
from geodata.nearest.snapshot import SnapshotCache
from stations.errors import StoreError
from stations.hours import hours_of
from stations.records import Station
from stations.store import Store
from webmap.app import create_app
from webmap.cli import main as cli


def _drop_stations(store: Store) -> None:
    with store.engine.begin() as conn:
        # the audit rows of the stations' creation reference them (issue 10)
        conn.execute(sa.text("DROP TABLE lifecycle_events"))
        conn.execute(sa.text("DROP TABLE stations"))


def test_an_uninitialised_store_is_an_error_not_an_empty_answer(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'never-initialised.db'}")
    clear_index_cache()
    with pytest.raises(StoreError, match="nuanxin init"):
        get_index(store)
    with pytest.raises(StoreError):
        SnapshotCache().get(store)


@pytest.mark.parametrize("path", ["/api/nearest?lon=116.34&lat=39.88", "/api/stations",
                                  "/api/stations/1"])
def test_a_broken_store_answers_503_in_the_json_shape(store, path):
    store.add_stations([Station(name="甲", lon=116.34, lat=39.88, opening_hours="24/7")])
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    client = app.test_client()
    assert client.get("/api/nearest?lon=116.34&lat=39.88").status_code == 200
    _drop_stations(store)
    with store.transaction() as conn:  # as a write behind the store's back would
        store.set_meta("stations_version", "999", conn=conn)
    response = client.get(path)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert set(response.get_json()) == {"error", "detail"}
    assert "Traceback" not in response.get_data(as_text=True)


def test_cli_nearest_on_an_uninitialised_store_exits_2(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    Store(url).engine.connect().close()  # the file exists, no tables
    clear_index_cache()
    result = CliRunner().invoke(cli, ["nearest", "--lon", "116.34", "--lat", "39.88"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_unreadable_hours_are_logged_where_they_are_read(caplog):
    with caplog.at_level(logging.WARNING, logger="stations.hours"):
        hours = hours_of("周八 25:00-26:00 unreadable")
    assert hours.unknown
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
