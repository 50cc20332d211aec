"""Processing a catalogued recording: archive copies, their check, a playback copy, QA measures.

Everything streams through ffmpeg; no file is loaded whole (a one-hour call is 58 MB of
samples, and pydub copies it at each step). pydub's audio primitives (its `audioop`) measure
the frame levels of the PCM that ffmpeg streams out, one chunk at a time.

Steps for one call (`process`):
1. QA measures from the per-party files (talk time, ratio, overlap, long silences).
2. Archive: the mixed file and each party's file to MP3 or Ogg/Opus in one ffmpeg run, which
   also writes the playback copy (step 4).
3. Verify: each archive copy's duration (ffprobe) against its source WAV's, within
   `tolerance`; a copy that does not match is deleted and the source kept.
4. Playback: a loudness-normalised copy of the mixed file (its active speech brought to
   -20 dBFS, limited), for listening; one streaming pass, no resampling (ffmpeg's loudnorm
   upsamples to 192 kHz and cost ten times the archive itself, measured).
5. Only when every copy verified, and `remove_source` is set, the source WAVs may go: they are
   listed in `removable`, and the catalogue removes them once its row names the archive (a
   crash in between must not leave a row pointing at deleted WAVs: seen in a soak).

Runs in worker threads (the work is in ffmpeg processes); `process_many` bounds how many at
once. Nothing here touches the database: the catalogue stores the `Processed` result.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import warnings
from array import array
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from hotline.tomltables import setting, settings_type
from recordings import naming
from recordings.qa import FRAME_MS, QaMeasures, measure, playback_gain
from recordings.wav import NotAWav, wav_info

ARCHIVE_CODECS: dict[str, tuple[str, list[str]]] = {
    # format: (extension, ffmpeg codec options) for 8 kHz mono speech
    "mp3": ("mp3", ["-c:a", "libmp3lame", "-b:a", "24k"]),
    "opus": ("opus", ["-c:a", "libopus", "-b:a", "16k", "-application", "voip"]),
}
CHUNK_SECONDS = 10


class ProcessingError(Exception):
    """ffmpeg or ffprobe failed, or a copy did not verify (one line)."""


@settings_type
class ArchiveSettings:
    """[recordings] archive_format, remove_source, archive_tolerance, playback_copy, workers."""

    format: str = setting(default="mp3", key="archive_format", choices=tuple(ARCHIVE_CODECS))
    # True: remove the WAVs once every archive copy verified
    remove_source: bool = setting(default=False)
    # seconds an archive copy may differ from its source
    tolerance: float = setting(default=0.3, key="archive_tolerance", lo=0.01)
    # a loudness-normalised copy to listen to
    playback: bool = setting(default=True, key="playback_copy")
    workers: int = setting(default=2, lo=1, hi=64)  # recordings processed at once
    measure: bool = setting(default=True, toml=False)  # QA measures from the per-party files


@dataclass
class Processed:
    linkedid: str
    archive_path: str | None = None
    archive_format: str | None = None
    archive_seconds: float | None = None
    archive_sha256: str | None = None
    playback_path: str | None = None
    qa: QaMeasures | None = None
    removable: list[str] = field(default_factory=list)  # verified sources: the catalogue removes
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and self.archive_path is not None


NICENESS = 10  # ffmpeg and ffprobe yield the CPU to live calls (Asterisk, the controller)


def _niced(args: list[str]) -> list[str]:
    """Recording work runs below the calls' priority: on a busy machine it waits, the calls
    (and the recordings Asterisk is writing) do not."""
    return ["nice", "-n", str(NICENESS), *args] if shutil.which("nice") else args


def _run(args: list[str], what: str) -> str:
    try:
        done = subprocess.run(
            _niced(args), capture_output=True, text=True, timeout=3600, check=False
        )
    except FileNotFoundError:
        raise ProcessingError(f"{args[0]} not found: install ffmpeg") from None
    except subprocess.TimeoutExpired:
        raise ProcessingError(f"{what}: {args[0]} took more than an hour") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        raise ProcessingError(f"{what}: {args[0]} failed: {last}")
    return done.stdout


PROBE_TOGETHER_SECONDS = 600.0  # longer copies are probed one at a time (memory)


def probe_many(paths: list[Path], together: bool = True) -> list[float]:
    """The durations ffprobe reads from several files. `together`: the ffprobe processes
    start at once (for short files each is mostly start-up time); for long ones they run one
    after the other, since each ffprobe of a one-hour MP3 holds 15-30 MB (measured)."""
    if not together:
        return [s for p in paths for s in probe_many([p])]
    args = ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json"]
    try:
        procs = [
            subprocess.Popen(
                _niced([*args, str(p)]), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for p in paths
        ]
    except FileNotFoundError:
        raise ProcessingError("ffprobe not found: install ffmpeg") from None
    seconds = []
    for path, proc in zip(paths, procs, strict=True):
        out, err = proc.communicate(timeout=600)
        try:
            if proc.returncode != 0:
                raise ValueError(err.decode(errors="replace").strip()[-200:])
            seconds.append(float(json.loads(out)["format"]["duration"]))
        except (KeyError, ValueError, TypeError) as exc:
            raise ProcessingError(f"probe {path.name}: no duration ({exc})") from None
    return seconds


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _audioop() -> Any:
    with warnings.catch_warnings():  # pydub imports the stdlib audioop, which warns on 3.11+
        warnings.filterwarnings("ignore", message="'audioop' is deprecated")
        from pydub.utils import audioop
    return audioop


def frame_levels(*paths: Path, frame_ms: int = FRAME_MS) -> list[array[int]]:
    """RMS per frame of each recording (the shorter ones padded with silence to the longest).

    A MixMonitor WAV (8 kHz mono 16-bit) is read in chunks straight from the file, up to the
    samples its header (or, unfinalised, the bytes on disk) holds; anything else is streamed
    out of ffmpeg as such PCM. One chunk in memory at a time; levels kept as 32-bit ints."""
    levels = [_levels_of(path, frame_ms) for path in paths]
    longest = max((len(one) for one in levels), default=0)
    for one in levels:
        one.extend([0] * (longest - len(one)))
    return levels


def _levels_of(path: Path, frame_ms: int) -> array[int]:
    audioop = _audioop()
    frame_bytes = 8000 * frame_ms // 1000 * 2
    chunk = frame_bytes * (CHUNK_SECONDS * 1000 // frame_ms)
    levels: array[int] = array("i")

    def add(data: bytes) -> None:
        view = memoryview(data)
        levels.extend(
            audioop.rms(view[i : i + frame_bytes], 2)
            for i in range(0, len(data) - frame_bytes + 1, frame_bytes)
        )

    try:
        info = wav_info(path)
        plain = (info.sample_rate, info.channels, info.bits) == (8000, 1, 16)
    except (NotAWav, OSError):
        plain = False
    if plain:
        with path.open("rb") as fh:
            fh.seek(info.data_start)
            left = info.data_bytes
            while left > 0 and (data := fh.read(min(chunk, left))):
                left -= len(data)
                add(data)
        return levels
    args = ["ffmpeg", "-v", "error", "-nostdin", "-i", str(path)]
    args += ["-f", "s16le", "-ac", "1", "-ar", "8000", "-"]
    with subprocess.Popen(_niced(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        rest = b""
        while data := proc.stdout.read(chunk):
            data = rest + data
            whole = len(data) - len(data) % frame_bytes
            add(data[:whole])
            rest = data[whole:]
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise ProcessingError(f"levels of {path.name}: ffmpeg failed: {err.strip()[-200:]}")
    return levels


def transcode(
    sources: list[tuple[Path, Path]], fmt: str, playback: tuple[Path, float] | None = None
) -> None:
    """Each source WAV to its archive copy, in one ffmpeg run; written to a temporary name
    and renamed, so a half-written copy never carries the final name. `playback`: also the
    first source, at `gain` dB with a limiter so no peak clips (an even loudness for
    listening), to that path."""
    _, codec = ARCHIVE_CODECS[fmt]
    container = "ogg" if fmt == "opus" else "mp3"
    args = ["ffmpeg", "-v", "error", "-nostdin", "-y"]
    for src, _dst in sources:
        args += ["-i", str(src)]
    temps = []
    outputs: list[tuple[int, Path, list[str]]] = [
        (n, dst, []) for n, (_src, dst) in enumerate(sources)
    ]
    if playback is not None:
        outputs.append((0, playback[0], ["-af", f"volume={playback[1]:.2f}dB,alimiter=limit=0.9"]))
    for n, dst, filters in outputs:
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.part")
        temps.append((tmp, dst))
        args += ["-map", f"{n}:a", *filters, *codec, "-f", container, str(tmp)]
    try:
        _run(args, f"archive {sources[0][0].name}")
        for tmp, dst in temps:
            os.replace(tmp, dst)
    finally:
        for tmp, _dst in temps:
            tmp.unlink(missing_ok=True)


def process(root: Path, linkedid: str, settings: ArchiveSettings) -> Processed:
    """All steps for one call's files in `root` (see the module docstring)."""
    result = Processed(linkedid)
    ext, _ = ARCHIVE_CODECS[settings.format]
    mixed = root / naming.file_name(linkedid)
    parties = {p: root / naming.party_file_name(linkedid, p) for p in naming.PARTIES}
    present = {p: path for p, path in parties.items() if path.is_file()}
    if not mixed.is_file():
        result.problems.append(f"{mixed.name} is missing")
        return result
    try:
        gain = 0.0
        if len(present) == 2 and (settings.measure or settings.playback):
            caller, agent = frame_levels(present["caller"], present["agent"])
            result.qa = measure(caller, agent) if settings.measure else None
            # the mixed file's level from the parties' (uncorrelated: powers add)
            gain = playback_gain(int(math.hypot(c, a)) for c, a in zip(caller, agent, strict=True))
        elif settings.playback:
            gain = playback_gain(frame_levels(mixed)[0])
        jobs = [(mixed, root / naming.archive_name(linkedid, ext))]
        jobs += [(src, root / naming.archive_name(linkedid, ext, p)) for p, src in present.items()]
        playback = root / naming.playback_name(linkedid, ext) if settings.playback else None
        transcode(jobs, settings.format, (playback, gain) if playback else None)
        verified = []
        together = wav_info(mixed).seconds < PROBE_TOGETHER_SECONDS
        probed = probe_many([dst for _, dst in jobs], together)
        for (src, dst), got in zip(jobs, probed, strict=True):
            expected = wav_info(src).seconds
            if abs(expected - got) > settings.tolerance + expected * 0.002:
                dst.unlink(missing_ok=True)
                result.problems.append(
                    f"{dst.name}: {got:.2f} s against the source's {expected:.2f} s; kept the WAV"
                )
            else:
                verified.append(src)
                if src == mixed:
                    result.archive_seconds = round(got, 3)
        main_archive = jobs[0][1]
        if main_archive.is_file():
            result.archive_path = main_archive.relative_to(root).as_posix()
            result.archive_format = settings.format
            result.archive_sha256 = sha256_of(main_archive)
        if playback is not None and playback.is_file():
            result.playback_path = playback.relative_to(root).as_posix()
        if settings.remove_source and not result.problems and len(verified) == len(jobs):
            result.removable = [src.name for src in verified]
    except (ProcessingError, OSError, ValueError) as exc:
        result.problems.append(str(exc))
    return result


T = TypeVar("T")
R = TypeVar("R")


def bounded(
    items: Iterable[T], work: Callable[[T], R], workers: int
) -> Iterator[tuple[T, R | BaseException]]:
    """`work` over `items` with at most `workers` at once; results as they finish."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(work, item): item for item in items}
        for future in as_completed(futures):
            exc = future.exception()
            yield futures[future], exc if exc is not None else future.result()
