"""The wheel a site installs: built from the source tree, installed into a fresh virtual
environment outside the repository (dependencies from the package index, as a site gets them),
then `hotline --version`, `hotline init DIR` and `hotline dialplan check` on what init wrote.

Slow (a wheel build and an install, one to three minutes) and needs the package index: it is
neither a unit nor a stack test, and runs with the whole suite (scripts/test)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

# what a checkout holds besides the source: never part of what is built
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "var", "build", "dist", "*.egg-info", "__pycache__", ".*_cache"
)


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False
    )


def newest_revision() -> str:
    """The revision no other revision names as its parent, read from the files."""
    revisions, parents = set(), set()
    for file in (REPO / "hotline/store/migrations/versions").glob("*.py"):
        text = file.read_text()
        revisions |= set(re.findall(r'^revision = "(\w+)"', text, re.M))
        parents |= set(re.findall(r'^down_revision = "(\w+)"', text, re.M))
    (newest,) = revisions - parents
    return newest


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def count_nodes(flow: Path) -> int:
    return len(yaml.safe_load(flow.read_text(encoding="utf-8"))["nodes"])


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the wheel, the fresh venv it is installed in), both far from the repository."""
    top = tmp_path_factory.mktemp("release")
    source = top / "source"  # a copy: the build writes build/ and *.egg-info beside setup.py
    shutil.copytree(REPO, source, symlinks=True, ignore=NOT_SOURCE)
    dist = top / "dist"
    ok(run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, source, cwd=top))
    (wheel,) = dist.glob("hotline-*.whl")
    env = top / "venv"
    venv.EnvBuilder(with_pip=True, symlinks=True).create(env)  # no access to the dev .venv
    ok(run(env / "bin/python", "-m", "pip", "install", "-q", wheel, cwd=top))
    shutil.rmtree(source)  # gone before anything runs: nothing can read the repository's copy
    return wheel, env


def test_the_wheel_carries_the_data_a_site_needs(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder in ("config", "dialplans"):
        for file in files_under(REPO / folder):
            assert f"hotline/site/{folder}/{file}" in names  # prompts.toml, the flows among them
    for static in (REPO / "hotline/supervisor/static").iterdir():
        assert f"hotline/supervisor/static/{static.name}" in names
    for scenario in (REPO / "hotline/sandbox/scenarios").iterdir():
        assert f"hotline/sandbox/scenarios/{scenario.name}" in names
    for revision in (REPO / "hotline/store/migrations/versions").glob("*.py"):
        assert f"hotline/store/migrations/versions/{revision.name}" in names
    assert "hotline/store/migrations/script.py.mako" in names
    assert "hotline/supervisor/score_sheet.toml" in names
    assert not [n for n in names if n.startswith("tests/")]


def test_the_installed_command_runs_init_and_checks_the_site(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, env = installed
    hotline = env / "bin/hotline"
    where = ok(
        run(env / "bin/python", "-c", "import hotline, ivr; print(hotline.__file__)", cwd=tmp_path)
    )
    assert where.startswith(str(env))  # the wheel's copy, not the repository's
    setup_py = (REPO / "setup.py").read_text()
    (declared,) = re.findall(r'version="([^"]+)"', setup_py)
    assert ok(run(hotline, "--version", cwd=tmp_path)) == (
        f"hotline {declared} (database schema revision {newest_revision()})\n"
    )

    ok(run(hotline, "init", "site", cwd=tmp_path))
    for folder in ("config", "dialplans"):
        assert files_under(tmp_path / "site" / folder) == files_under(REPO / folder)

    out = ok(run(hotline, "-c", "site/config/hotline.toml", "dialplan", "check", cwd=tmp_path))
    flows = tmp_path / "site/dialplans/flows"  # [flows] directory, from config/
    assert out == (
        f"ok  {flows / '12333.yaml'}: flow '12333', "
        f"{count_nodes(REPO / 'dialplans/flows/12333.yaml')} nodes\n"
        f"ok  {flows / 'survey.yaml'}: flow 'survey', "
        f"{count_nodes(REPO / 'dialplans/flows/survey.yaml')} nodes\n"
    )

    again = run(hotline, "init", "site", cwd=tmp_path)
    assert (again.returncode, again.stdout) == (2, "")
    assert again.stderr == (
        "hotline: error: init: site/config already exists: init never overwrites a site's "
        "files (move it aside or choose another folder)\n"
    )
