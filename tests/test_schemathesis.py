"""The API answers what its OpenAPI document says (issue 15, item 4): Schemathesis, live server.

The app is served by waitress on a free loopback port over a fresh SQLite store (Beijing
stations, demand points, an admin account with an API token, so the write routes are
exercised past authentication). Schemathesis reads ``/api/openapi.json`` from that server and
generates requests for every operation, both *positive* (what the document allows) and
*negative* (what it forbids), each sent over HTTP and checked for:

* ``not_a_server_error`` — no 5xx;
* ``status_code_conformance`` — every status is documented for its operation;
* ``content_type_conformance`` — the ``Content-Type`` is the documented one;
* ``response_schema_conformance`` — the body validates against the documented schema;
* ``response_headers_conformance`` — documented headers are present and valid;
* ``negative_data_rejection`` — a request the document forbids is refused (4xx), never
  accepted: the server enforces every ``pattern``, ``format``, bound, enum and length the
  document states, because both come from the same :class:`webmap.params.Param` rows;
* ``positive_data_acceptance`` — a request the document allows is never refused (no 400 or
  422): cross-field rules are stated in the document (:func:`webmap.params.body_rule`), the
  rest have a defined meaning (``tests/test_api_contract.py`` replays each refusal found).

The document is OpenAPI 3.1 (JSON Schema 2020-12: ``prefixItems`` bounds a GeoJSON position
item by item, which 3.0 cannot); the opening-hours ``format`` is ours, so Schemathesis draws its
values from :data:`HOURS_SAMPLES`.

:func:`test_case_count` (last in the module) proves the run is big enough: at least 1,000
generated requests, over every ``/api`` operation of the document.
"""

from __future__ import annotations

import collections
import json
import urllib.request

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from stations import accounts
from stations import settings as nx_settings
from stations.demand_points import write_demand
from stations.store import Store
from webmap.api import spec
from webmap.app import create_app
from webmap.auth import issue_token
from webmap.params import HOURS_FORMAT
from webmap.testing import live_server, synthetic_stations

#: Generated requests per operation and generation mode (positive and negative): with the
#: parameterless operations answering one case each this is well over 1,000 in all, and takes
#: a minute or two on 2 cores.
MAX_EXAMPLES = 75
MIN_CASES = 1000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection,
          positive_data_acceptance]

#: (operation label, generation mode) → requests sent, filled by :func:`test_api`.
SENT: collections.Counter = collections.Counter()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A live waitress server over a fresh store with stations, demand and an admin token."""
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{folder / 'nuanxin.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("NUANXIN_DATABASE_URL", url)
    mp.setenv("NUANXIN_INSTANCE", str(folder / "instance"))
    store = Store(url)
    store.init()
    store.add_stations(synthetic_stations(60, bbox=(116.30, 39.85, 116.42, 39.95)))
    rng = np.random.default_rng(15)
    write_demand(store, [{"lon": float(x), "lat": float(y), "weight": float(w)}
                         for x, y, w in zip(rng.uniform(116.30, 116.42, 200),
                                            rng.uniform(39.85, 39.95, 200),
                                            rng.integers(1, 30, 200), strict=True)])
    accounts.add_account(store, username="city", password_hash="-", role="admin",
                         district="", street="", created_at=nx_settings.wall_now())
    token = issue_token(store, "city")
    app = create_app({"TILES": "none", "DATABASE_URL": url})
    with live_server(app, threads=4) as server:
        yield server, token
    app.extensions["nuanxin.store"].dispose()
    store.dispose()
    mp.undo()


def _document() -> dict:
    """The OpenAPI document as the app builds it (every route registered by importing the app)."""
    return json.loads(json.dumps(spec.openapi(server_url="/")))


#: Opening hours the import reads (the document's ``format: opening-hours``, which no generic
#: generator knows): Schemathesis draws them from here; the server checks every one it gets.
HOURS_SAMPLES = ("", "24/7", "Mo-Fr 08:00-18:00", "Mo-Su 06:00-22:00", "每天 8:00-20:00",
                 "周一至周五 9:00-17:00", "Mo-Sa 07:30-19:30; Su off")
schemathesis.openapi.format(HOURS_FORMAT, st.sampled_from(HOURS_SAMPLES))
SCHEMA = schemathesis.openapi.from_dict(_document())
SCHEMA.config.generation.update(modes=["positive", "negative"], max_examples=MAX_EXAMPLES,
                                database="none")


def test_served_document_is_the_fuzzed_one(served):
    """The live server's /api/openapi.json is the document the cases below come from."""
    server, _token = served
    with urllib.request.urlopen(f"{server.url}/api/openapi.json", timeout=30) as answer:
        assert answer.headers.get_content_type() == "application/json"
        assert json.load(answer) == _document()


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api(case, served):
    """Every generated request: no 5xx, documented status, type and body; forbidden → 4xx."""
    server, token = served
    SENT[(case.operation.label, case.meta.generation.mode.value if case.meta else "?")] += 1
    # /api/coverage may compute for a while (one computation at a time, 503 after 15 s of
    # waiting): a slow answer on a loaded machine is not a failure, a wrong one is
    case.call_and_validate(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                           checks=CHECKS, timeout=120)


def test_case_count():
    """The run above sent at least 1,000 requests and reached every operation."""
    labels = {op.ok().label for op in SCHEMA.get_all_operations()}
    reached = {label for label, _mode in SENT}
    assert labels <= reached, f"never exercised: {sorted(labels - reached)}"
    total = sum(SENT.values())
    print(f"\nschemathesis: {total} requests over {len(labels)} operations "
          f"({sum(n for (_, m), n in SENT.items() if m == 'negative')} negative)")
    assert total >= MIN_CASES, dict(SENT)
