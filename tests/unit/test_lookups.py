"""A data source's blocking calls run in threads of their own: a back end that hangs holds
neither the shared executor (routing and the store need it) nor the controller's exit."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ivr.lookups import LookupFailed, OwnThreads


def test_results_and_errors_come_back_as_from_a_worker_thread() -> None:
    threads = OwnThreads()

    def broken() -> str:
        raise LookupFailed("records unavailable")

    async def main() -> None:
        assert await threads.run(lambda: "186") == "186"
        with pytest.raises(LookupFailed, match="unavailable"):
            await threads.run(broken)
        assert threads.running == 0

    asyncio.run(main())


def test_a_hung_source_starves_nothing_fails_fast_past_its_limit_and_lets_the_loop_close() -> None:
    share_is_back = threading.Event()
    threads = OwnThreads(limit=8)

    async def main() -> None:
        hung = [asyncio.ensure_future(threads.run(share_is_back.wait)) for _ in range(8)]
        done, _ = await asyncio.wait(hung, timeout=0.2)  # the callers give up, as on a timeout
        assert not done
        with pytest.raises(LookupFailed, match="8 earlier lookups"):
            await threads.run(lambda: True)  # a ninth would only pile up another thread
        # asyncio's shared executor (six workers on two cores) is untouched by the hung ones
        assert await asyncio.gather(*[asyncio.to_thread(lambda: 1) for _ in range(20)]) == [1] * 20
        for task in hung:
            task.cancel()
        await asyncio.gather(*hung, return_exceptions=True)

    asyncio.run(main())  # returns although eight threads still wait (asyncio.to_thread: never)
    share_is_back.set()
