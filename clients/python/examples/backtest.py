"""Runs a backtest of the pmm strategy over the shipped sample day of
trades, printing its progress, then its result. `python backtest.py`
(engine running from the repository, so `data/sample` is its data)."""

import asyncio
import os

import laicai


async def main() -> None:
    config = laicai.ConnectionConfig(
        os.environ.get("LAICAI_URL", "ws://127.0.0.1:8000/api/stream"),
        api_key=os.environ.get("LAICAI_TOKEN"),
    )
    async with laicai.WebSocketClient(config) as client:
        bt = await client.start_backtest(
            "pmm",
            "BTC-USDT",
            "sample/BTCUSDT-trades-2025-01-01.csv.gz",
            {"bid_spread": "0.05", "ask_spread": "0.05", "order_amount": "0.01"},
            fee={"maker": "0.0002", "taker": "0.0005"},
        )
        print(f"backtest {bt} queued", flush=True)
        async for p in client.backtest_progress(bt):
            print(f"  {p.progress * 100:5.1f} %  {p.current_date}", flush=True)
        result = await client.backtest_result(bt)
        if result.report is None:
            raise SystemExit(f"backtest {result.status}: {result.error}")
        r = result.report
        print(f"status   {result.status}")
        print(f"PnL      {r['pnl']} {r['currency']}  ({r['return_pct']} %)")
        print(f"vs hold  {r['vs_buy_and_hold']} {r['currency']}")
        print(f"trades   {r['trades']}  win rate {r['win_rate']} %  fees {r['fees']}")
        print(f"drawdown {r['max_drawdown_pct']} %  Sharpe {r['sharpe']}")


if __name__ == "__main__":
    asyncio.run(main())
