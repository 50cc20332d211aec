"""Alembic's revisions of hotline's schema (run through store.schema, not alembic's own CLI)."""
