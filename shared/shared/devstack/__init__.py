"""Running the whole system on one machine: embedded PostgreSQL, per-service databases, processes, mail sink.

Used by ``make run`` (``python -m shared.devstack run``) and by the end-to-end tests, so both start the
system the same way.
"""
