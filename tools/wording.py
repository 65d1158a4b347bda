"""Small English wording rules shared by the explanation texts."""

from __future__ import annotations

import re

# a count of exactly one before its unit: "1 months" -> "1 month", "1 calls forwarded" -> "1 call forwarded"
_ONE = re.compile(r"((?<![\d.])-?1 (?:\w+ )?)(months|days|suspensions|calls|minutes|lines|"
                  r"voicemail messages|loyalty points|complaints|times)\b")


def singular_after_one(text: str) -> str:
    """English text with a plural unit after the number 1 made singular."""
    return _ONE.sub(lambda m: m.group(1) + m.group(2).removesuffix("s"), text)
