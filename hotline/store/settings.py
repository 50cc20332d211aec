"""[database]: the records' database and how several controllers share it."""

from __future__ import annotations

from hotline.tomltables import setting, settings_type


@settings_type
class DatabaseSettings:
    # SQLite by default (relative: from the configuration file's folder); PostgreSQL at scale
    url: str = setting(default="sqlite:///../var/hotline.db")


@settings_type
class ScaleSettings:
    """Several controllers on one database ([database]; README "Two controllers on
    PostgreSQL")."""

    # agent claims also in the database (absent: on for PostgreSQL, see `load_settings`)
    shared_claims: bool = setting(default=False)
    # seconds a claim outlives its controller's last renewal
    claim_lease: float = setting(default=30.0, lo=3.0)
    # seconds the scheduler leader's lease outlives its last renewal
    leader_lease: float = setting(default=15.0, lo=1.5)
