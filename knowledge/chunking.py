"""Heading-aware chunking: split on sentence ends (。！？；), pack to a size, keep the section path."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")

# Plain-text headings found in the seeds (books, SOPs, slide extracts), with their depth.
_TEXT_HEADINGS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(r"^第[一二三四五六七八九十\d]+[篇部]")),
    (2, re.compile(r"^第[一二三四五六七八九十百\d]+章")),
    (3, re.compile(r"^第[一二三四五六七八九十百\d]+节")),
    (3, re.compile(r"^[一二三四五六七八九十]+[、.．]\S")),
    (4, re.compile(r"^[（(][一二三四五六七八九十]+[)）]\S")),
    (4, re.compile(r"^\d{1,2}\.\d{1,2}(\.\d{1,2})?\s*\S")),
    (4, re.compile(r"^(招式|方法|建议|因素|案例|步骤|要点|措施|原则)\s*[\d一二三四五六七八九十]+")),
    (4, re.compile(r"^第[一二三四五六七八九十\d]+步")),
    (5, re.compile(r"^\d{1,2}[、.．]\s*\S")),
    # An unnumbered short line of Chinese words with no punctuation: a book's subheading.
    (6, re.compile(r"^[\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9\s　“”]{3,19}$")),
]
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.])(?=\s)|\n")
_HEADING_MAX = 40


@dataclass
class Chunk:
    """A passage of a document with the heading path above it."""

    text: str
    section: list[str] = field(default_factory=list)
    ordinal: int = 0

    @property
    def section_path(self) -> str:
        """The headings joined as a citation label, e.g. "续约 > 五个区分"."""
        return " > ".join(self.section)


def _text_heading_level(line: str) -> int | None:
    """Depth of a plain-text heading line, or None for body text."""
    stripped = line.strip()
    if not stripped or len(stripped) > _HEADING_MAX:
        return None
    if stripped[-1] in "。！？；;，,：:、":
        return None
    for level, pattern in _TEXT_HEADINGS:
        if pattern.match(stripped):
            return level
    return None


def _sections(text: str, markdown: bool) -> list[tuple[list[str], str]]:
    """Split a document into (heading path, body) pairs in document order."""
    stack: list[tuple[int, str]] = []
    out: list[tuple[list[str], str]] = []
    body: list[str] = []

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined:
            out.append(([title for _, title in stack], joined))
        body.clear()

    for line in text.split("\n"):
        level: int | None
        title = line.strip()
        if markdown:
            match = _MD_HEADING.match(line)
            level, title = (len(match.group(1)), match.group(2).strip()) if match else (None, "")
        else:
            level = _text_heading_level(line)
        if level is None:
            body.append(line)
            continue
        flush()
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
    flush()
    return out


def split_sentences(text: str, max_len: int) -> list[str]:
    """Split on Chinese and Western sentence ends; over-long runs are cut at `max_len`."""
    pieces: list[str] = []
    for part in _SENTENCE_END.split(text):
        part = part.strip()
        while len(part) > max_len:
            pieces.append(part[:max_len])
            part = part[max_len:]
        if part:
            pieces.append(part)
    return pieces


# A Chinese character carries about as much as 2.5 Latin characters (one short English word is
# ~1.3 tokens): `size` is in Chinese characters, and Latin-script text gets proportionally more.
LATIN_FACTOR = 2.5


def effective_size(text: str, size: int) -> int:
    """The chunk length in characters for this text's script."""
    sample = text[:5000]
    letters = sum(1 for ch in sample if ch.isascii() and ch.isalpha())
    han = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    return int(size * LATIN_FACTOR) if letters > 3 * max(han, 1) else size


def chunk_text(
    text: str, *, markdown: bool = False, size: int = 320, overlap: int = 1, title: str | None = None
) -> list[Chunk]:
    """Chunk a cleaned document; adjacent chunks of a section share `overlap` sentences."""
    size = effective_size(text, size)
    chunks: list[Chunk] = []
    for path, body in _sections(text, markdown):
        if title and (not path or path[0] != title):
            path = [title, *path]
        sentences = split_sentences(body, size)
        current: list[str] = []
        carried = 0  # sentences at the head of `current` repeated from the previous chunk
        length = 0
        for sentence in sentences:
            if current and length + len(sentence) > size:
                chunks.append(Chunk(text=_join(current), section=list(path)))
                carry = current[-overlap:] if overlap else []
                carry = [s for s in carry if len(s) < size // 2]
                current, carried, length = list(carry), len(carry), sum(len(s) for s in carry)
            current.append(sentence)
            length += len(sentence)
        fresh = current[carried:]
        if fresh:
            tail = _join(current)
            # A tiny remainder joins the previous chunk of the same section instead of standing alone.
            if chunks and chunks[-1].section == path and len(_join(fresh)) < size // 5:
                chunks[-1].text = _join([chunks[-1].text, *fresh])
            else:
                chunks.append(Chunk(text=tail, section=list(path)))
    for ordinal, chunk in enumerate(chunks):
        chunk.ordinal = ordinal
    return chunks


def _join(sentences: list[str]) -> str:
    """Join sentences: no space between CJK sentences, one space after Western ones."""
    out = ""
    for sentence in sentences:
        if out and (out[-1].isascii() and out[-1] not in "\n") and sentence[:1].isascii():
            out += " "
        elif out and (out.endswith(("|",)) or sentence.startswith(("|", "-", "*"))):
            out += "\n"
        out += sentence
    return out
