"""Masking of phone and ID numbers before text reaches an LLM or a log line."""

from __future__ import annotations

import re

# Mainland mobile numbers (optionally +86 / 86 and separators) and 18-digit resident ID numbers.
_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![\dA-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dA-Za-z])")


def mask_phone(number: str) -> str:
    """138****5678 for a full mobile number; anything else is returned masked to its last 4 digits."""
    digits = re.sub(r"\D", "", number)[-11:]
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" + digits[-4:] if len(digits) >= 4 else "****"


def mask_text(text: str) -> str:
    """Mask every mobile and ID number in free text (IDs first: they contain phone-like runs)."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)[:3]}***********{m.group(3)[-1]}", text)
    return _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def find_phones(text: str) -> list[str]:
    """Full mobile numbers (digits only) mentioned in a text."""
    return [m.group(1) + m.group(2) + m.group(3) for m in _PHONE.finditer(text)]
