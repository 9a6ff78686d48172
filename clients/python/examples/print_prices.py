"""Prints every price of a pair as it comes, exact to the digit.
`python print_prices.py [PAIR] [--duration S]` (engine running; LAICAI_URL
and LAICAI_TOKEN override the URL and give a token)."""

import argparse
import asyncio
import os

import laicai


async def main(pair: str, duration: float) -> None:
    config = laicai.ConnectionConfig(
        os.environ.get("LAICAI_URL", "ws://127.0.0.1:8000/api/stream"),
        api_key=os.environ.get("LAICAI_TOKEN"),
    )
    async with laicai.WebSocketClient(config) as client:
        async def show() -> None:
            async for e in client.events("price", symbol=pair):
                print(f"{e['symbol']} {e['price']} bid {e['bid']} ask {e['ask']}", flush=True)

        try:
            await asyncio.wait_for(show(), duration)
        except asyncio.TimeoutError:
            pass


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("pair", nargs="?", default="BTC-USDT")
    p.add_argument("--duration", type=float, default=3600)
    args = p.parse_args()
    asyncio.run(main(args.pair, args.duration))
