"""Files in and out: tables people bring (:mod:`~geodata.io.tables`), station import/export
(:mod:`~geodata.io.stations`), the candidate sheet (:mod:`~geodata.io.candidates`) and
planning reports (:mod:`~geodata.io.reports`)."""
