"""The union dashboard (``/union/``), one module per screen family.

| module | screens |
|---|---|
| :mod:`~webmap.union.common` | the blueprint, login required, the current user, file sends |
| :mod:`~webmap.union.accounts` | log in, log out |
| :mod:`~webmap.union.station_views` | dashboard, station table, editing, status |
| :mod:`~webmap.union.reports` | workers' reports |
| :mod:`~webmap.union.pipeline` | the candidate pipeline |
| :mod:`~webmap.union.coverage` | coverage and siting map, its Excel/GeoJSON |
| :mod:`~webmap.union.downloads` | station files, the candidate sheet template |
"""

from webmap.union import (  # noqa: F401  (each registers its views on the blueprint)
    accounts,
    coverage,
    downloads,
    pipeline,
    reports,
    station_views,
)
from webmap.union.common import bp, current_user, send_temp

__all__ = ["bp", "current_user", "send_temp"]
