"""Masking of phone and ID numbers before text reaches an LLM or a log line (rules in tools/masking.py)."""

from __future__ import annotations

from tools.masking import find_phones, mask_free_text as mask_text, mask_phone

__all__ = ["find_phones", "mask_phone", "mask_text"]
