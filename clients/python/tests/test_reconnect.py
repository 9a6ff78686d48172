"""The engine goes away and comes back: restarted cleanly, killed, frozen.
Order events arrive exactly once and in order across a clean restart; a
crash that loses the replay ring gives a resync with the fresh snapshot;
a frozen engine is noticed by the heartbeat."""

from __future__ import annotations

import asyncio
import signal
from typing import Any, Protocol

import laicai
from conftest import Engine, free_port
from laicai import ConnectionConfig, ConnectionState, WebSocketClient


class Reachable(Protocol):
    """An engine or a gateway: where a client connects."""

    @property
    def url(self) -> str: ...


def patient(engine: Reachable, **kw: Any) -> ConnectionConfig:
    settings: dict[str, Any] = dict(
        max_reconnect_attempts=40, reconnect_delay=0.1, heartbeat_interval=1, timeout=5
    )
    settings.update(kw)
    return ConnectionConfig(engine.url, **settings)


async def until(what: Any, seconds: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not what():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


async def place_and_cancel(engine: Reachable, n: int, placed: list[str], **kw: Any) -> None:
    """Another client's orders, retried when the engine is away."""
    async with WebSocketClient(patient(engine, **kw)) as trader:
        for i in range(n):
            while True:
                try:
                    order = await trader.place_order("BTC-USDT", "buy", "0.001", str(30000 + i))
                    placed.append(order.order_id)
                    if i % 2 == 0:
                        await trader.cancel_order(order.order_id)
                    break
                except (laicai.ConnectionLostError, laicai.NotConnectedError, laicai.CommandTimeout):
                    await asyncio.sleep(0.1)
                except laicai.CommandError as e:
                    if e.code not in ("engine_stopped", "timeout"):
                        raise
                    await asyncio.sleep(0.1)
            await asyncio.sleep(0.02)


async def watch(
    config: ConnectionConfig,
) -> tuple[WebSocketClient, list[dict[str, Any]], list[dict[str, Any]]]:
    """A connected client recording every order update and resync."""
    watcher = WebSocketClient(config)
    updates: list[dict[str, Any]] = []
    resyncs: list[dict[str, Any]] = []
    watcher.add_message_handler("order_update", updates.append)
    watcher.add_message_handler("resync", resyncs.append)
    assert await watcher.connect()
    return watcher, updates, resyncs


async def test_a_clean_restart_loses_and_doubles_no_order_event(engine: Engine) -> None:
    watcher, updates, resyncs = await watch(patient(engine))
    placed: list[str] = []
    trading = asyncio.create_task(place_and_cancel(engine, 60, placed))
    await until(lambda: len(placed) >= 20)
    await asyncio.get_running_loop().run_in_executor(None, engine.restart)
    await trading
    stats = await every_update_once(watcher, updates, resyncs, placed)
    assert stats["url"] == engine.url


async def test_it_fails_over_to_a_fallback_url_and_replays_with_no_gap(engine: Engine) -> None:
    """The engine comes back on another address, the clients' fallback (as
    a second gateway would be)."""
    fallback_port = free_port()
    fallback = f"ws://127.0.0.1:{fallback_port}/api/stream"
    watcher, updates, resyncs = await watch(patient(engine, fallback_urls=[fallback]))
    placed: list[str] = []
    trading = asyncio.create_task(place_and_cancel(engine, 40, placed, fallback_urls=[fallback]))
    await until(lambda: len(placed) >= 10)

    def move() -> None:
        engine.stop()
        engine.port = fallback_port
        engine.start()

    await asyncio.get_running_loop().run_in_executor(None, move)
    await trading
    stats = await every_update_once(watcher, updates, resyncs, placed)
    assert stats["url"] == fallback, stats


async def every_update_once(
    watcher: WebSocketClient,
    updates: list[dict[str, Any]],
    resyncs: list[dict[str, Any]],
    placed: list[str],
) -> dict[str, Any]:
    """Every order's updates reached the watcher once, in order, replayed
    rather than resynced; answers its stats."""
    # The engine's own record is the truth.
    final = {o.order_id: o.status for o in await watcher.get_orders(limit=1000)}
    await until(lambda: all(
        any(u["orderId"] == oid and u["status"] == status for u in updates)
        for oid, status in final.items()
    ), 20)
    stats = await watcher.get_stats()
    await watcher.close()
    assert stats["reconnect_count"] >= 1, "the watcher never lost its connection"
    assert resyncs == [], resyncs
    seqs = [u["seq"] for u in updates]
    assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)), "out of order or doubled"
    pairs = [(u["orderId"], u["status"]) for u in updates]
    assert len(pairs) == len(set(pairs)), "an order's update came twice"
    assert set(placed) <= set(final)
    for oid in placed:
        statuses = [s for o, s in pairs if o == oid]
        assert statuses[-1] == final[oid] and "open" in statuses, (oid, statuses)
    return stats


async def test_a_crash_that_loses_the_ring_gives_a_resync_and_the_fresh_snapshot(engine: Engine) -> None:
    watcher = WebSocketClient(patient(engine))
    got: list[str] = []
    watcher.add_message_handler("*", lambda d: got.append(d["type"]))
    assert await watcher.connect()
    await watcher.place_order("BTC-USDT", "buy", "0.001", "30000")
    await until(lambda: "order_update" in got)
    await asyncio.get_running_loop().run_in_executor(None, engine.restart, signal.SIGKILL)
    await until(lambda: "resync" in got)
    stats = await watcher.get_stats()
    await watcher.close()
    after = got[got.index("resync") :]
    assert after[1] == "snapshot", after[:5]
    assert stats["resyncs"] == 1


async def test_a_frozen_engine_is_noticed_by_the_heartbeat_and_rejoined(engine: Engine) -> None:
    client = WebSocketClient(patient(engine, heartbeat_interval=0.5, timeout=1))
    assert await client.connect()
    engine.send(signal.SIGSTOP)
    try:
        await until(lambda: client.state is not ConnectionState.CONNECTED, 10)
        assert client.state is ConnectionState.RECONNECTING
        await asyncio.sleep(1.5)
    finally:
        engine.send(signal.SIGCONT)
    await until(lambda: client.state is ConnectionState.CONNECTED, 30)
    assert (await client.get_system_status()).bot_status == "running"
    stats = await client.get_stats()
    await client.close()
    assert stats["reconnect_count"] >= 1
