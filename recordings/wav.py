"""Reading a recording's WAV header honestly, and repairing one that was never finalised.

A WAV still being written, or cut by a crash, carries zero sizes in its header; naive readers
(pydub included) then report 0 s without complaint. `wav_info` computes the duration from
the bytes actually on disk and says whether the header was finalised; `repair_header`
rewrites the RIFF and data sizes from those bytes. Only the header is read: a one-hour file
is never loaded whole.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

_HEADER_BYTES = 4096


class NotAWav(ValueError):
    pass


@dataclass(frozen=True)
class WavInfo:
    seconds: float
    sample_rate: int
    channels: int
    bits: int
    header_complete: bool  # False: the RIFF/data sizes were never written
    data_start: int = 44  # where the samples begin
    data_bytes: int = 0  # sample bytes actually on disk (whole frames)


def wav_info(path: Path) -> WavInfo:
    with path.open("rb") as fh:
        data = fh.read(_HEADER_BYTES)
        file_size = os.fstat(fh.fileno()).st_size
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise NotAWav(f"{path}: not a RIFF/WAVE file")
    riff_size = struct.unpack_from("<I", data, 4)[0]
    pos, fmt, data_start, data_size = 12, None, None, 0
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if chunk == b"fmt " and pos + 24 <= len(data):
            fmt = struct.unpack_from("<HHIIHH", data, pos + 8)
        elif chunk == b"data":
            data_start, data_size = pos + 8, size
            break
        pos += 8 + size + (size & 1)
    if fmt is None or data_start is None:
        raise NotAWav(f"{path}: no fmt or data chunk")
    _, channels, rate, _, block_align, bits = fmt
    on_disk = file_size - data_start
    complete = riff_size != 0 and data_size != 0 and data_size <= on_disk
    usable = data_size if complete else on_disk
    frames = usable // max(block_align, 1)
    return WavInfo(
        frames / rate if rate else 0.0,
        rate,
        channels,
        bits,
        complete,
        data_start,
        frames * max(block_align, 1),
    )


def repair_header(path: Path) -> WavInfo:
    """Rewrite the RIFF and data sizes of an unfinalised WAV from the bytes on disk, in place.

    Raises NotAWav when there is no header to repair (the caller flags the file)."""
    info = wav_info(path)
    if info.header_complete:
        return info
    with path.open("r+b") as fh:
        fh.seek(4)
        fh.write(struct.pack("<I", info.data_start + info.data_bytes - 8))
        fh.seek(info.data_start - 4)
        fh.write(struct.pack("<I", info.data_bytes))
        fh.flush()
        os.fsync(fh.fileno())
    repaired = wav_info(path)
    if not repaired.header_complete and repaired.data_bytes:
        raise NotAWav(f"{path}: header could not be repaired")
    return repaired
