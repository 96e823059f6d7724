"""Chinese text handling for retrieval: normalisation, jieba words, synonyms, character and pinyin n-grams.

Call `init()` once at start-up: jieba loads its dictionary in about a second and that first load is not
thread-safe. Every function here calls `init()` itself as a fallback, so a forgotten call costs only time.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import unicodedata
from pathlib import Path

import jieba

DATA_DIR = Path(__file__).parent / "data"
USERDICT = DATA_DIR / "userdict.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"
STOPWORDS = DATA_DIR / "stopwords.txt"

_lock = threading.Lock()
_ready = False
_tokenizer: jieba.Tokenizer | None = None
_synonyms: dict[str, str] = {}
_stopwords: frozenset[str] = frozenset()
_pinyin: dict[str, str] = {}

_NON_WORD = re.compile(r"[^\w]+")  # punctuation and spaces; \w keeps CJK, latin letters and digits
_HAN = re.compile(r"[\u4e00-\u9fff]")
# Fuzzy pinyin: initials and finals that voice input and southern accents confuse.
_FUZZY = [(re.compile(r"^(z|c|s)h"), r"\1"), (re.compile(r"^l"), "n"), (re.compile(r"(a|e|i)ng$"), r"\1n")]


_INTENTS = [
    ("#what", re.compile(r"什么是|是什么|是啥|啥是|是个啥|干啥的|干什么的|做什么的|啥意思|什么意思|含义|是指|指的是|是哪")),
    ("#amount", re.compile(r"多少|几个|几岁|几级|几天|几年|几成|比例|百分之|标准|额度|金额|最高|最低")),
    ("#condition", re.compile(r"条件|资格|要求|符合|哪些人|谁能|谁可以|够不够|算不算|能不能.{0,6}(领|享受|申请|办)")),
    ("#procedure", re.compile(r"(怎么|如何|咋|怎样|去哪|在哪|哪里).{0,4}(办|申请|申领|领|弄|报|交|缴|提取|补|查|挂失|获取|参加)|流程|手续|程序")),
    ("#material", re.compile(r"材料|资料|带什么|带啥|提供什么|提交什么|提供哪些|提交哪些")),
    ("#time", re.compile(r"多久|多长时间|什么时候|啥时候|何时|期限|几号|时间|几天|有效期|哪年")),
]


def _read_lines(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _strip_tone(syllable: str) -> str:
    plain = unicodedata.normalize("NFKD", syllable)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).replace("ü", "v")
    for pattern, repl in _FUZZY:
        plain = pattern.sub(repl, plain)
    return plain


def init() -> None:
    """Load jieba, the domain dictionary, synonyms, stop words and the pinyin table (once, thread-safe)."""
    global _ready, _tokenizer, _synonyms, _stopwords, _pinyin
    if _ready:
        return
    with _lock:
        if _ready:
            return
        jieba.setLogLevel(logging.WARNING)  # its "Building prefix dict" chatter goes to stderr otherwise
        tok = jieba.Tokenizer()
        tok.initialize()
        tok.load_userdict(str(USERDICT))
        synonyms: dict[str, str] = {}
        for line in _read_lines(SYNONYMS):
            words = [normalize(w) for w in line.split("/") if w.strip()]
            for word in words:
                synonyms.setdefault(word, words[0])
                if len(word) > 1 and not tok.FREQ.get(word):
                    tok.add_word(word)
        _tokenizer = tok
        _synonyms = synonyms
        _stopwords = frozenset(normalize(w) for w in _read_lines(STOPWORDS))
        from pypinyin.pinyin_dict import pinyin_dict  # imported here so start-up cost is all in init()

        # First reading of every character; the same character always maps the same way.
        _pinyin = {chr(cp): _strip_tone(readings.split(",")[0]) for cp, readings in pinyin_dict.items()}
        _ready = True


def normalize(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, punctuation and runs of space to one space."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_WORD.sub(" ", text.replace("_", " ")).strip()


def words(text: str) -> list[str]:
    """Words of `text` for indexing and querying: jieba words plus the dictionary words inside long ones,
    synonyms folded, stop words dropped, and pseudo-words for the kind of answer asked for (see `intents`)."""
    init()
    assert _tokenizer is not None
    out = []
    for word in _tokenizer.cut(normalize(text), HMM=False):
        if word == " " or word in _stopwords:
            continue
        out.append(sys.intern(_synonyms.get(word, word)))  # interned: indexes hold millions of tokens
        out.extend(sys.intern(_synonyms.get(sub, sub)) for sub in _known_parts(word))
    out.extend(intents(text))
    return out


def terms(text: str) -> list[str]:
    """The words of free text as written (jieba, stop words and single characters dropped): for showing
    what people wrote most, where `words`' synonym folding and pseudo-words would mislead."""
    init()
    assert _tokenizer is not None
    return [w for w in _tokenizer.cut(normalize(text), HMM=True) if len(w.strip()) > 1 and w not in _stopwords]


def single_word(text: str) -> str | None:
    """The one word (synonyms folded) that the whole of `text` is, as `公积金` or `个税`; None for anything more."""
    init()
    assert _tokenizer is not None
    cut = [w for w in _tokenizer.cut(normalize(text), HMM=False) if w != " " and w not in _stopwords]
    if len(cut) != 1 or intents(text):
        return None
    return _synonyms.get(cut[0], cut[0])


def _known_parts(word: str) -> list[str]:
    """Dictionary words inside a long word (as jieba's search mode), so 失业保险金 also matches 失业保险."""
    assert _tokenizer is not None
    if len(word) < 3:
        return []
    parts = []
    for size in (2, 3):
        for i in range(len(word) - size + 1):
            sub = word[i : i + size]
            if sub != word and _tokenizer.FREQ.get(sub) and sub not in _stopwords:
                parts.append(sub)
    return parts


def intents(text: str) -> list[str]:
    """Pseudo-words for what kind of answer a question wants (definition, amount, conditions, procedure...)."""
    norm = normalize(text)
    return [name for name, pattern in _INTENTS if pattern.search(norm)]


def char_bigrams(text: str) -> list[str]:
    """Overlapping character pairs within each run of text: robust to segmentation and one-character typos."""
    out = []
    for chunk in normalize(text).split():
        out.extend(sys.intern(chunk[i : i + 2]) for i in range(len(chunk) - 1))
    return out


def char_ngrams(text: str) -> list[str]:
    """Single characters and overlapping character pairs within each run of text (for policies.retrieval's
    character BM25)."""
    out = []
    for chunk in normalize(text).split():
        out.extend(sys.intern(c) for c in chunk)
        out.extend(sys.intern(chunk[i : i + 2]) for i in range(len(chunk) - 1))
    return out


def pinyin_bigrams(text: str) -> list[str]:
    """Pairs of toneless, fuzzy pinyin syllables of consecutive Chinese characters: catches homophone typos."""
    init()
    out = []
    for chunk in normalize(text).split():
        sylls = [_pinyin.get(c, c) for c in chunk if _HAN.match(c)]
        out.extend(sys.intern(f"{a}_{b}") for a, b in zip(sylls, sylls[1:]))
    return out
