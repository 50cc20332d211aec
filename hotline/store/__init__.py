"""hotline's records: SQLAlchemy models and the engine (SQLite by default, PostgreSQL at scale)."""
