"""Runs a flow on a live call: the interpreter decides, the channel acts."""

from __future__ import annotations

import logging

from routing.directory import Directory
from routing.router import plan_for_post

from .channel import ALL_KEYS, CallChannel
from .interpreter import Ask, Finish, FlowRun, Play, Transfer

log = logging.getLogger("hotline.runtime")

AGENT_KEY = "0"  # a person, from any prompt or menu
HANDLED_VARIABLE = "HOTLINE_HANDLED"  # the dialplan's fallback runs unless the controller sets it


async def run_call(
    run: FlowRun, channel: CallChannel, directory: Directory, call_id: str, ring_timeout: int = 20
) -> None:
    while not run.finished:
        step = run.instruction()
        node = run.node_id
        if isinstance(step, Play):
            key = await channel.play(step.prompts, escape=AGENT_KEY)
            outcome = f"digit:{key}" if key else "done"
        elif isinstance(step, Ask):
            key = await channel.play(step.preamble, escape=ALL_KEYS)
            key = key or await channel.ask(step.prompt, step.timeout)
            outcome = f"digit:{key}" if key else "timeout"
        elif isinstance(step, Transfer):
            outcome = await _transfer(step, channel, directory, call_id, ring_timeout)
        else:
            assert isinstance(step, Finish)
            await channel.play(step.prompts)
            outcome = "done"
        log.info("event=ivr.step call=%s node=%s outcome=%s", call_id, node, outcome)
        run.advance(outcome)
    await channel.set_variable(HANDLED_VARIABLE, "1")


async def _transfer(
    step: Transfer, channel: CallChannel, directory: Directory, call_id: str, ring_timeout: int
) -> str:
    if step.hold_prompt:
        await channel.play([step.hold_prompt])
    for attempt in plan_for_post(directory, step.post, ring_timeout):
        result = await channel.dial(attempt.endpoint, attempt.timeout)
        log.info(
            "event=route.attempt call=%s agent=%s endpoint=%s reason=%r status=%s",
            call_id,
            attempt.agent_id,
            attempt.endpoint,
            attempt.reason,
            result.status,
        )
        if result.answered:
            return "answered"
    return "no-answer"
