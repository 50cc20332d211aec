from __future__ import annotations

import struct
import wave
from pathlib import Path

import pytest

from recordings.naming import file_name
from recordings.wav import NotAWav, wav_info


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
