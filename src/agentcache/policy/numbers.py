"""Header numbers: only ASCII digits count ("²".isdigit() is True, and int("²") raises)."""

from __future__ import annotations


def is_decimal(text: str) -> bool:
    return text.isascii() and text.isdigit()
