"""Cleaning rules, shown on the real seeds: furniture, pinyin artefacts, doubled slides, encodings."""

from __future__ import annotations

import pytest

from knowledge.errors import PlaybookError
from knowledge.loaders import load_document
from knowledge.normalize import clean_text, decode_bytes, index_form, is_furniture, looks_binary


def _seed(seeds_dir, prefix: str) -> str:
    path = next(seeds_dir.glob(f"{prefix}_*.txt"))
    return decode_bytes(path.read_bytes())[0]


def test_breadcrumb_and_related_topics_are_removed_from_the_web_article(seeds_dir):
    result = clean_text(_seed(seeds_dir, "000"))
    assert "当前位置" not in result.text
    assert not result.text.rstrip().endswith("相关主题")
    assert "做好客户维系与挽留工作" in result.text  # the title itself stays
    assert any("文档之家" in line for line in result.removed)


def test_download_site_furniture_is_removed_and_the_sop_body_kept(seeds_dir):
    result = clean_text(_seed(seeds_dir, "001"))
    for junk in ("_第1頁", "繼續免費閱讀", "下載本文檔", "版權說明", "提交評論", "人人文庫"):
        assert junk not in result.text, junk
    assert "客戶獲取與信息建檔" in result.text
    assert len(result.removed) >= 10


def test_pinyin_artefacts_are_stripped_but_real_parentheses_kept(seeds_dir):
    result = clean_text(_seed(seeds_dir, "001"))
    assert "(yè)" not in result.text and "企業(yè)" not in result.text
    assert "企業" in result.text
    assert "(CRM)" in clean_text("系統(tǒng)(CRM)").text
    assert clean_text("系統(tǒng)(CRM)").text == "系統(CRM)"


def test_slide_deck_doubled_phrases_are_collapsed_and_notices_removed(seeds_dir):
    raw = _seed(seeds_dir, "002")
    result = clean_text(raw)
    assert "前言前言" in raw and "前言前言" not in result.text
    assert "客户离网现状:漏斗现象(一)客户离网现状:漏斗现象(一)" not in result.text
    assert "QQ" not in result.text and "本站为" not in result.text
    assert result.collapsed_doubles > 100
    assert "5%6%7%7%" in result.text  # numbers are data, never collapsed


def test_prose_is_not_collapsed(seeds_dir):
    book = _seed(seeds_dir, "004")
    assert clean_text(book).collapsed_doubles == 0


def test_furniture_rule_keeps_ordinary_sentences():
    assert is_furniture("侵权处理QQ:3464097650--上传资料QQ:3464097650")
    assert not is_furniture("客户合约到期前三个月要提醒客户续约。")
    assert not is_furniture("下载客户清单后，按价值分层派单。")


@pytest.mark.parametrize(
    "text,encoding",
    [
        ("合约到期前三个月提醒客户续约，存费送费优先。", "gbk"),
        ("合约到期前三个月提醒客户续约，存费送费优先。", "gb18030"),
        ("合約到期前三個月提醒客戶續約，存費送費優先。", "big5"),
    ],
)
def test_legacy_chinese_encodings_are_detected(text, encoding):
    decoded, _ = decode_bytes(text.encode(encoding))
    assert decoded == text


def test_utf8_with_bom_and_binary_detection():
    assert decode_bytes("\ufeff续约".encode("utf-8"))[0] == "续约"
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    assert not looks_binary("普通文本".encode())


def test_index_form_is_simplified_and_folded_but_display_text_untouched():
    assert index_form("客戶維繫ＡＲＰＵ") == "客户维系arpu"
    assert clean_text("客戶維繫").text == "客戶維繫"


def test_front_matter_is_parsed_and_bad_front_matter_rejected():
    doc = load_document("a.md", "---\ntitle: 续约\ntopic: renewal\nlang: zh\n---\n# 续约\n正文。".encode())
    assert doc.meta == {"title": "续约", "topic": "renewal", "lang": "zh"}
    assert doc.text.startswith("# 续约")
    with pytest.raises(PlaybookError):
        load_document("b.md", b"---\ntitle: [unclosed\n---\ntext")
    with pytest.raises(PlaybookError):
        load_document("c.exe", b"MZ")
