"""The only database-vendor code: how a chunk of contacts reaches its table.

PostgreSQL streams rows with COPY; SQLite uses one ``executemany``. Both write in
the caller's transaction and raise IntegrityError when a unique index objects.
Rows are tuples in ``CONTACT_COLUMNS`` order, JSON already as text."""

from collections.abc import Sequence

from django.db import connection

from contactload.ingest.writers import postgresql, sqlite
from contactload.models import Contact

CONTACT_COLUMNS = (
    "campaign_id",
    "phonebook_id",
    "numeric",
    "dedupe_key",
    "user_id",
    "first_name",
    "last_name",
    "email",
    "priority",
    "alt_numeric",
    "status",
    "uniqueid",
    "customer_raw_data",
    "created_at",
    "updated_at",
)

VENDORS = {"postgresql": postgresql, "sqlite": sqlite}


def insert_contacts(rows: Sequence[tuple]) -> None:
    if rows:
        VENDORS[connection.vendor].insert(connection, Contact._meta.db_table, CONTACT_COLUMNS, rows)
