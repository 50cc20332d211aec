from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from recordings.naming import file_name, mixmonitor_application, parse_file_name
from recordings.wav import NotAWav, repair_header, wav_info


def make_wav(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * int(8000 * seconds))


def test_finished_wav_reports_its_duration(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    make_wav(path, 2.5)
    info = wav_info(path)
    assert (info.seconds, info.sample_rate, info.header_complete) == (2.5, 8000, True)


def test_wav_cut_before_its_header_was_finalised_is_measured_from_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    make_wav(path, 3.0)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 0)  # RIFF size never written
    struct.pack_into("<I", data, 40, 0)  # data size never written
    path.write_bytes(bytes(data))
    info = wav_info(path)
    assert info.header_complete is False
    assert info.seconds == 3.0  # not the 0 s a naive reader reports


def test_not_a_wav_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"garbage")
    with pytest.raises(NotAWav):
        wav_info(path)


@pytest.mark.parametrize("bad", ["../etc/passwd", "1.2/../../x", "", ".hidden", "a b", "x;rm -rf"])
def test_recording_names_come_from_linkedids_only(bad: str) -> None:
    with pytest.raises(ValueError):
        file_name(bad)
    assert file_name("1795817822.0") == "1795817822.0.wav"


def test_an_unfinalised_header_is_repaired_from_the_bytes_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    make_wav(path, 2.0)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 4, 0)
    struct.pack_into("<I", data, 40, 0)
    path.write_bytes(bytes(data) + b"\x01")  # and a half sample written when it was cut
    info = repair_header(path)
    assert (info.header_complete, info.seconds) == (True, 2.0)
    with wave.open(str(path), "rb") as w:  # a standard reader agrees now
        assert w.getnframes() == 16000


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("1795817822.0.wav", ("1795817822.0", None)),
        ("1795817822.0-caller.wav", ("1795817822.0", "caller")),
        ("1795817822.0-agent.wav", ("1795817822.0", "agent")),
        ("msg-1795817822.0-1.wav", None),
        ("../1.wav", None),
        (".1.wav", None),
        ("1.mp3", None),
    ],
)
def test_only_hotline_recording_names_are_recognised(
    name: str, parsed: tuple[str, str | None] | None
) -> None:
    assert parse_file_name(name) == parsed


def test_the_dialplan_expression_takes_only_the_linkedid() -> None:
    app = mixmonitor_application("/rec/")
    assert app == (
        "MixMonitor(/rec/${CHANNEL(linkedid)}.wav,r(/rec/${CHANNEL(linkedid)}-caller.wav)"
        "t(/rec/${CHANNEL(linkedid)}-agent.wav))"
    )
    assert "-caller.wav)t(/rec/${CHANNEL(linkedid)}-agent" not in mixmonitor_application(
        "/rec", caller_side=False
    )
    # restarted for the rest of a call (a blind transfer): the a option, the same three files
    assert mixmonitor_application("/rec/", append=True) == app.replace(".wav,r(", ".wav,ar(")
