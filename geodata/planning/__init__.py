"""Planning: demand (:mod:`~geodata.planning.demand`), who reaches whom
(:mod:`~geodata.planning.reach`), coverage (:mod:`~geodata.planning.coverage`), siting
(:mod:`~geodata.planning.siting`) and the dask path (:mod:`~geodata.planning.cluster`)."""
