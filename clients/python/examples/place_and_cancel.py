"""Places a limit buy far below the market, prints its events, cancels it.
`python place_and_cancel.py` (engine running; LAICAI_URL, LAICAI_TOKEN)."""

import asyncio
import os
from decimal import Decimal

import laicai


async def main() -> None:
    config = laicai.ConnectionConfig(
        os.environ.get("LAICAI_URL", "ws://127.0.0.1:8000/api/stream"),
        api_key=os.environ.get("LAICAI_TOKEN"),
    )
    async with laicai.WebSocketClient(config) as client:
        client.add_message_handler(
            "order_update", lambda o: print(f"event: {o['orderId']} {o['status']}", flush=True)
        )
        book = await client.get_order_book("BTC-USDT", depth=1)
        price = (book.bids[0][0] * Decimal("0.6")).quantize(Decimal("0.01"))
        order = await client.place_order("BTC-USDT", "buy", Decimal("0.001"), price)
        print(f"placed {order.order_id} {order.size} @ {order.price} ({order.status})", flush=True)
        await client.cancel_order(order.order_id)
        print(f"cancelled {order.order_id}", flush=True)
        await asyncio.sleep(0.3)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except laicai.CommandError as e:
        raise SystemExit(f"refused: {e}")
