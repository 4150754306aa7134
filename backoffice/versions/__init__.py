"""Versions of reference data and stock, so processes can cache and still see a change at once.

Reference data (API keys, channels with their tax settings, shipping methods, the catalog)
is read on nearly every request and changes rarely; stock changes on every sale. Each
process keeps what it read in memory (`VersionedCache`), and the store's product pages
keep their answers in the shared cache, each stamped with the versions of the kinds it
depends on. A request reads every kind's version once (`data_versions`, one short
statement) and uses a cached value only if its stamp is still the version now.

How a change is seen at once, by every process: database triggers on the watched tables
(`registry`, `triggers`) add to a counter in the writer's own transaction, whatever wrote
it (a service, the Django admin, a shell, raw SQL, another process). A kind's version is
the sum of its counters; each commit adds to it the moment the change is visible, and a
rollback adds nothing. The counters are one row per kind and database session
(`pg_backend_pid()`): two transactions never write the same row at once, so nothing
queues behind a counter (one row per kind would serialize every checkout on it, stock
lock or not). `data_versions_compact` folds the rows of ended sessions into one.
"""
