"""Corpus ingestion: read .txt/.md/.json/.jsonl/.html files into Articles, reporting bad input."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.errors import CorpusError
from rag.progress import Reporter, task

SUPPORTED = (".txt", ".md", ".json", ".jsonl", ".html", ".htm")
BODY_KEYS = ("body", "text", "content")
MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}


@dataclass(frozen=True)
class Article:
    """One news article: its body text plus the metadata that says where it came from."""

    id: str
    title: str
    text: str  # body paragraphs joined by blank lines; chunk offsets point into this
    source: str  # the file it was read from
    date: str | None = None  # ISO date or month ("2026-01"), where known
    lines: tuple[int, int] | None = None  # 1-based first and last line in the file, for text files
    publisher: str | None = None  # the outlet, e.g. "Reuters"
    author: str | None = None
    url: str | None = None
    category: str | None = None
    related: tuple[str, ...] = ()  # headlines of linked articles ("Read more"), never indexed as text

    @property
    def content_hash(self) -> str:
        """Hash of everything that is embedded or shown, so an edit anywhere re-embeds the article."""
        data = json.dumps([self.title, self.text, self.date, self.publisher, self.author, self.url,
                           self.category], ensure_ascii=False)
        return hashlib.sha256(data.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready record."""
        return {
            "id": self.id, "title": self.title, "text": self.text, "source": self.source,
            "date": self.date, "lines": list(self.lines) if self.lines else None,
            "publisher": self.publisher, "author": self.author, "url": self.url,
            "category": self.category, "related": list(self.related),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Inverse of to_dict."""
        data = dict(data)
        data["lines"] = tuple(data["lines"]) if data.get("lines") else None
        data["related"] = tuple(data.get("related") or ())
        return cls(**data)


@dataclass(frozen=True)
class Problem:
    """A piece of input that was skipped, with where it is and what to do about it."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


@dataclass
class Corpus:
    """The articles read from a file or folder, and the problems met on the way."""

    root: str
    articles: list[Article] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def load_corpus(path: str | Path, report: Reporter | None = None) -> Corpus:
    """Read every supported file under ``path`` (a file or a folder, recursive) into a Corpus.

    Unreadable files and records are reported in ``Corpus.problems`` and skipped. Raises CorpusError
    when the path does not exist or nothing at all could be read. ``report`` receives progress.
    """
    root = Path(path)
    if not root.exists():
        raise CorpusError(f"{root}: no such file or folder", "give the path of your articles")
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    files = [p for p in files if not any(part.startswith(".") for part in p.relative_to(root).parts)] \
        if root.is_dir() else files
    corpus = Corpus(root=str(root))
    if not files:
        raise CorpusError(f"{root}: the folder is empty", "put .txt, .md, .json, .jsonl or .html articles in it")
    with task(report, "read", f"Reading {len(files)} files of {root}", len(files)) as advance:
        for file in files:
            advance(1)
            if file.suffix.lower() not in SUPPORTED:
                corpus.problems.append(Problem(str(file), None, f"unsupported file type {file.suffix!r}, "
                                               f"skipped (supported: {' '.join(SUPPORTED)})"))
                continue
            corpus.articles.extend(_read_file(file, corpus.problems))
    if not corpus.articles:
        details = "; ".join(str(p) for p in corpus.problems[:5]) or "no articles found"
        raise CorpusError(f"{root}: nothing could be indexed ({details})",
                          "give a corpus with at least one readable article")
    _make_ids_unique(corpus.articles)
    return corpus


def _read_file(file: Path, problems: list[Problem]) -> list[Article]:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        problems.append(Problem(str(file), None, f"cannot be read ({exc.strerror or exc}), skipped. Fix: check "
                                "its permissions"))
        return []
    if not raw.strip():
        problems.append(Problem(str(file), None, "empty file, skipped"))
        return []
    if b"\x00" in raw[:8192]:
        problems.append(Problem(str(file), None, "binary file, skipped (expected UTF-8 text)"))
        return []
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(str(file), line, f"not UTF-8 (byte {exc.start}), skipped. Fix: "
                                "re-save the file as UTF-8"))
        return []
    suffix = file.suffix.lower()
    if suffix in (".json", ".jsonl"):
        return list(_read_records(file, text, suffix == ".jsonl", problems))
    if suffix in (".html", ".htm"):
        return _read_html(file, text, problems)
    return split_articles(text, str(file), markdown=suffix == ".md")


# --- plain text and markdown -------------------------------------------------------------------

_HEADER = re.compile(r"^(month|date|source|publisher|author|category|url)\s*:\s*(.+)$", re.I)
_READ_MORE_LINE = re.compile(r"^read more\s*:\s*(.+)$", re.I)
_SENTENCE_END = re.compile(r"""[.!?…]['"’”)\]]*$""")


@dataclass
class _Draft:
    title: str
    title_line: int
    paragraphs: list[tuple[int, int, str]] = field(default_factory=list)  # first, last line, text
    related: list[str] = field(default_factory=list)


def split_articles(text: str, source: str, markdown: bool = False, min_lede_words: int = 10) -> list[Article]:
    """Split a text file holding one or many articles into Articles.

    The layout understood: optional ``Key: value`` header lines, back to back or apart
    (``Month: January 2026`` dates every article), then the first article's title; each further
    article starts with a one-line lede (a line that is not a sentence, at least
    ``min_lede_words`` words) after the previous article's last paragraph. Shorter non-sentence
    lines are section subheadings and stay in their article. ``Read more`` blocks (the line, a
    caption, a headline) and ``READ MORE: headline`` lines are links to other articles: their
    headlines go to ``related``, never to the text. In markdown, ``# Title`` lines start articles.
    """
    meta: dict[str, str] = {}
    paragraphs = list(_paragraphs(text))
    while paragraphs:  # header lines, alone or back to back, until the first line that is not one
        first, last, para = paragraphs[0]
        lines = para.splitlines()
        headers = list(itertools.takewhile(bool, map(_HEADER.match, lines)))
        for match in headers:
            meta[match.group(1).lower()] = match.group(2).strip()
        if len(headers) < len(lines):
            if headers:
                paragraphs[0] = (first + len(headers), last, "\n".join(lines[len(headers):]))
            break
        paragraphs.pop(0)
    date = _parse_date(meta.get("date") or meta.get("month"))
    drafts: list[_Draft] = []
    i = 0
    while i < len(paragraphs):
        first, last, para = paragraphs[i]
        i += 1
        if para.strip().lower() == "read more":
            if i < len(paragraphs) and drafts:
                drafts[-1].related.append(paragraphs[i][2].splitlines()[-1].strip())
            i += 1  # the caption and headline paragraph belongs to the link, not the article
            continue
        link = _READ_MORE_LINE.match(para)
        if link and "\n" not in para:
            if drafts:
                drafts[-1].related.append(link.group(1).strip())
            continue
        if markdown and para.startswith("# "):
            drafts.append(_Draft(para[2:].strip(), first))
            continue
        if markdown and re.match(r"^#{2,6} ", para):
            para = para.lstrip("#").strip()
        if not drafts or (not markdown and _is_lede(para, min_lede_words)):
            if _is_heading(para):
                drafts.append(_Draft(para.strip(), first))
                continue
            if not drafts:
                drafts.append(_Draft("", first))
        drafts[-1].paragraphs.append((first, last, para))
    articles = []
    for draft in drafts:
        if not draft.paragraphs:
            continue
        body = "\n\n".join(p[2] for p in draft.paragraphs)
        title = draft.title or _first_words(draft.paragraphs[0][2])
        articles.append(Article(
            id=slugify(title), title=title, text=body, source=source, date=date,
            lines=(draft.title_line, draft.paragraphs[-1][1]),
            publisher=meta.get("source") or meta.get("publisher"), author=meta.get("author"),
            url=meta.get("url"), category=meta.get("category"), related=tuple(draft.related),
        ))
    return articles


def _paragraphs(text: str) -> Iterator[tuple[int, int, str]]:
    """Runs of non-blank lines as (first line, last line, text with inner newlines kept)."""
    block: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if not block:
                start = number
            block.append(line.rstrip())
        elif block:
            yield start, number - 1, "\n".join(block).strip()
            block = []
    if block:
        yield start, start + len(block) - 1, "\n".join(block).strip()


def _is_heading(para: str) -> bool:
    """A single line that is not a sentence: a title, lede or subheading."""
    return "\n" not in para and not _SENTENCE_END.search(para.strip()) and len(para.split()) <= 40


def _is_lede(para: str, min_words: int) -> bool:
    return _is_heading(para) and len(para.split()) >= min_words


def _first_words(text: str, n: int = 12) -> str:
    words = text.split()
    return " ".join(words[:n]) + (" …" if len(words) > n else "")


def _parse_date(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if re.match(r"^\d{4}-\d{2}(-\d{2})?", value):
        return value[:10]
    match = re.match(r"^([A-Za-z]+)\s+(\d{4})$", value)
    if match and match.group(1).lower() in MONTHS:
        return f"{match.group(2)}-{MONTHS[match.group(1).lower()]:02d}"
    return value


def slugify(text: str, max_words: int = 8) -> str:
    """A short lowercase ASCII id made from the first words of ``text``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(words[:max_words]) or "article"


def _make_ids_unique(articles: list[Article]) -> None:
    seen: dict[str, int] = {}
    for n, article in enumerate(articles):
        count = seen.get(article.id, 0)
        seen[article.id] = count + 1
        if count:
            object.__setattr__(articles[n], "id", f"{article.id}-{count + 1}")


# --- JSON and JSONL ----------------------------------------------------------------------------

def _read_records(file: Path, text: str, jsonl: bool, problems: list[Problem]) -> Iterator[Article]:
    if jsonl:
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(Problem(str(file), number, f"not valid JSON ({exc.msg}), line skipped"))
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(file), exc.lineno, f"not valid JSON ({exc.msg}), file skipped"))
            return
        records = data if isinstance(data, list) else data.get("articles", [data]) if isinstance(data, dict) else []
        entries = [(None, record) for record in records]
    for number, record in entries:
        where = f"record {number}" if number else "record"
        body = next((record.get(k) for k in BODY_KEYS if isinstance(record, dict) and record.get(k)), None)
        if not isinstance(body, str) or not body.strip():
            problems.append(Problem(str(file), number, f"{where} has no body/text/content, skipped"))
            continue
        title = str(record.get("title") or "").strip() or _first_words(body)
        yield Article(
            id=slugify(title), title=title, text=_clean_body(body), source=str(file),
            date=_parse_date(str(record.get("published_at") or record.get("date") or "") or None),
            lines=(number, number) if number else None,
            publisher=_str_or_none(record.get("source") or record.get("publisher")),
            author=_str_or_none(record.get("author")), url=_str_or_none(record.get("url")),
            category=_str_or_none(record.get("category")),
        )


def _clean_body(body: str) -> str:
    return "\n\n".join(p for _, _, p in _paragraphs(body))


def _str_or_none(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


# --- HTML --------------------------------------------------------------------------------------

def _read_html(file: Path, text: str, problems: list[Problem]) -> list[Article]:
    import trafilatura

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                      include_tables=False, favor_precision=True)
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        problems.append(Problem(str(file), None, "no article text found in the HTML, skipped"))
        return []
    title = (doc.title or "").strip() or _first_words(body)
    return [Article(
        id=slugify(title), title=title, text=_clean_body(body), source=str(file),
        date=_parse_date(doc.date), publisher=doc.sitename or doc.hostname, author=doc.author,
        url=doc.url, category=(doc.categories or [None])[0] if isinstance(doc.categories, list) else None,
    )]
