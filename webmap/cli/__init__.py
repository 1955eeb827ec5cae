"""The ``nuanxin`` command line (console script ``nuanxin = webmap.cli:main``).

One click group (:mod:`webmap.cli.base`); each topic adds its commands from its own module
(``core``, ``candidates``, ``planning``, ``web``), imported here so they register. Heavy
imports (geopandas, Flask) happen inside the commands, so ``nuanxin convert`` starts fast.

User errors (:class:`stations.errors.NuanxinError`) print one line on stderr and exit 2; no
traceback.
"""

from __future__ import annotations

import sys

from webmap.cli import (  # noqa: F401  (commands register)
    candidates,
    core,
    db,
    planning,
    plaques,
    tokens,
    web,
)
from webmap.cli.base import crs_option, emit_json, fail, json_option, main

__all__ = ["main", "emit_json", "fail", "crs_option", "json_option"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
