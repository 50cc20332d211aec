"""Alembic's revisions of hotline's schema (run through hotline.store.schema,
not alembic's own CLI)."""
