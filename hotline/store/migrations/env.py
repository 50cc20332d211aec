"""Alembic's environment: always on the connection hotline.store.schema hands over (already locked
against a second controller), never on a URL of its own."""

from __future__ import annotations

from alembic import context

from hotline.store import leases  # noqa: F401  (its tables belong to the same schema)
from hotline.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters a table by copying it; batch mode does that
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
