"""How long a cued SIPp caller is busy after each go (sipp.busy_after_cues_ms): a go sent
while it is still pressing aborts the call, as seen on the stack with a two-key district code
("03") whose next prompt started before the second key had gone out."""

from __future__ import annotations

from hotline.sandbox import sipp


def test_a_cue_waits_for_every_key_and_timed_step_before_the_next() -> None:
    script: list[tuple[int | str, str]] = [
        ("main_menu", "1"),  # one RFC 2833 key: 250 ms
        (3000, "23"),  # then 3 s, then two keys: 250 + 300 + 250 ms
        ("district_menu", "45678"),  # five keys: 5 x 250 + 4 x 300 ms
        ("goodbye", ""),  # only a wait: nothing to press
    ]
    assert sipp.busy_after_cues_ms(script) == [250 + 3000 + 800, 2450, 0]


def test_in_band_keys_take_their_tones_length() -> None:
    script: list[tuple[int | str, str]] = [("query_enter_pin", "123456")]
    assert sipp.busy_after_cues_ms(script, inband=True) == [6 * 240 + 5 * 300]


def test_timed_steps_before_the_first_cue_belong_to_no_cue() -> None:
    script: list[tuple[int | str, str]] = [(3000, "0"), ("queue_hold", "*")]
    assert sipp.busy_after_cues_ms(script) == [250]
