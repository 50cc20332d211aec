"""[web]: the supervisors' dashboard, served by the controller; each default written once."""

from __future__ import annotations

from pathlib import Path

from hotline.tomltables import bind_host, bind_port, setting, settings_type

SHIPPED_SCORE_SHEET = Path(__file__).resolve().parent / "score_sheet.toml"
ROLES = ("supervisor", "qa", "admin")


@settings_type
class WebSettings:
    enabled: bool = setting(default=False)
    host: str = bind_host(default="127.0.0.1")
    port: int = bind_port(default=8333)
    session_minutes: int = setting(default=480, lo=1, hi=7 * 24 * 60)  # a session expires unused
    # and this long after the log-in, used or not
    session_max_hours: float = setting(default=12.0, lo=0.01)
    # a recording (audio or its page) is shown only with a why
    recording_purpose_required: bool = setting(default=True)
    # true behind HTTPS: cookies only travel encrypted
    secure_cookies: bool = setting(default=False)
    score_sheet: Path = setting(default=SHIPPED_SCORE_SHEET)  # the quantified score sheet (TOML)
    # a caller waiting longer: an alert
    wait_alert_seconds: int = setting(default=60, lo=1, hi=3600)
    long_call_seconds: int = setting(default=900, lo=1, hi=86400)  # a call talking longer: an alert
    # abandonment over the last hour above this raises an alert
    abandon_alert_percent: float = setting(default=10.0)
    # GB/T 33358 connection rate target (rolling 24 h)
    connection_target_percent: float = setting(default=95.0)
    # roles that may listen / whisper / barge
    monitor_roles: tuple[str, ...] = setting(
        default=("supervisor", "admin"), choices=ROLES, expected="roles among supervisor, qa, admin"
    )
    # seconds: changes are pushed to browsers at most this often
    push_interval: float = setting(default=0.1, lo=0.01)
