"""The controller process's own settings: [routing] (the routing desk), [metrics], [log]."""

from __future__ import annotations

from pathlib import Path

from hotline.matters.ownership import OwnershipRule
from hotline.tomltables import bind_host, bind_port, setting, settings_type
from routing.queueing import QueuePolicy
from routing.router import Overflow


@settings_type
class RoutingSettings:
    """[routing]: its keys are those of the rules it carries, and the desk's own."""

    # first-inquiry owner: which agent (rule) and for how long (days)
    ownership: OwnershipRule = setting(factory=OwnershipRule, flat=True)
    # when other districts' (and the city's) agents are offered
    overflow: Overflow = setting(factory=Overflow, flat=True)
    # consecutive rings an agent lets run out before a no-answer pause (0: never)
    auto_pause_after: int = setting(default=2, hi=100)
    wrap_up_seconds: int = setting(
        default=10, hi=600
    )  # an agent is not rung this long after a call
    # false: agents log in with *11 before they are rung
    agents_start_logged_in: bool = setting(default=True)
    queue: QueuePolicy = setting(factory=QueuePolicy, flat=True)


@settings_type
class MetricsSettings:
    """[metrics]: where Prometheus scrapes and a load balancer checks health
    (hotline/controller/metrics.py); off by default."""

    enabled: bool = setting(default=False)
    host: str = bind_host(default="127.0.0.1")
    port: int = bind_port(default=9233)


@settings_type
class LogSettings:
    file: Path | None = setting(default=None)  # None: no log file
