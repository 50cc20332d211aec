"""The QA measures (recordings.processing) reach pydub's `audioop`: it must be a C module.

Python 3.13 removed the stdlib `audioop`; pydub then silently falls back to its pure-Python
`pyaudioop`, orders of magnitude slower on a call's worth of samples. `audioop-lts` (declared
for 3.13+) puts a C `audioop` back. scripts/test-py313 runs this under Debian 13's 3.13.
"""

from __future__ import annotations

import inspect
import sys
from importlib.metadata import version

from recordings import processing


def test_the_qa_measures_use_a_c_audioop_not_pydubs_pure_python_fallback() -> None:
    audioop = processing._audioop()
    assert audioop.__name__ == "audioop"  # pydub's fallback is the module `pyaudioop`
    assert inspect.isbuiltin(audioop.rms), "audioop.rms is Python code: pydub's fallback"
    # 1000 samples of +/-300 (a square wave): RMS 300 by definition
    samples = b"".join(v.to_bytes(2, "little", signed=True) for v in [300, -300] * 500)
    assert audioop.rms(samples, 2) == 300


def test_from_python_3_13_on_the_c_audioop_is_audioop_lts() -> None:
    if sys.version_info < (3, 13):
        assert processing._audioop().__file__.endswith(".so")  # the stdlib's own C module
        return
    assert version("audioop-lts")  # installed from setup.py's marker
    assert "audioop" in processing._audioop().__file__.split("site-packages")[-1]
