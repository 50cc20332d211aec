"""[metrics]: where Prometheus scrapes and a load balancer checks health
(hotline/metrics/server.py); off by default."""

from __future__ import annotations

from hotline.tomltables import bind_host, bind_port, setting, settings_type


@settings_type
class MetricsSettings:
    enabled: bool = setting(default=False)
    host: str = bind_host(default="127.0.0.1")
    port: int = bind_port(default=9233)
