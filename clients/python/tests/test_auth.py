"""Tokens: in the header or the subprotocol; a wrong one raises at once; an
address that keeps failing is told to wait (429); a scope is enforced."""

from __future__ import annotations

from typing import Any

import pytest

import laicai
from laicai import ConnectionConfig, WebSocketClient

TOKENS = """auth_failures_per_minute = 3
auth_block_s = 60
[[server.tokens]]
token = "admin-token-0123456789"
scope = "admin"
[[server.tokens]]
token = "read-token-0123456789"
scope = "read"
"""


async def test_tokens_open_the_door_and_wrong_ones_raise(make_engine: Any) -> None:
    engine = make_engine(server_extra=TOKENS)
    for in_subprotocol in (False, True):
        config = ConnectionConfig(engine.url, api_key="admin-token-0123456789", token_in_subprotocol=in_subprotocol)
        async with WebSocketClient(config) as c:
            assert (await c.get_session())["scope"] == "admin"
    async with WebSocketClient(ConnectionConfig(engine.url, api_key="read-token-0123456789")) as c:
        assert await c.get_balances()
        with pytest.raises(laicai.CommandError) as e:
            await c.place_order("BTC-USDT", "buy", "0.001", "30000")
        assert e.value.code == "forbidden"
    for api_key in (None, "wrong-token"):
        c = WebSocketClient(ConnectionConfig(engine.url, api_key=api_key))
        with pytest.raises(laicai.AuthenticationError) as auth:
            await c.connect()
        assert auth.value.status == 401 and "token" in str(auth.value)
        assert c.state is laicai.ConnectionState.ERROR
    # Past three failures a minute this address is refused 429, then even
    # with a good token.
    refusals = []
    for _ in range(6):
        c = WebSocketClient(ConnectionConfig(engine.url, api_key="wrong-again"))
        with pytest.raises((laicai.AuthenticationError, laicai.RateLimitedError)) as failed:
            await c.connect()
        refusals.append(failed.value.status)
    assert refusals[-1] == 429 and 401 in refusals, refusals
    good = WebSocketClient(ConnectionConfig(engine.url, api_key="admin-token-0123456789"))
    with pytest.raises(laicai.RateLimitedError) as limited:
        await good.connect()
    assert limited.value.status == 429


async def test_an_engine_that_is_not_there_answers_false(engine: Any) -> None:
    engine.stop()
    c = WebSocketClient(ConnectionConfig(engine.url, timeout=2))
    assert await c.connect() is False
    assert isinstance(c.last_error, laicai.ConnectError)
    with pytest.raises(laicai.NotConnectedError):
        await c.get_balances()
