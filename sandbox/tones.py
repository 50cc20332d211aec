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
