"""The flow engine's settings: [prompts], [flows] and [lookups.*], each default written once."""

from __future__ import annotations

from pathlib import Path

from hotline.tomltables import setting, settings_type


@settings_type
class PromptSettings:
    build_directory: Path = setting()  # where `hotline prompts build` writes <language>/<id>.wav
    # the same files as Asterisk sees them (the sandbox copies them)
    asterisk_directory: str = setting()
    # prompt id -> text per language (and an optional recorded file)
    catalogue: Path = setting(default=Path("prompts.toml"))
    # the first is the callers' default
    languages: tuple[str, ...] = setting(default=("zh-CN", "en"))


@settings_type
class FlowSettings:
    directory: Path = setting()
    entry: str = setting(default="12333")  # the flow the hotline's number enters
    # GB/T 33358: callers go straight to routing, self-service kept
    straight_to_agent: bool = setting(default=False)
    # seconds each agent rings before the next step (README "Routing": the 15-s target)
    ring_timeout: int = setting(default=8, lo=5, hi=120)


@settings_type
class LookupSettings:
    """[lookups.<name>]: a data source for the IVR's lookup nodes."""

    name: str = setting(toml=False)  # the table's name
    kind: str = setting(choices=("sqlite-contributions",))  # the shipped example
    database: Path = setting()
    seed: Path | None = setting(default=None)  # a CSV loaded into the database on start
    # seconds of artificial latency (demo and tests of the slow-lookup prompt)
    delay: float = setting(default=0.0)
