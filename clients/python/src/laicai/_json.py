"""Exact money on the wire: frames are parsed with every non-integer number
read straight into :class:`decimal.Decimal` (never through a float), and
decimals are written as strings, which the engine reads exactly."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Union

#: What a money parameter may be given as. A ``float`` is refused: it
#: cannot hold most decimal prices exactly.
Money = Union[Decimal, int, str]


def loads(text: str | bytes) -> Any:
    """Parses a frame; ``52000.1`` becomes ``Decimal("52000.1")``."""
    return json.loads(text, parse_float=Decimal)


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """Writes a frame; decimals go as strings, digit for digit."""
    return json.dumps(value, default=_encode, separators=(",", ":"))


def money(name: str, value: Money) -> str:
    """A money parameter as the exact string sent; refuses floats and
    anything that is not a finite number."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(
            f"{name}: pass a Decimal, int or str, not {type(value).__name__} "
            "(a float cannot hold most prices exactly)"
        )
    try:
        d = Decimal(value)
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{name}: {value!r} is not a number") from None
    if not d.is_finite():
        raise ValueError(f"{name}: {value!r} is not a finite number")
    return str(d)


def decimal(value: Any) -> Decimal:
    """A number from a parsed frame as a Decimal (ints and numeric strings
    too)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, float):
        # Not produced by `loads`; kept exact to the float's shortest repr.
        return Decimal(repr(value))
    return Decimal(value)


def opt_decimal(value: Any) -> Decimal | None:
    return None if value is None else decimal(value)
