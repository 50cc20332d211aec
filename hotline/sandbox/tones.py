"""Raw G.711 μ-law test audio for the simulated parties (SIPp's rtp_stream plays it in a loop).

Real phones send RTP all the time; a caller that only sends DTMF leaves holes in a
recording. Each party gets its own tone so the per-party audio can be told apart.
"""

from __future__ import annotations

import math
from pathlib import Path

RATE = 8000


def _ulaw(sample: int) -> int:
    """One 16-bit linear sample to G.711 μ-law (ITU-T G.711, with the 0x84 bias)."""
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), 32635) + 0x84
    exponent = 7
    for exp in range(7, -1, -1):
        if magnitude & (0x4000 >> (7 - exp)):
            exponent = exp
            break
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def write_tone(path: Path, hz: float, seconds: float = 2.0, amplitude: int = 8000) -> Path:
    samples = int(RATE * seconds)
    data = bytes(
        _ulaw(int(amplitude * math.sin(2 * math.pi * hz * n / RATE))) for n in range(samples)
    )
    path.write_bytes(data)
    return path


# DTMF: each key is one low-group and one high-group frequency (ITU-T Q.23)
DTMF_LOW = {**dict.fromkeys("123", 697), **dict.fromkeys("456", 770)}
DTMF_LOW |= {**dict.fromkeys("789", 852), **dict.fromkeys("*0#", 941)}
DTMF_HIGH = {**dict.fromkeys("147*", 1209), **dict.fromkeys("2580", 1336)}
DTMF_HIGH |= dict.fromkeys("369#", 1477)


def write_dtmf(path: Path, key: str, seconds: float = 0.12, amplitude: int = 6000) -> Path:
    """One key as in-band audio (a gateway's or a `dtmf_mode = inband` phone's key press),
    then as much silence: Asterisk's detector needs the tone, then its end."""
    low, high = DTMF_LOW[key], DTMF_HIGH[key]
    tone = [
        _ulaw(
            int(
                amplitude
                * (math.sin(2 * math.pi * low * n / RATE) + math.sin(2 * math.pi * high * n / RATE))
                / 2
            )
        )
        for n in range(int(RATE * seconds))
    ]
    path.write_bytes(bytes(tone) + bytes([0xFF]) * int(RATE * seconds))
    return path
