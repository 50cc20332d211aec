"""Reading a recording's WAV header honestly.

A WAV still being written, or cut by a crash, carries zero sizes in its header; naive readers
(pydub included) then report 0 s without complaint. `wav_duration` computes the duration from
the bytes actually on disk and says whether the header was finalised.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path


class NotAWav(ValueError):
    pass


@dataclass(frozen=True)
class WavInfo:
    seconds: float
    sample_rate: int
    channels: int
    bits: int
    header_complete: bool  # False: the RIFF/data sizes were never written


def wav_info(path: Path) -> WavInfo:
    data = path.read_bytes()
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise NotAWav(f"{path}: not a RIFF/WAVE file")
    riff_size = struct.unpack_from("<I", data, 4)[0]
    pos, fmt, data_start, data_size = 12, None, None, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"fmt ":
            fmt = struct.unpack_from("<HHIIHH", data, pos + 8)
        elif chunk == b"data":
            data_start, data_size = pos + 8, size
            break
        pos += 8 + size + (size & 1)
    if fmt is None or data_start is None:
        raise NotAWav(f"{path}: no fmt or data chunk")
    _, channels, rate, _, block_align, bits = fmt
    on_disk = len(data) - data_start
    complete = riff_size != 0 and data_size != 0 and data_size <= on_disk
    frames = (data_size if complete else on_disk) // max(block_align, 1)
    return WavInfo(frames / rate if rate else 0.0, rate, channels, bits, complete)
