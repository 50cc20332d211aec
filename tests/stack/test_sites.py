"""A district seat on another Asterisk box, joined by a trunk: two sandbox Asterisks on
loopback (127.0.0.1 and 127.0.0.4), the router addressing the seat as (site, endpoint); and
when the box goes down, its seat skipped at once."""

from __future__ import annotations

from hotline.sandbox import commands as sandbox_cmd
from hotline.settings import load_settings
from tests.stack.conftest import Stack, agent_phone, place_call, running_controller, wait_for
from tests.stack.test_ivr import ZERO_IN_GREETING

SITE = """
[[site]]
id = "xihu-box"
trunk = "site-xihu-box"
address = "127.0.0.4"
sip_port = 15060
ami_port = 15238
"""


def test_a_remote_district_seat_answers_across_the_trunk(stack: Stack) -> None:
    config = stack.config_with("two-sites")
    seats = config.parent / "seats.toml"
    text = seats.read_text().replace(
        'endpoint = "agent2002"\noffice = "xihu"',
        'endpoint = "agent2002"\noffice = "xihu"\nsite = "xihu-box"',
    )
    assert 'site = "xihu-box"' in text
    seats.write_text(text + SITE)
    two = load_settings(config)
    assert two.directory.dial_target("agent2002") == "agent2002@site-xihu-box"
    ((_site, box),) = sandbox_cmd.site_instances(two)
    try:
        sandbox_cmd.up(two, say=lambda _line: None)
        assert "site-xihu-box" in stack.instance.cli("pjsip show endpoints")
        assert "agent2002" in box.cli("pjsip show endpoints")
        assert "agent2002" not in stack.instance.cli("pjsip show aors")  # it lives on the box
        with (
            running_controller(stack, config) as controller,
            agent_phone(stack, "site-a", "agent2001", behaviour="busy"),
            agent_phone(stack, "site-b", "agent1002", behaviour="busy"),
            agent_phone(stack, "site-c", "agent1001", max_calls=1, talk_ms=2000) as city,
            agent_phone(stack, "site-d", "agent2002", max_calls=1, talk_ms=2000) as remote,
        ):
            wait_for(
                lambda: "event=presence.resync site=xihu-box" in controller.text(),
                15,
                "the controller to read the box's seats",
            )
            place_call(stack, "site-call", "057187000280", script=ZERO_IN_GREETING)
            assert remote.process.wait(10) == 0
            # the box goes down: its seat is skipped at once, not rung through a dead trunk
            box.stop()
            wait_for(
                lambda: "event=presence.site-lost site=xihu-box seats=1" in controller.text(),
                15,
                "the controller to see the box gone",
            )
            mark = stack.log_mark()
            place_call(stack, "site-call-2", "057187000281", script=ZERO_IN_GREETING)
            assert city.process.wait(10) == 0
        call = stack.ended_call("057187000280")
        assert [(leg.agent_id, leg.endpoint, leg.dial_status) for leg in call.legs] == [
            ("2001", "agent2001", "BUSY"),
            ("1002", "agent1002", "BUSY"),
            ("2002", "agent2002", "ANSWER"),
        ]
        wait_for(lambda: stack.decisions(call.linkedid), 10, "the route decision")
        assert "district pool xihu: 2002" in stack.decisions(call.linkedid)[0].chain
        box_log = (box.home / "log" / "messages.log").read_text(errors="replace")
        assert "PJSIP/agent2002" in box_log  # the site's Asterisk rang its own seat
        after = stack.ended_call("057187000281")
        assert [(leg.agent_id, leg.dial_status) for leg in after.legs] == [
            ("2001", "BUSY"),
            ("1002", "BUSY"),
            ("1001", "ANSWER"),
        ]
        wait_for(lambda: stack.decisions(after.linkedid), 10, "the second route decision")
        assert "district pool xihu: 1 unreachable -> city pool: 1001" in (
            stack.decisions(after.linkedid)[0].chain
        )
        assert "agent2002@site-xihu-box" not in stack.asterisk_log()[mark:]
    finally:
        box.stop()
        sandbox_cmd.up(stack.settings, say=lambda _line: None)  # the single-site sandbox again
    assert "site-xihu-box" not in stack.instance.cli("pjsip show endpoints")
