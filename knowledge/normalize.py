"""Text clean-up for scraped playbooks: encodings, page furniture, pinyin artefacts, doubled slides.

Two forms of every text exist. The *display* form is the original with junk removed (what users
read and what citations quote). The *index* form is simplified Chinese, NFKC-folded and lower-cased,
used only for matching; it is never shown.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field

from knowledge.errors import PlaybookError

# --- encodings -----------------------------------------------------------------------------

_CANDIDATE_ENCODINGS = ("gb18030", "big5")


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM) first, then GB18030/GBK or Big5."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    best: tuple[float, str, str] | None = None
    for encoding in _CANDIDATE_ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        if best is None or score > best[0]:
            best = (score, text, encoding)
    if best is not None:
        return best[1], best[2]
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None:
        raise PlaybookError("cannot detect the text encoding (tried UTF-8, GB18030, Big5)")
    return str(match), match.encoding


# The most frequent characters of Chinese prose, in both scripts: a correct decoding has many.
_COMMON = set("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严龙飞客户网费务")


def _plausibility(text: str) -> float:
    """Share of common Chinese characters among the Han characters (higher is more plausible)."""
    han = [ch for ch in text[:20000] if "\u4e00" <= ch <= "\u9fff"]
    if not han:
        return 0.0
    traditional_common = set("們這個國時來說會過對後發經進們與點學實現開無關")
    hits = sum(1 for ch in han if ch in _COMMON or ch in traditional_common)
    return hits / len(han)


def looks_binary(data: bytes) -> bool:
    """True when the bytes are evidently not text (NUL bytes or mostly control characters)."""
    head = data[:8192]
    if b"\x00" in head:
        return True
    if not head:
        return False
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls / len(head) > 0.05


# --- traditional -> simplified and the index form -------------------------------------------

_converter = None
_converter_lock = threading.Lock()


def to_simplified(text: str) -> str:
    """Convert traditional Chinese to simplified (OpenCC t2s); other text passes through."""
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                import opencc

                _converter = opencc.OpenCC("t2s")
    return _converter.convert(text)


def index_form(text: str) -> str:
    """The form used for matching only: simplified, NFKC (full-width to half-width), lower case."""
    return unicodedata.normalize("NFKC", to_simplified(text)).lower()


# --- junk removal ---------------------------------------------------------------------------

# Pinyin glued after a character by some scrapers: 企業(yè), 規(guī). Needs a tone mark, so "(ARPU)"
# or "(一)" are kept.
_PINYIN = re.compile(
    r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)"
)

# Page furniture, matched on the index form of a line. Each rule is shown on the seeds in tests.
_FURNITURE_LINE = [
    re.compile(r"^当前位置\s*[:：]"),  # breadcrumb of a document site
    re.compile(r"^(相关主题|相关文档|相关推荐|猜你喜欢|热门推荐|文档简介|温馨提示|评论|提交评论|下载本文档|立即下载)\s*$"),
    re.compile(r"_第\s*\d+\s*页\s*$"),  # page thumbnails "标题_第3頁"
    re.compile(r"^已阅读\s*\d+\s*页"),  # "read 5 pages, 3 left, continue reading free"
    re.compile(r"^\d+\s*/\s*\d+\s*$"),  # comment-box counters "0/150"
    re.compile(r"^版权说明\s*[:：]"),
    re.compile(r"^【?声明】?\s*本站"),
    re.compile(r"侵权处理\s*qq|上传资料\s*qq|qq\s*[:：]\s*\d{5,}"),
    re.compile(r"^\s*[•·]?\s*\d+\s*[.、．]\s*(本站|下载文件|人人文库|网页内容|若没有|如果需要附件)"),
]
_SITE_WORDS = ("本站", "侵权", "下载", "版权", "上传", "文库", "免费阅读", "会员", "举报", "认领")


@dataclass
class CleanResult:
    """A cleaned document and the lines removed from it (kept for the ingest report and tests)."""

    text: str
    removed: list[str] = field(default_factory=list)
    collapsed_doubles: int = 0


def is_furniture(line: str) -> bool:
    """True for a line that belongs to the page around the document, not to the document."""
    probe = index_form(line.strip())
    if not probe:
        return False
    if any(rule.search(probe) for rule in _FURNITURE_LINE):
        return True
    # A short line naming two or more site-notice words ("本站…下载…侵权") is an ad or notice block.
    hits = sum(1 for word in _SITE_WORDS if word in probe)
    return len(probe) <= 200 and hits >= 2


def strip_pinyin(text: str) -> str:
    """Remove scraper pinyin artefacts such as 企業(yè) -> 企業."""
    return _PINYIN.sub("", text)


_DOUBLE = re.compile(r"([^\n]{2,80}?)\1")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def collapse_doubles(text: str) -> tuple[str, int]:
    """Collapse phrases that a slide extractor printed twice in a row ("前言前言" -> "前言")."""
    count = 0

    def _one(match: re.Match[str]) -> str:
        nonlocal count
        unit = match.group(1)
        if len(_HAN.findall(unit)) < 2:  # "7%7%" or "1111" are data, not doubling
            return match.group(0)
        count += 1
        return unit

    return _DOUBLE.sub(_one, text), count


def _doubled_share(text: str) -> float:
    """Share of characters that sit inside immediately repeated phrases of 4+ characters."""
    sample = text[:30000]
    if not sample:
        return 0.0
    doubled = sum(len(m.group(0)) for m in re.finditer(r"([^\s\d]{4,60}?)\1", sample))
    return doubled / len(sample)


def clean_text(text: str) -> CleanResult:
    """Remove page furniture, pinyin artefacts and (in slide extracts) doubled phrases."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = strip_pinyin(text)
    kept: list[str] = []
    removed: list[str] = []
    for line in text.split("\n"):
        if is_furniture(line):
            removed.append(line.strip())
        else:
            kept.append(line.rstrip())
    cleaned = "\n".join(kept)
    collapsed = 0
    # Only slide extracts double most of their phrases; prose is left alone.
    if _doubled_share(cleaned) > 0.15:
        cleaned, collapsed = collapse_doubles(cleaned)
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned).strip()
    return CleanResult(text=cleaned, removed=removed, collapsed_doubles=collapsed)
