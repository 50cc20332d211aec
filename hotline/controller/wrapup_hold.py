"""The wrap-up hold across a restart: presence keeps in memory which agents owe a wrap-up code
([routing] wrap_up_required), so a controller that starts reads it back from the store (the
legs agents answered and the codes entered) before it offers anyone a call. The rule is
routing/wrapup.owed_wrap_ups; this module only reads its facts. No schema change: legs and
wrap-up codes are stored already."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hotline.store.models import Leg, WrapUp
from routing.wrapup import HOLD_LOOKBACK, AnsweredLeg, owed_wrap_ups


def owed_at_start(
    sessions: sessionmaker[Session], agents: Collection[str], now: datetime
) -> dict[str, str]:
    """agent -> the call whose wrap-up code they owe, as of `now`."""
    since = now - HOLD_LOOKBACK
    with sessions() as s:
        legs = [
            AnsweredLeg(agent, linkedid, _aware(at))
            for agent, linkedid, at in s.execute(
                select(Leg.agent_id, Leg.linkedid, Leg.answered_at).where(
                    Leg.agent_id.is_not(None), Leg.answered_at >= since
                )
            )
            if agent is not None and at is not None
        ]
        ids = {leg.linkedid for leg in legs}
        coded = {
            (linkedid, agent)
            for linkedid, agent in s.execute(
                select(WrapUp.linkedid, WrapUp.agent_id).where(WrapUp.linkedid.in_(ids))
            )
        }
    return owed_wrap_ups(legs, coded, agents, now)


def _aware(at: datetime) -> datetime:
    """SQLite gives the stored UTC times back without their zone."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
