"""QA measures from a call's audio: talk time of each party, talk ratio, overlap, and
silences or holds longer than 30 s.

Pure: it works on per-frame levels (RMS of 16-bit samples, one value per frame), which the
processing step streams out of ffmpeg; nothing here reads a file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

FRAME_MS = 20
TALK_RMS = 300  # about -40 dBFS: quieter frames are silence (line noise, comfort noise)
HANGOVER_FRAMES = 15  # gaps under 300 ms inside speech count as speech
LONG_SILENCE_S = 30.0


@dataclass(frozen=True)
class QaMeasures:
    caller_talk: float  # seconds the caller spoke
    agent_talk: float  # seconds the other side (IVR, agent) was heard
    talk_ratio: float  # caller_talk / agent_talk (0 when the other side never spoke)
    overlap: float  # seconds both spoke at once
    long_silences: int  # stretches of more than 30 s where neither side made a sound
    longest_silence: float


def activity(levels: Sequence[int], threshold: int = TALK_RMS) -> list[bool]:
    """Talk or not per frame, short gaps inside speech bridged (hangover)."""
    active = [level >= threshold for level in levels]
    out = list(active)
    last_on = -(10**9)
    for i, on in enumerate(active):
        if on:
            if 0 < i - last_on - 1 <= HANGOVER_FRAMES:
                for j in range(last_on + 1, i):
                    out[j] = True
            last_on = i
    return out


def playback_gain(levels: Iterable[int], target_dbfs: float = -20.0) -> float:
    """dB to bring the active speech level (frames above the talk threshold) to `target_dbfs`,
    kept within -10..+20 dB; 0 when nobody spoke."""
    active = [level for level in levels if level >= TALK_RMS]
    if not active:
        return 0.0
    rms = math.sqrt(sum(level * level for level in active) / len(active))
    return round(max(-10.0, min(20.0, target_dbfs - 20 * math.log10(rms / 32768))), 2)


def measure(
    caller_levels: Sequence[int], agent_levels: Sequence[int], frame_ms: int = FRAME_MS
) -> QaMeasures:
    frames = max(len(caller_levels), len(agent_levels))
    caller = activity(caller_levels) + [False] * (frames - len(caller_levels))
    agent = activity(agent_levels) + [False] * (frames - len(agent_levels))
    step = frame_ms / 1000.0
    caller_talk = sum(caller) * step
    agent_talk = sum(agent) * step
    overlap = sum(c and a for c, a in zip(caller, agent, strict=True)) * step
    silences: list[float] = []
    run = 0
    for c, a in zip(caller, agent, strict=True):
        if c or a:
            if run:
                silences.append(run * step)
            run = 0
        else:
            run += 1
    if run:
        silences.append(run * step)
    long_ones = [s for s in silences if s > LONG_SILENCE_S]
    return QaMeasures(
        caller_talk=round(caller_talk, 2),
        agent_talk=round(agent_talk, 2),
        talk_ratio=round(caller_talk / agent_talk, 3) if agent_talk else 0.0,
        overlap=round(overlap, 2),
        long_silences=len(long_ones),
        longest_silence=round(max(silences, default=0.0), 2),
    )
