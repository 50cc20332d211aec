"""Load on the sandbox: many simulated callers at once, on Local channels.

Each caller is an AMI Originate of `Local/<number>@<inbound context>` whose other half runs
the sandbox's `sandbox-caller` context: it waits, presses its keys (SendDTMF) and hangs up
after a while. Lighter than a SIPp process per caller, so hundreds can be up at once; SIPp
phones still answer as agents. Afterwards every call is accounted for from the store: its
call row (ended), its recording's catalogue row, and for calls an agent answered the survey's
state (rated in the call, or a queued survey job).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.pbx.ami import AmiClient, AmiError
from hotline.pbx.dialplan import INBOUND_CONTEXT
from hotline.settings import Settings
from hotline.store.models import Call, IvrStep, Recording, Survey, SurveyJob

CALLER_CONTEXT = "sandbox-caller"


@dataclass(frozen=True)
class Story:
    """What one simulated caller does: keys after `wait` s (w = 0.5 s pause), then holds."""

    name: str
    wait: float
    keys: str
    hold: float


def stories(prompt_seconds: Callable[[str], float]) -> dict[str, Story]:
    """The mix: self-service only, an agent (then the survey), a caller who gives up. Every
    caller stays silent through the greeting's menu (its 1 s timeout), so that step's
    duration less the greeting is the controller's overhead (see `account`)."""
    into_notice = prompt_seconds("welcome_lang") + 1 + 1.5
    into_menu = into_notice + prompt_seconds("recording_notice")
    to_survey = "w" * int((prompt_seconds("transfer_hold") + 0.5 + 3 + 2.5) / 0.5)
    return {
        "self-service": Story("self-service", into_menu, "2ww1", 25),
        "agent": Story("agent", into_notice, "0" + to_survey + "2", 12),
        "gives-up": Story("gives-up", into_notice, "", 4),
    }


@dataclass
class Placed:
    number: str
    story: str
    at: float
    accepted: bool = True


@dataclass
class LoadResult:
    placed: list[Placed] = field(default_factory=list)
    concurrency: list[tuple[float, int]] = field(default_factory=list)  # (s, channels up)
    callers: list[tuple[float, int]] = field(default_factory=list)  # (s, simulated callers up)
    memory: list[tuple[float, int]] = field(default_factory=list)  # (s, controller RSS kB)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def place_load(
    settings: Settings,
    concurrent: int,
    seconds: float,
    mix: dict[str, float],
    prompt_seconds: Callable[[str], float],
    controller_pid: int,
    progress: Callable[[str], None] = lambda _line: None,
    first_number: int | None = None,
) -> LoadResult:
    """Originate callers for `seconds`, at the rate that keeps about `concurrent` up (the
    rate starts from the mix's expected call length and follows the callers counted up every
    10 s: calls end sooner than expected when callers wait less or the queue is short). Each
    caller has its own number (by default 1370, six digits of the clock, a 5-digit count:
    unique across runs on one database)."""
    if first_number is None:
        first_number = (1370_000000 + int(time.time()) % 1_000000) * 100000
    plays = stories(prompt_seconds)
    names, weights = zip(*mix.items(), strict=True)
    mean = sum(w * (plays[n].wait + plays[n].hold + 8) for n, w in mix.items()) / sum(weights)
    gap = mean / concurrent  # seconds between originations, adjusted as callers are counted
    ami = settings.ami
    client = AmiClient(ami.host, ami.port, ami.username, ami.secret, action_timeout=30)
    await client.connect()
    result, start, n = LoadResult(), time.monotonic(), 0
    rng = random.Random(12333)
    pending: set[asyncio.Task[None]] = set()

    async def originate(placed: Placed, story: Story) -> None:
        try:
            await client.action(
                "Originate",
                timeout=30,
                Channel=f"Local/{settings.dialplan.number}@{INBOUND_CONTEXT}/n",
                Context=CALLER_CONTEXT,
                Exten="s",
                Priority="1",
                CallerID=f'"soak" <{placed.number}>',
                Async="true",
                Variable=[
                    f"CALLER_WAIT={story.wait}",
                    f"CALLER_KEYS={story.keys}",
                    f"CALLER_HOLD={story.hold}",
                ],
            )
        except AmiError:
            placed.accepted = False

    async def sample() -> None:
        nonlocal gap
        while True:
            elapsed = time.monotonic() - start
            try:
                reply = await client.action("CoreShowChannels", timeout=20)
                channels = [
                    m.get("Channel", "")
                    for m in (reply if isinstance(reply, list) else [reply])
                    if m.get("Event") == "CoreShowChannel"
                ]
                result.concurrency.append((elapsed, len(channels)))
                # each simulated caller is one Local channel pair; its ;2 half is the caller
                callers = sum(1 for c in channels if c.startswith("Local/") and c.endswith(";2"))
                result.callers.append((elapsed, callers))
                if callers and elapsed > mean:  # once the first callers could have ended
                    # gently: callers answer a change of rate only a call's length later
                    gap *= min(1.25, max(0.8, (callers / concurrent) ** 0.3))
            except AmiError:
                pass
            result.memory.append((elapsed, rss_kb(controller_pid)))
            up = result.concurrency[-1][1] if result.concurrency else 0
            callers = result.callers[-1][1] if result.callers else 0
            progress(
                f"{elapsed:5.0f} s  calls placed {n:5d}  callers up {callers:4d}  "
                f"channels up {up:4d}  "
                f"controller RSS {result.memory[-1][1] / 1024:.0f} MB"
            )
            await asyncio.sleep(10)

    sampler = asyncio.create_task(sample())
    try:
        while time.monotonic() - start < seconds:
            story = plays[rng.choices(names, weights)[0]]
            placed = Placed(str(first_number + n), story.name, time.monotonic() - start)
            result.placed.append(placed)
            n += 1
            pending.add(task := asyncio.create_task(originate(placed, story)))
            task.add_done_callback(pending.discard)
            await asyncio.sleep(gap)
        await asyncio.gather(*pending)
    finally:
        sampler.cancel()
        client.close()
    return result


@dataclass(frozen=True)
class Account:
    calls: int
    ended: int
    recorded: int
    agent_answered: int
    survey_state: int  # of those an agent answered: rated, or a survey job queued
    missing: list[str]  # numbers with no call row
    welcome_overhead_ms: list[tuple[float, float, float]]  # per minute: (minute, p50, p99)


def account(
    sessions: sessionmaker[Session], placed: list[Placed], welcome_prompt_ms: float
) -> Account:
    """`welcome_prompt_ms`: the greeting's length plus its menu's 1 s timeout."""
    numbers = {p.number for p in placed if p.accepted}
    with sessions() as session:
        calls = [
            c
            for c in session.scalars(
                select(Call).where(Call.caller_number.in_(numbers), Call.kind == "inbound")
            )
        ]
        ids = [c.linkedid for c in calls]
        recorded = set(
            session.scalars(select(Recording.linkedid).where(Recording.linkedid.in_(ids)))
        )
        rated = set(session.scalars(select(Survey.linkedid).where(Survey.linkedid.in_(ids))))
        queued = set(session.scalars(select(SurveyJob.linkedid).where(SurveyJob.linkedid.in_(ids))))
        welcome = session.execute(
            select(IvrStep.entered_at, IvrStep.duration_ms).where(
                IvrStep.linkedid.in_(ids),
                IvrStep.node == "welcome",
                IvrStep.outcome == "timeout",
            )
        ).all()
    answered = [c for c in calls if c.outcome == "answered"]
    first = min((t for t, _ in welcome), default=None)
    by_minute: dict[int, list[float]] = {}
    for at, ms in welcome:
        assert first is not None
        minute = int((at - first).total_seconds() // 60)
        by_minute.setdefault(minute, []).append(ms - welcome_prompt_ms)
    overhead = [(float(m), statistics.median(v), _p99(v)) for m, v in sorted(by_minute.items())]
    seen = {c.caller_number for c in calls}
    return Account(
        calls=len(numbers),
        ended=sum(1 for c in calls if c.ended_at is not None),
        recorded=len(recorded),
        agent_answered=len(answered),
        survey_state=sum(1 for c in answered if c.linkedid in rated | queued),
        missing=sorted(numbers - seen),
        welcome_overhead_ms=overhead,
    )


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
