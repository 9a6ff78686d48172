"""The SDK beside a bare ``websockets`` client, in one run against one
engine: how many events a second one client takes in with a no-op handler
(and the client CPU each costs) on the fast feed, and the ``place_order``
→ ``order_update`` round trip. Each variant runs in its own process, the
two alternately, ``--rounds`` times.

    python benchmarks/bench.py [--seconds 10] [--orders 500] [--rounds 2]

LAICAI_BIN names the engine binary (default: target/release/laicai)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent / "tests"))


# ---- the clients, each run in a process of its own ----------------------


async def feed_sdk(url: str, seconds: float) -> dict[str, float]:
    import laicai

    count = 0

    def noop(data: dict[str, object]) -> None:
        nonlocal count
        count += 1

    client = laicai.WebSocketClient(laicai.ConnectionConfig(url))
    client.add_message_handler("*", noop)
    await client.connect()
    await asyncio.sleep(1)
    start, cpu, n0 = time.monotonic(), time.process_time(), count
    await asyncio.sleep(seconds)
    out = {"events": count - n0, "wall": time.monotonic() - start, "cpu": time.process_time() - cpu}
    await client.close()
    return out


async def feed_bare(url: str, seconds: float) -> dict[str, float]:
    from websockets.asyncio.client import connect

    count = 0
    async with connect(url, max_size=None, compression=None) as ws:
        async def read() -> None:
            nonlocal count
            async for text in ws:
                json.loads(text, parse_float=Decimal)
                count += 1

        reader = asyncio.create_task(read())
        await asyncio.sleep(1)
        start, cpu, n0 = time.monotonic(), time.process_time(), count
        await asyncio.sleep(seconds)
        out = {"events": count - n0, "wall": time.monotonic() - start, "cpu": time.process_time() - cpu}
        reader.cancel()
    return out


async def roundtrip_sdk(url: str, orders: int) -> list[float]:
    import laicai

    times: list[float] = []
    async with laicai.WebSocketClient(laicai.ConnectionConfig(url)) as client:
        stream = client.events("order_update")
        for i in range(orders):
            start = time.perf_counter()
            placed = await client.place_order("BTC-USDT", "buy", "0.001", "30000")
            async for e in stream:
                if e.get("orderId") == placed.order_id:
                    break
            times.append(time.perf_counter() - start)
        await client.cancel_all_orders()
    return times


async def roundtrip_bare(url: str, orders: int) -> list[float]:
    from websockets.asyncio.client import connect

    times: list[float] = []
    async with connect(url, max_size=None, compression=None) as ws:
        for i in range(orders):
            cid = f"bare-{i}"
            frame = {"cmd": "place_order", "symbol": "BTC-USDT", "side": "buy", "type": "limit",
                     "size": "0.001", "price": "30000", "client_order_id": cid, "request_id": i}
            start = time.perf_counter()
            await ws.send(json.dumps(frame))
            while True:
                msg = json.loads(await ws.recv(), parse_float=Decimal)
                if msg.get("type") == "order_update" and msg.get("client_order_id") == cid:
                    break
                if msg.get("type") == "response" and msg.get("success") is False:
                    raise RuntimeError(f"refused: {msg}")
            times.append(time.perf_counter() - start)
        await ws.send(json.dumps({"cmd": "cancel_all_orders"}))
    return times


def child(kind: str, url: str, arg: float) -> None:
    fn = {"feed_sdk": feed_sdk, "feed_bare": feed_bare, "rt_sdk": roundtrip_sdk, "rt_bare": roundtrip_bare}[kind]
    print(json.dumps(asyncio.run(fn(url, int(arg) if kind.startswith("rt_") else arg))))  # type: ignore[operator]


# ---- the run -------------------------------------------------------------


def run_child(kind: str, url: str, arg: float) -> object:
    out = subprocess.run([sys.executable, __file__, "--child", kind, url, str(arg)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--orders", type=int, default=500)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        child(a.child[0], a.child[1], float(a.child[2]))
        return
    os.environ.setdefault("LAICAI_BIN", str(REPO / "target/release/laicai"))
    from conftest import Engine

    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "feed"
        feed.mkdir()
        engine = Engine(feed, (REPO / "configs/fast-feed.toml").read_text())
        engine.start()
        try:
            print(f"fast feed, {a.seconds:g} s per client, no-op handler")
            print(f"{'round':<6}{'client':<8}{'events/s':>10}{'CPU µs/event':>14}")
            ratios = []
            for r in range(a.rounds):
                got = {k: run_child(f"feed_{k}", engine.url, a.seconds) for k in ("bare", "sdk")}
                for k, v in got.items():
                    assert isinstance(v, dict)
                    print(f"{r + 1:<6}{k:<8}{v['events'] / v['wall']:>10.0f}{v['cpu'] / v['events'] * 1e6:>14.1f}")
                sdk, bare = got["sdk"], got["bare"]
                assert isinstance(sdk, dict) and isinstance(bare, dict)
                ratios.append(((sdk["events"] / sdk["wall"]) / (bare["events"] / bare["wall"]),
                               (sdk["cpu"] / sdk["events"]) / (bare["cpu"] / bare["events"])))
            for r, (rate, cpu) in enumerate(ratios):
                print(f"round {r + 1}: sdk/bare events/s {rate:.2f}x, CPU per event {cpu:.2f}x")
        finally:
            engine.stop()
        rt = Path(tmp) / "rt"
        rt.mkdir()
        engine = Engine(rt)
        engine.start()
        try:
            print(f"\nplace_order -> order_update, {a.orders} orders one at a time (the tests' config: fsync off)")
            for r in range(a.rounds):
                res = {k: run_child(f"rt_{k}", engine.url, a.orders) for k in ("bare", "sdk")}
                line = []
                for k, v in res.items():
                    assert isinstance(v, list)
                    v.sort()
                    p50, p99 = statistics.median(v), v[int(len(v) * 0.99)]
                    line.append((k, p50, p99))
                    print(f"round {r + 1} {k:<5} p50 {p50 * 1e6:7.0f} µs  p99 {p99 * 1e6:7.0f} µs")
                (_, b50, b99), (_, s50, s99) = line
                print(f"round {r + 1}: sdk/bare p50 {s50 / b50:.2f}x, p99 {s99 / b99:.2f}x")
        finally:
            engine.stop()


if __name__ == "__main__":
    main()
