"""`hotline asterisk render`: the snippets an admin adds are the pieces hotline's own sandbox
is configured with (the same AMI classes, the same dialplan), each saying where it goes."""

from __future__ import annotations

from pathlib import Path

from hotline.pbx.dialplan import INCLUDE_LINE, render, render_features
from hotline.sandbox.asterisk_conf import render_all
from hotline.sandbox.commands import sandbox_spec
from hotline.settings import dialplan_parts, load_settings
from tests.conftest import REPO, run_hotline

CONFIG = REPO / "config/hotline.toml"


def classes(conf: str, user: str) -> dict[str, str]:
    section = conf.split(f"[{user}]", 1)[1].split("\n[", 1)[0]
    return {
        key.strip(): value.strip()
        for key, _, value in (line.partition("=") for line in section.splitlines())
        if key.strip() in ("read", "write")
    }


def test_render_writes_each_piece_saying_where_it_goes(tmp_path: Path) -> None:
    done = run_hotline(CONFIG, "asterisk", "render", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "README.txt",
        "extensions.conf",
        "extensions_hotline.conf",
        "features.conf",
        "manager.conf",
        "pjsip.conf",
    ]
    settings = load_settings(CONFIG)
    assert render(dialplan_parts(settings)) in (tmp_path / "extensions_hotline.conf").read_text()
    assert INCLUDE_LINE in (tmp_path / "extensions.conf").read_text()
    assert render_features() in (tmp_path / "features.conf").read_text()
    pjsip = (tmp_path / "pjsip.conf").read_text()
    assert all(f"[{endpoint}]" in pjsip for endpoint in settings.directory.seats)
    for name in names:
        first = (tmp_path / name).read_text().splitlines()[0]
        assert first.startswith(("; ", "hotline on your Asterisk")), name


def test_the_manager_snippet_grants_what_the_sandbox_grants(tmp_path: Path) -> None:
    run_hotline(CONFIG, "asterisk", "render", "--out", str(tmp_path))
    settings = load_settings(CONFIG)
    sandbox = render_all(sandbox_spec(settings))["manager.conf"]
    snippet = (tmp_path / "manager.conf").read_text()
    user = settings.ami.username
    assert (
        classes(snippet, user)
        == classes(sandbox, user)
        == {
            "read": "system,call,user",
            "write": "call,originate,reporting,user",
        }
    )
