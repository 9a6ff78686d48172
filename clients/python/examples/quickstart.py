"""The original SDK document's quick start, with laicai's URL and pairs
where it had stocks. `python quickstart.py [seconds]` (engine running;
LAICAI_URL overrides the URL)."""

import asyncio
import os
import sys

from laicai import QuickStartClient

URL = os.environ.get("LAICAI_URL", "ws://127.0.0.1:8000/api/stream")
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 60


async def main() -> None:
    # Create the client
    client = await QuickStartClient.create(URL)

    # Connect to the server
    if await client.connect():
        print("connected")

        # A handler for the data
        def on_price_update(data: dict) -> None:
            print(f"price update: {data['symbol']} {data['price']}")

        # Subscribe to pairs
        sub_id = await QuickStartClient.subscribe_stocks(
            client, ["BTC-USDT", "ETH-USDT"], on_price_update
        )
        print(f"subscribed: {sub_id}")

        # Run for a while
        try:
            await asyncio.sleep(SECONDS)
        finally:
            await client.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
