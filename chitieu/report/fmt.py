"""Escaping and Vietnamese number formatting for the report's HTML."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal

from chitieu.local_time import in_local_time
from chitieu.vocabulary import vn_number

__all__ = ["COMPARATORS", "day_label", "esc", "num", "period_label", "quantity"]

COMPARATORS = {">": ">", ">=": "≥", "=": "=", "<=": "≤", "<": "<"}


def esc(value: object) -> str:
    """HTML-escaped text of any value (empty for None); every piece of data goes through here."""
    return "" if value is None else html.escape(str(value), quote=True)


def num(value: object, decimals: int = 2) -> str:
    """Vietnamese notation: '.' groups thousands, ',' marks decimals (1.795; 23,49); trailing zeros dropped."""
    if value is None:
        return "—"
    number = float(value) if isinstance(value, (Decimal, int, float)) else None
    if number is None:
        return esc(value)
    return vn_number(number, decimals)


def quantity(value: object, unit: str | None, decimals: int = 2) -> str:
    """A number with its unit of measure ('95,6 %', '1.812 tonnes')."""
    if value is None:
        return "—"
    return f"{num(value, decimals)} {esc(unit)}".rstrip() if unit else num(value, decimals)


def period_label(period: str | None) -> str:
    """'2026-03' -> '03/2026'; quarters and years as they are."""
    if not period:
        return "—"
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit():
        return f"{period[5:]}/{period[:4]}"
    return esc(period)


def day_label(value: dt.date | dt.datetime | None) -> str:
    """A date as dd/mm/yyyy (timestamps in Vietnam time)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = in_local_time(value)
    return value.strftime("%d/%m/%Y") if value else "—"
