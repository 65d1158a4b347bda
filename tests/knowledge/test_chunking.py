"""Heading-aware chunking keeps the section path and respects the size."""

from __future__ import annotations

from knowledge.chunking import chunk_text, split_sentences
from knowledge.normalize import clean_text, decode_bytes

MD = """# 到期续约
## 五个区分
### 按价值区分
高端高危客户提前3至6个月联系。先推存费送费，再推话补续约，最后机补续约。中端高危客户提前1至3个月。
### 按网龄区分
网龄5年以上的客户回馈力度最大。
## 执行节奏
到期前一个月上半月发短信提醒。
"""


def test_markdown_sections_become_the_heading_path():
    chunks = chunk_text(MD, markdown=True, size=200)
    paths = [c.section_path for c in chunks]
    assert "到期续约 > 五个区分 > 按价值区分" in paths
    assert "到期续约 > 执行节奏" in paths
    value = next(c for c in chunks if c.section_path.endswith("按价值区分"))
    assert "存费送费" in value.text


def test_chunks_respect_size_and_overlap_one_sentence():
    body = "。".join(f"第{i}句讲的是续约和挽留的一个具体做法" for i in range(40)) + "。"
    chunks = chunk_text(body, size=120, overlap=1)
    assert len(chunks) > 5
    assert all(len(c.text) <= 120 + 40 for c in chunks)
    first_last = split_sentences(chunks[0].text, 999)[-1]
    assert chunks[1].text.startswith(first_last)


def test_long_unpunctuated_runs_are_cut():
    assert max(len(s) for s in split_sentences("字" * 1000, 300)) == 300


def test_book_subheadings_are_found_in_the_seed(seeds_dir):
    path = next(seeds_dir.glob("004_*.txt"))
    text = clean_text(decode_bytes(path.read_bytes())[0]).text
    chunks = chunk_text(text, size=320)
    sections = {c.section_path for c in chunks}
    assert any("建议1\u3000区分客户价值" in s for s in sections)
    assert any("第四篇 实战篇" in s for s in sections)
