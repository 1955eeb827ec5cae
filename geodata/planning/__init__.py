"""Planning: demand (:mod:`~geodata.planning.demand`), who reaches whom
(:mod:`~geodata.planning.reach`), coverage (:mod:`~geodata.planning.coverage`), the siting
models on a coverage matrix (:mod:`~geodata.planning.mclp`) and their store adapter
(:mod:`~geodata.planning.siting`), and the dask path (:mod:`~geodata.planning.cluster`)."""
