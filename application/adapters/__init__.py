"""Adapters the use cases run on: the only application modules that touch PostgreSQL or crypto.

``store`` is the event store (eventsourcing's Application over one events table: run a command,
save, retry on a clash, take turns on hot aggregates), ``recorder`` its one-statement append,
``personal_data`` the mapper that encrypts personal fields (crypto-shredding), ``sessions`` the
refresh-token and security-event tables, ``files_storage`` where files' bytes are kept (a
local folder or S3) and the clamd virus-scan hook. Use cases in ``application/<context>.py`` import these;
the import contracts forbid them psycopg, eventsourcing.postgres and cryptography directly.
"""
