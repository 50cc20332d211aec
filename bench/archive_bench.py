"""Recordings pipeline benchmark: archive throughput against a plain ffmpeg loop over the same
files in the same run, and peak memory while processing a 60-minute call.

Files: N synthetic calls (8 kHz mono 16-bit WAV, as MixMonitor writes them), lengths drawn
between --min and --max seconds (seeded), each with its per-party files (caller: a 400 Hz tone
in talk spurts; agent side: 1000 Hz in the other spurts; mixed: both), in a temporary folder.

Throughput (seconds of audio archived per wall-clock second, mixed + per-party files):

  plain     a sequential loop, one `ffmpeg -i <wav> -c:a libmp3lame -b:a 24k <mp3>` per file:
            the baseline the issue names (no check, no hash)
  archive   `recordings.processing.process` with only the archive stage (QA and playback copy
            off): one ffmpeg run per call for its three files, then ffprobe of each copy
            against its source's duration, sha256 of the archive; --workers at once
  full      the whole pipeline per call: QA measures (two PCM streams out of ffmpeg through
            pydub's audioop), archive + verify + hash, loudness-normalised playback copy

Sources are kept (remove_source off) so every variant sees the same files; variants take
turns within each round (order alternating) and the median over rounds is reported. The
ratio the issue asks for is archive / plain (goal >= 0.9); with --workers 1 as well as the
configured count, so the gain of concurrency is not mistaken for a cheaper pipeline.

Memory: `process` (full pipeline) on one 60-minute call, in a child Python process; a
sampler reads the RSS of that process and all its descendants (ffmpeg, ffprobe) from /proc
every 20 ms and keeps the peak of the sum. For contrast the same is done for loading the
mixed file whole with pydub and exporting it (what the pipeline avoids). Goal: < 200 MB.

    python bench/archive_bench.py              # documented sizes (3 rounds, 24 calls 60-300 s)
    python bench/archive_bench.py --quick      # a smoke run

Results are printed and written to bench/results/archive-<date>.json. See docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recordings.processing import ArchiveSettings, bounded, process

RATE = 8000


def write_call(folder: Path, linkedid: str, seconds: float, rng: random.Random) -> None:
    """Mixed, caller and agent files: talk spurts alternating between the parties."""
    n = int(RATE * seconds)
    caller = bytearray(n * 2)
    agent = bytearray(n * 2)
    one = {400: [int(6000 * math.sin(2 * math.pi * 400 * i / RATE)) for i in range(RATE)]}
    one[1000] = [int(6000 * math.sin(2 * math.pi * 1000 * i / RATE)) for i in range(RATE)]
    pos, who = 0, 0
    while pos < n:
        length = int(RATE * rng.uniform(1.0, 6.0))
        buf, hz = (caller, 400) if who == 0 else (agent, 1000)
        tone = one[hz]
        end = min(n, pos + length)
        struct.pack_into(f"<{end - pos}h", buf, pos * 2, *(tone[i % RATE] for i in range(pos, end)))
        pos, who = end + int(RATE * rng.uniform(0.2, 1.5)), 1 - who
    mixed = bytearray(n * 2)
    c = memoryview(caller).cast("h")
    a = memoryview(agent).cast("h")
    m = memoryview(mixed).cast("h")
    for i in range(n):
        m[i] = max(-32768, min(32767, c[i] + a[i]))
    for name, data in ((f"{linkedid}.wav", mixed), (f"{linkedid}-caller.wav", caller)):
        _wav(folder / name, bytes(data))
    _wav(folder / f"{linkedid}-agent.wav", bytes(agent))


def write_long_call(folder: Path, linkedid: str, seconds: int) -> None:
    """A long call quickly: a 60 s block of the short-call pattern repeated (streamed out)."""
    block_dir = folder / "block"
    block_dir.mkdir(exist_ok=True)
    write_call(block_dir, "b", 60.0, random.Random(7))
    for suffix in ("", "-caller", "-agent"):
        with wave.open(str(block_dir / f"b{suffix}.wav"), "rb") as src:
            block = src.readframes(src.getnframes())
        with wave.open(str(folder / f"{linkedid}{suffix}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            for _ in range(seconds // 60):
                out.writeframes(block)


def _wav(path: Path, frames: bytes) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames)


def plain_loop(folder: Path, ids: list[str], out: Path) -> None:
    out.mkdir(exist_ok=True)
    for lid in ids:
        for suffix in ("", "-caller", "-agent"):
            wav, mp3 = folder / f"{lid}{suffix}.wav", out / f"{lid}{suffix}.mp3"
            command = ["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(wav)]
            subprocess.run([*command, "-c:a", "libmp3lame", "-b:a", "24k", str(mp3)], check=True)


def pipeline(folder: Path, ids: list[str], settings: ArchiveSettings) -> None:
    for lid, result in bounded(ids, lambda lid: process(folder, lid, settings), settings.workers):
        if isinstance(result, BaseException) or result.problems:
            raise RuntimeError(f"{lid}: {result}")


def timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def tree_rss(pid: int) -> int:
    """RSS in bytes of a process and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def peak_memory(code: str) -> tuple[int, float]:
    """Peak RSS (bytes) of `python -c code` and its children, sampled every 20 ms."""
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).parent.parent)
    peak = 0
    start = time.perf_counter()
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code_ = proc.wait()
    stop.set()
    sampler.join()
    if code_ != 0:
        raise RuntimeError(f"memory run failed ({code_})")
    return peak, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--calls", type=int, default=24)
    ap.add_argument("--min", type=float, default=60.0)
    ap.add_argument("--max", type=float, default=300.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--long-minutes", type=int, default=60)
    ap.add_argument("--quick", action="store_true", help="6 calls of 20-40 s, 1 round, 5 min")
    ap.add_argument("--memory-only", action="store_true", help="only the long call's memory")
    args = ap.parse_args()
    if args.memory_only:
        args.calls = 0
    if args.quick:
        args.calls, args.min, args.max, args.rounds, args.long_minutes = 6, 20.0, 40.0, 1, 5

    rng = random.Random(12333)
    work = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    src = work / "calls"
    src.mkdir()
    ids, audio = [], 0.0
    for n in range(args.calls):
        seconds = round(rng.uniform(args.min, args.max), 1)
        lid = f"1795000000.{n}"
        write_call(src, lid, seconds, rng)
        ids.append(lid)
        audio += 3 * seconds  # mixed + two parties
    print(f"{args.calls} calls, {audio / 3 / 60:.1f} min of calls ({audio / 60:.1f} min of files)")

    archive_only = ArchiveSettings("mp3", False, 0.3, False, args.workers, False)
    variants = {
        "plain": lambda: plain_loop(src, ids, src / "plain"),
        "archive-1": lambda: pipeline(src, ids, replace(archive_only, workers=1)),
        f"archive-{args.workers}": lambda: pipeline(src, ids, archive_only),
        f"full-{args.workers}": lambda: pipeline(
            src, ids, ArchiveSettings("mp3", False, 0.3, True, args.workers, True)
        ),
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    for r in range(0 if args.memory_only else args.rounds):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            times[name].append(timed(variants[name]))
            print(f"round {r + 1} {name:<10} {times[name][-1]:7.2f} s")
    med = {k: statistics.median(v) for k, v in times.items() if v}
    throughput = {k: audio / v for k, v in med.items()}
    ratios = {k: throughput[k] / throughput["plain"] for k in med if k != "plain"}

    long_dir = work / "long"
    long_dir.mkdir()
    write_long_call(long_dir, "1795999999.1", args.long_minutes * 60)
    wav_mb = (long_dir / "1795999999.1.wav").stat().st_size / 2**20
    full = ArchiveSettings("mp3", False, 0.3, True, 1, True)
    pipeline_code = (
        "from pathlib import Path\n"
        "from recordings.processing import ArchiveSettings, process\n"
        f"folder, options = Path({str(long_dir)!r}), {full.__dict__!r}\n"
        "r = process(folder, '1795999999.1', ArchiveSettings(**options))\n"
        "assert not r.problems, r.problems\n"
    )
    pydub_code = (
        "import warnings\nwarnings.simplefilter('ignore')\n"
        "from pydub import AudioSegment\n"
        f"s = AudioSegment.from_wav({str(long_dir / '1795999999.1.wav')!r})\n"
        "s = s.normalize()\n"
        f"s.export({str(long_dir / 'pydub.mp3')!r}, format='mp3', bitrate='24k')\n"
    )
    pipe_peak, pipe_secs = peak_memory(pipeline_code)
    pydub_peak, pydub_secs = peak_memory(pydub_code)

    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "ffmpeg": subprocess.run(
            ["ffmpeg", "-version"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0],
        "calls": args.calls,
        "audio_seconds_of_files": round(audio, 1),
        "rounds": args.rounds,
        "workers": args.workers,
        "wall_seconds": {k: [round(t, 3) for t in v] for k, v in times.items()},
        "throughput_audio_s_per_s": {k: round(v, 1) for k, v in throughput.items()},
        "ratio_to_plain": {k: round(v, 3) for k, v in ratios.items()},
        "long_call": {
            "minutes": args.long_minutes,
            "mixed_wav_mib": round(wav_mb, 1),
            "pipeline_peak_rss_mib": round(pipe_peak / 2**20, 1),
            "pipeline_seconds": round(pipe_secs, 1),
            "pydub_whole_file_peak_rss_mib": round(pydub_peak / 2**20, 1),
            "pydub_seconds": round(pydub_secs, 1),
        },
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / f"archive-{dt.datetime.now():%Y-%m-%dT%H%M%S}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")
    subprocess.run(["rm", "-rf", str(work)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
