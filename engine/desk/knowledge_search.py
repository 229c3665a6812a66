"""Chinese words for the knowledge-base search: jieba splits text into the tokens both databases index.

Neither SQLite's FTS5 nor PostgreSQL's text search splits Chinese into words, and trigrams cannot find
the many two-character words (卡纸, 端口, 死锁); bench/kb_engines.py measured the choice (docs/knowledge.md).
The same tokens go into both backends, so a search finds the same solutions on either.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

import jieba

# Words that say nothing about the fault: searches are full of them (怎么办, 如何解决, 今天早上) and so are
# write-ups; matching them only made every search rank thousands of solutions more.
STOPWORDS = frozenset("""
的 了 和 与 及 或 在 是 有 也 都 就 把 被 对 将 后 时 中 上 下 个 为 以 等 这 那 其 之
怎么 怎么办 怎样 如何 什么 为什么 处理 处理方法 方法 解决 解决办法 求助 请问 一下 问题 情况 出现 发现
今天 早上 上午 中午 下午 晚上 昨天 昨晚 刚才 刚刚 一直 突然 之后 以后 开始 起
""".split())
_WORD = re.compile(r"\w", re.UNICODE)
_lock = threading.Lock()
_ready = False


def _segmenter() -> jieba.Tokenizer:
    """jieba's default tokenizer, loaded once per process (about a second: it builds its dictionary)."""
    global _ready
    if not _ready:
        with _lock:
            if not _ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _ready = True
    return jieba.dt


def tokens(text: str) -> list[str]:
    """Index tokens of `text`: jieba's search-engine cut (交换机 also gives 交换), lower-cased, without
    punctuation and stopwords; repeated words are kept, so ranking can count them."""
    if not text:
        return []
    return [word for word in (w.strip().lower() for w in _segmenter().cut_for_search(text))
            if word and _WORD.search(word) and word not in STOPWORDS]


def query_terms(text: str) -> list[str]:
    """The distinct words of a search, in the order typed: jieba's accurate cut (数据库, not also 数据 and 据库),
    which the index holds too; fewer words to match made searches faster and, measured, no worse."""
    if not text:
        return []
    words = (w.strip().lower() for w in _segmenter().cut(text))
    return list(dict.fromkeys(w for w in words if w and _WORD.search(w) and w not in STOPWORDS))


def document(parts: Iterable[str | None]) -> str:
    """The indexed text of a solution: its tokens joined by spaces (what FTS5 and tsvector read)."""
    return " ".join(word for part in parts if part for word in tokens(part))
