"""Chinese-aware lexical index: jieba words + character bigrams, scored with BM25 (bm25s), persisted."""

from __future__ import annotations

import json
import logging
import re
import shutil
import threading
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

log = logging.getLogger(__name__)

_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
_LATIN = re.compile(r"[a-z][a-z0-9\-]*[a-z0-9]|[a-z]|\d+(?:\.\d+)?%?")
_STOP_ZH = set("的 了 是 在 和 与 及 或 等 也 就 都 而 被 把 对 从 到 为 以 之 其 这 那 有 个 我 你 他 她 它 们 吗 呢 吧 啊 要 会 能 可 该 怎么 什么 如何 多少 哪些 一个 没有 可以 应该 进行 如果 因为 所以 还是 时候".split())
_STOP_EN = set(
    "a an the of to in on at for by with and or is are was were be been being do does did how what "
    "which who whom when where why can could should would will shall may might i we you he she it "
    "they my our your his her its their this that these those there here as if than then so not no "
    "about into from up out any some all me us them get got".split()
)


TOKEN_CACHE_SIZE = 20_000


class Tokenizer:
    """Tokens for BM25 from the index form of a text (simplified, lower-case)."""

    def __init__(self, user_words: Iterable[str] = (), bigrams: bool = False):
        self._user_words = sorted({w for w in user_words if w and _HAN_RUN.fullmatch(w)})
        self.bigrams = bigrams
        self._jieba = None
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, ...]] = {}  # text -> tokens (bounded; cleared when full)

    def _segmenter(self):  # type: ignore[no-untyped-def]
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    for word in self._user_words:
                        tokenizer.add_word(word, freq=20000)
                    self._jieba = tokenizer
        return self._jieba

    def tokens(self, text: str) -> list[str]:
        """Words (jieba search mode), optional Han bigrams (prefixed '~') and Latin words.

        Recent texts are remembered: answers tokenise the same passages' sentences again and again.
        """
        cached = self._cache.get(text)
        if cached is None:
            cached = tuple(self._tokens(text))
            if len(self._cache) >= TOKEN_CACHE_SIZE:
                self._cache.clear()
            self._cache[text] = cached
        return list(cached)

    def _tokens(self, text: str) -> list[str]:
        out: list[str] = []
        segmenter = self._segmenter()
        for run in _HAN_RUN.findall(text):
            out.extend(w for w in segmenter.lcut_for_search(run) if w not in _STOP_ZH)
            if self.bigrams and len(run) > 2:
                out.extend("~" + run[i : i + 2] for i in range(len(run) - 1))
        for word in _LATIN.findall(text):
            if word in _STOP_EN:
                continue
            if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
                word = word[:-1]
            out.append(word)
        return out


class LexicalIndex:
    """BM25 over chunk tokens; saved next to the manifest and rebuilt when the manifest changes."""

    def __init__(self, directory: Path, tokenizer: Tokenizer):
        self.directory = directory
        self.tokenizer = tokenizer
        self.ids: list[str] = []
        self.version: int | None = None
        self._bm25 = None

    def build(self, ids: Sequence[str], texts: Sequence[str], version: int) -> None:
        """Index `texts` (index forms) under `ids` and persist the result."""
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG on import

        tokens = [self.tokenizer.tokens(t) or ["<empty>"] for t in texts]
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        if tokens:
            bm25.index(tokens, show_progress=False)
        self._bm25 = bm25 if tokens else None
        self.ids = list(ids)
        self.version = version
        self._save()

    def _save(self) -> None:
        tmp = self.directory.with_name(self.directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"), allow_pickle=False)
        (tmp / "ids.json").write_text(
            json.dumps({"version": self.version, "ids": self.ids}), encoding="utf-8"
        )
        shutil.rmtree(self.directory, ignore_errors=True)
        tmp.rename(self.directory)

    def load(self) -> bool:
        """Load the persisted index; False if there is none or it is unreadable."""
        import bm25s

        meta = self.directory / "ids.json"
        if not meta.exists():
            return False
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            self.ids, self.version = list(data["ids"]), int(data["version"])
            bm25_dir = self.directory / "bm25"
            self._bm25 = bm25s.BM25.load(str(bm25_dir), allow_pickle=False) if bm25_dir.exists() else None
        except Exception as exc:  # a damaged index is rebuilt from the manifest, never trusted
            log.warning("lexical index unreadable (%s); it will be rebuilt", exc)
            self.ids, self.version, self._bm25 = [], None, None
            return False
        return True

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every indexed chunk for the query tokens (zeros if none match)."""
        if self._bm25 is None or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        known = [t for t in query_tokens if t in self._bm25.vocab_dict]
        if not known:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)
