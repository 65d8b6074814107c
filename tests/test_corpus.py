"""Ingestion: the seed file's split into articles, other formats, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.corpus import load_corpus, split_articles
from rag.errors import RagError
from tests.conftest import SEED_FILE, SEEDS

# (title line, first body line, last body line) of each article in the seed file, 1-based.
EXPECTED = [(3, 5, 52), (54, 56, 77), (79, 81, 96), (98, 100, 155), (157, 159, 180),
            (182, 184, 209), (211, 213, 241), (243, 245, 268), (270, 272, 327), (329, 331, 351)]


@pytest.fixture(scope="module")
def seed_articles():  # noqa: ANN201
    return load_corpus(SEEDS).articles


def test_seed_file_splits_into_its_ten_articles(seed_articles) -> None:
    lines = SEED_FILE.read_text(encoding="utf-8").split("\n")
    assert len(seed_articles) == len(EXPECTED)
    for article, (title_line, first, last) in zip(seed_articles, EXPECTED):
        assert article.lines == (title_line, last)
        assert article.title == lines[title_line - 1]
        body = article.text.split("\n\n")
        assert body[0] == lines[first - 1]
        assert body[-1] == lines[last - 1]
        assert article.date == "2026-01"
        assert article.source == str(SEED_FILE)
    assert len({a.id for a in seed_articles}) == len(seed_articles)


def test_read_more_blocks_never_reach_an_article_body(seed_articles) -> None:
    lines = SEED_FILE.read_text(encoding="utf-8").split("\n")
    captions, headlines = [], []
    for n, line in enumerate(lines):
        if line == "Read more":
            captions.append(lines[n + 2])
            headlines.append(lines[n + 3])
        elif line.startswith("READ MORE:"):
            headlines.append(line.removeprefix("READ MORE:").strip())
    assert len(captions) == 16 and len(headlines) == 18
    bodies = [a.text for a in seed_articles]
    paragraphs = {p for body in bodies for p in body.split("\n\n")}
    for caption in captions:  # captions can be common phrases ("RT"): never a paragraph of their own
        assert caption not in paragraphs, caption
    for headline in headlines:
        assert all(headline not in body for body in bodies), headline
    assert all("Read more" not in body and "READ MORE" not in body for body in bodies)
    related = [h for a in seed_articles for h in a.related]
    assert "NATO creating bank to prepare for war with Russia – media" in seed_articles[1].related
    assert "Greenland warns of ‘red lines’ in talks with US" in seed_articles[-1].related
    assert len(related) == 18


def test_subheadings_stay_inside_their_article(seed_articles) -> None:
    damascus = seed_articles[8]
    for heading in ("Syria: Stability, survival, and strategic calculation",
                    "Military presence and strategic balance", "The UAE and the regional dimension",
                    "A region that requires Russia’s presence"):
        assert f"\n\n{heading}\n\n" in damascus.text


def test_every_body_line_of_the_file_is_in_exactly_one_article(seed_articles) -> None:
    text = SEED_FILE.read_text(encoding="utf-8")
    assert not text.endswith("\n")
    total = sum(len(a.text.split("\n\n")) for a in seed_articles)
    paragraphs = [p for p in text.split("\n") if p.strip()]
    titles, links, header = len(seed_articles), 16 * 3 + 2, 1
    assert total == len(paragraphs) - titles - links - header


def test_split_is_general_not_positional() -> None:
    text = ("Month: March 2024\n\nFirst headline here\n\nBody one. More.\n\nRead more\n\nRT\n"
            "Some linked story\n\nStill body one.\n\nA second article begins with this rather long "
            "lede that has no full stop\n\nShort subheading\n\nBody two.")
    articles = split_articles(text, "x.txt")
    assert [a.title for a in articles] == ["First headline here", "A second article begins with this "
                                           "rather long lede that has no full stop"]
    assert articles[0].text == "Body one. More.\n\nStill body one."
    assert articles[0].related == ("Some linked story",)
    assert articles[1].text == "Short subheading\n\nBody two."
    assert all(a.date == "2024-03" for a in articles)


def test_markdown_headings_start_articles(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# One\n\nAlpha text.\n\n## Part\n\nMore alpha.\n\n# Two\n\nBeta text.")
    articles = load_corpus(tmp_path).articles
    assert [(a.title, a.text) for a in articles] == [("One", "Alpha text.\n\nPart\n\nMore alpha."),
                                                     ("Two", "Beta text.")]


def test_json_and_jsonl_records_with_metadata_and_bad_lines(tmp_path: Path) -> None:
    records = [{"title": "T1", "body": "B1.", "source": "Reuters", "published_at": "2023-10-05T08:00:00+00:00",
                "url": "http://x/1", "author": "A", "category": "business"}]
    (tmp_path / "a.json").write_text(json.dumps(records))
    (tmp_path / "b.jsonl").write_text('{"title": "T2", "text": "B2."}\nnot json\n{"title": "no body"}\n'
                                      '\n{"content": "Only content here."}\n')
    corpus = load_corpus(tmp_path)
    by_title = {a.title: a for a in corpus.articles}
    assert by_title["T1"].publisher == "Reuters" and by_title["T1"].date == "2023-10-05"
    assert by_title["T1"].url == "http://x/1" and by_title["T1"].category == "business"
    assert by_title["T2"].text == "B2."
    assert "Only content here." in by_title
    assert [(Path(p.path).name, p.line) for p in corpus.problems] == [("b.jsonl", 2), ("b.jsonl", 3)]
    assert "not valid JSON" in corpus.problems[0].message
    assert "no body" in corpus.problems[1].message


def test_html_main_text_and_title(tmp_path: Path) -> None:
    paragraph = "The council approved the new budget of 12 million euros on Tuesday after a long debate. "
    (tmp_path / "a.html").write_text(
        "<html><head><title>Council passes budget</title></head><body><nav>Home | About</nav>"
        f"<article><h1>Council passes budget</h1><p>{paragraph * 3}</p><p>{paragraph}</p></article>"
        "<footer>Copyright</footer></body></html>")
    article = load_corpus(tmp_path).articles[0]
    assert article.title == "Council passes budget"
    assert "12 million euros" in article.text and "Copyright" not in article.text


def test_bad_files_are_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("A title\n\nA body sentence.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02binary")
    (tmp_path / "latin1.txt").write_bytes("Line one\ncaf\xe9".encode("latin-1"))
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    corpus = load_corpus(tmp_path)
    assert [a.title for a in corpus.articles] == ["A title"]
    problems = {Path(p.path).name: p for p in corpus.problems}
    assert "empty" in problems["empty.txt"].message
    assert "binary" in problems["binary.txt"].message
    assert "UTF-8" in problems["latin1.txt"].message and problems["latin1.txt"].line == 2
    assert "unsupported" in problems["image.png"].message


def test_nothing_indexable_is_an_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="empty"):
        load_corpus(tmp_path)
    (tmp_path / "empty.txt").write_text("  \n")
    with pytest.raises(RagError, match="nothing could be indexed"):
        load_corpus(tmp_path)
    with pytest.raises(RagError, match="no such file"):
        load_corpus(tmp_path / "missing")
