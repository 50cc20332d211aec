"""`hotline init DIR`: the shipped config/ and dialplans/ written for a site, never over one.

(tests/release/test_wheel.py does the same from a wheel installed outside the repository.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_init_writes_the_repositorys_config_and_dialplans_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"  # not there yet: made
    assert main(["init", str(site)]) == 0
    for name in ("config", "dialplans"):
        assert files_under(site / name) == files_under(REPO / name)
        assert not (site / name).is_symlink()  # a copy to edit, not a link into the package
    out = capsys.readouterr().out
    assert f"wrote {site / 'config'} ({len(files_under(REPO / 'config'))} files)" in out
    assert f"wrote {site / 'dialplans'} ({len(files_under(REPO / 'dialplans'))} files)" in out
    assert sorted(p.name for p in site.iterdir()) == ["config", "dialplans"]  # no leftovers


def test_the_written_site_passes_dialplan_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["-c", str(tmp_path / "config/hotline.toml"), "dialplan", "check"]) == 0
    out = capsys.readouterr().out
    assert f"ok  {tmp_path / 'dialplans/flows/12333.yaml'}: flow '12333'" in out
    assert f"ok  {tmp_path / 'dialplans/flows/survey.yaml'}: flow 'survey'" in out


@pytest.mark.parametrize("existing", ["config", "dialplans"])
def test_init_refuses_a_site_that_has_either_folder_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], existing: str
) -> None:
    (tmp_path / existing).mkdir()
    (tmp_path / existing / "mine.toml").write_text("# the site's own edits\n")
    assert main(["init", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"hotline: error: init: {tmp_path / existing} already exists: init never overwrites "
        "a site's files (move it aside or choose another folder)\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing]
    assert files_under(tmp_path / existing) == {"mine.toml": b"# the site's own edits\n"}


def test_init_into_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "site").write_text("")
    assert main(["init", str(tmp_path / "site")]) == 2
    assert capsys.readouterr().err == (
        f"hotline: error: init: {tmp_path / 'site'} is a file, not a folder: "
        "give a folder to write into\n"
    )


def test_an_unwritable_site_is_one_line_and_leaves_nothing_half_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rename = Path.rename

    def full_disk_on_dialplans(self: Path, target: Path) -> Path:  # config/ lands, then a failure
        if Path(target).name == "dialplans":
            raise OSError(28, "No space left on device", str(target))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", full_disk_on_dialplans)
    assert main(["init", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"hotline: error: init: cannot write {tmp_path / 'dialplans'}: No space left on device\n"
    )
    assert list(tmp_path.iterdir()) == []  # config/ taken back: a site has both or neither
