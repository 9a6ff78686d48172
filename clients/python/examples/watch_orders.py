"""Watches order updates for --duration seconds, printing each, then the
totals by status: the order-push watcher of the original test guide, for
laicai. `python watch_orders.py --duration 60` (LAICAI_URL, LAICAI_TOKEN)."""

import argparse
import asyncio
import os
from collections import Counter

import laicai


async def main(duration: float) -> None:
    config = laicai.ConnectionConfig(
        os.environ.get("LAICAI_URL", "ws://127.0.0.1:8000/api/stream"),
        api_key=os.environ.get("LAICAI_TOKEN"),
    )
    totals: Counter[str] = Counter()
    async with laicai.WebSocketClient(config) as client:
        print(f"watching order updates for {duration:g} s (Ctrl+C ends)", flush=True)

        async def watch() -> None:
            async for e in client.events("order_update", "resync"):
                if e.type == "resync":
                    print(f"resync: {e['reason']}", flush=True)
                    continue
                totals[e["status"]] += 1
                n = sum(totals.values())
                print(
                    f"#{n} {e['orderId']} {e['side']} {e['size']} {e['symbol']} "
                    f"@ {e['price']} {e['status']} filled {e['filled']}",
                    flush=True,
                )

        try:
            await asyncio.wait_for(watch(), duration)
        except asyncio.TimeoutError:
            pass
        stats = await client.get_stats()
    print("totals by status:", flush=True)
    for status, n in sorted(totals.items()):
        print(f"  {status:<18} {n}", flush=True)
    print(f"  {'all':<18} {sum(totals.values())}", flush=True)
    print(f"reconnects {stats['reconnect_count']}, errors {stats['errors']}", flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--duration", type=float, default=60)
    try:
        asyncio.run(main(p.parse_args().duration))
    except KeyboardInterrupt:
        pass
