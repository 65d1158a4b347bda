"""Phone and ID numbers: normalising, recognising and masking (for answers, prompts, logs, records).

The one place these rules live; assistant/privacy.py re-exports what the assistant and the API use.
"""

from __future__ import annotations

import re

import pandas as pd

# --- phone numbers ---------------------------------------------------------------------------

_PHONE_JUNK = re.compile(r"[\s\-().]")


def normalize_phone(text: str) -> str:
    """Digits of a mainland mobile number: strips spaces, dashes, '+86' / '0086' / '86' prefixes."""
    digits = _PHONE_JUNK.sub("", str(text))
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits


def looks_like_phone(text: str) -> bool:
    """True when `text` is an 11-digit mainland mobile number in any common formatting."""
    digits = normalize_phone(text)
    return len(digits) == 11 and digits.isdigit() and digits.startswith("1")


def mask_msisdn(msisdn: str | None) -> str | None:
    """138****5678: the first 3 and last 4 digits, the rest hidden."""
    if msisdn is None or (isinstance(msisdn, float)) or msisdn is pd.NA:
        return None
    digits = normalize_phone(msisdn)
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


_ID_CARD = re.compile(r"^(\d{17}[\dXx]|\d{15})$")


def mask_identifier(text: str) -> str:
    """Mask a lookup key for messages and logs: phone and ID-card numbers are hidden."""
    text = str(text)
    if looks_like_phone(text):
        return mask_msisdn(text) or ""
    digits = _PHONE_JUNK.sub("", text)
    if _ID_CARD.match(digits) or (digits.isdigit() and len(digits) >= 7):
        return f"{digits[:3]}{'*' * (len(digits) - 5)}{digits[-2:]}"
    return text if len(text) <= 40 else text[:37] + "..."


# --- free text ----------------------------------------------------------------------------------

# Mobile numbers with an optional +86 and separators, and 18-digit resident ID numbers.
_TEXT_PHONE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_TEXT_ID = re.compile(r"(?<![\dA-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dA-Za-z])")


def mask_free_text(text: str) -> str:
    """Mask every mobile and ID number in free text (notes, reasons, prompts, log lines; IDs first:
    they contain phone-like runs)."""
    text = _TEXT_ID.sub(lambda m: f"{m.group(1)[:3]}***********{m.group(3)[-1]}", str(text))
    return _TEXT_PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def find_phones(text: str) -> list[str]:
    """Full mobile numbers (digits only) mentioned in a text."""
    return [m.group(1) + m.group(2) + m.group(3) for m in _TEXT_PHONE.finditer(text)]


def mask_phone(number: str) -> str:
    """138****5678 for a full mobile number; anything else is returned masked to its last 4 digits."""
    digits = re.sub(r"\D", "", number)[-11:]
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    return "****" + digits[-4:] if len(digits) >= 4 else "****"
