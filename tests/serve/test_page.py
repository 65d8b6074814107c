"""The web page in headless Chromium (Debian's package): a seed question answered by the real fast model, then a
conversation on a scripted one with filters, a withheld answer, a follow-up and an article that tries to inject HTML.
Screenshots go to eval/reports/ for people to look at."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import RAG, Answer, Citation, Filters
from rag.serve import create_app
from tests.conftest import ROOT
from tests.serve.conftest import (
    DSRB,
    NEWS,
    live,
    scripted,
    whole_answer_rag,
    withheld_with_closest,
    write_corpus,
)

CHROMIUM = Path("/usr/bin/chromium")
REPORTS = ROOT / "eval" / "reports"
ANSWER_WAIT_MS = 900_000  # the real fast model on a busy 2-core CPU
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed here "
                                "(.ci/run installs it: apt-get install -y chromium chromium-driver)")
# Every text the page shows in a .draft element, recorded as it changes (the draft is replaced within moments)
RECORD_DRAFTS = """window.__drafts = [];
new MutationObserver(() => document.querySelectorAll('.draft').forEach((d) => window.__drafts.push(d.textContent)))
  .observe(document, {subtree: true, childList: true, characterData: true});"""
HOSTILE = ("Source: <b>Evil</b> Outlet\nDate: 2025-03-05\n\n# <img src=x onerror=\"window.__pwned=1\"> Bridge "
           "designer named\n\nThe harbour bridge was designed by <script>window.__pwned=2</script> Ada Lindqvist "
           "in 1931, the archive said. It reopened on Monday.\n")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium from /usr/bin/chromium (playwright never downloads a browser here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


def _page(browser: object, url: str, width: int = 1280, height: int = 800) -> object:
    page = browser.new_page(viewport={"width": width, "height": height})
    page.problems = []
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.on("console", lambda message: page.problems.append(message.text) if message.type == "error" else None)
    page.on("dialog", lambda dialog: (page.problems.append("dialog: " + dialog.message), dialog.dismiss()))
    page.add_init_script(RECORD_DRAFTS)
    page.goto(url)
    return page


def _ask(page: object, question: str, state: str, timeout: float = 60_000) -> object:
    """Type ``question``, send it, and wait until its answer is in ``state``; the answer element."""
    before = page.locator(".turn").count()
    page.fill("#question", question)
    page.click("#send")
    answer = page.locator(".turn").nth(before).locator(".answer")
    answer.and_(page.locator(f"[data-state={state}]")).wait_for(timeout=timeout)
    return answer


def _quote_in_view(page: object) -> bool:
    return page.evaluate("""() => { const m = document.querySelector('#article-text mark').getBoundingClientRect();
        const box = document.querySelector('#article-text').getBoundingClientRect();
        return m.top >= box.top - 1 && m.bottom <= box.bottom + 1 && m.height > 0; }""")


def test_a_seed_question_streams_then_shows_the_checked_answer_and_its_quote(fast_rag: RAG, browser: object) -> None:
    with live(create_app(fast_rag)) as url:
        page = _page(browser, url)
        page.locator("#stats", has_text="10 articles").wait_for()
        answer = _ask(page, DSRB, "answered", ANSWER_WAIT_MS)
        drafts = [d for d in page.evaluate("window.__drafts") if d]
        text = answer.locator(".text").inner_text()
        assert drafts and "$135 billion" in text and not answer.locator(".draft").count()  # draft shown, replaced
        quote = answer.locator(".sources blockquote").first.inner_text()
        answer.locator("a.cite").first.click()
        mark = page.locator("#article-text mark")
        mark.wait_for()
        assert mark.inner_text() == quote and "$135 billion" in quote and _quote_in_view(page)
        REPORTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(REPORTS / "serve-page.png"))
        assert page.problems == []


def test_a_conversation_with_filters_a_withheld_answer_a_follow_up_and_hostile_text(
        news_rag: RAG, browser: object, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "articles", {**NEWS, "hostile.md": HOSTILE})
    base = scripted(RAG.open(corpus, index_dir=tmp_path / "ix", settings=news_rag.settings),
                    " When did the Lindqvist harbour bridge reopen?")
    hostile = next(a for a in base.articles if "Ada Lindqvist" in a.text)
    start = hostile.text.index("It reopened")
    answered = Answer("When did the Lindqvist harbour bridge reopen?", "It reopened on Monday [1].", True, citations=[
        Citation(1, hostile.id, hostile.title, hostile.date, hostile.source, "It reopened on Monday.", start,
                 start + len("It reopened on Monday."), hostile.text, 1.0)], raw="on Monday [1]", short="Monday")
    rag = whole_answer_rag(base, withheld_with_closest(base, "Who painted the harbour bridge?"), answered)
    with live(create_app(rag)) as url:
        page = _page(browser, url)
        page.locator("#stats", has_text="4 articles").wait_for()
        assert "<b>Evil</b> Outlet, Nordic Wire, Valley Post" in page.inner_text("#stats")
        page.click("#filters summary")
        page.fill("#until", "2025-13-45")
        page.fill("#question", "Who painted the harbour bridge?")
        page.click("#send")
        page.locator(".error", has_text="until = '2025-13-45' is not a date").wait_for()
        page.fill("#until", "")
        page.select_option("#outlet", "Nordic Wire")
        withheld = _ask(page, "Who painted the harbour bridge?", "withheld")
        assert withheld.locator(".withheld").inner_text().startswith("The articles don't say")
        closest = withheld.locator(".closest li button")
        assert closest.count() == 2 and withheld.locator(".related li").count() >= 1
        sentence = closest.first.inner_text().strip("“”")
        closest.first.click()
        page.locator("#article-text mark").wait_for()
        assert page.inner_text("#article-text mark") == sentence and _quote_in_view(page)
        page.select_option("#outlet", "")
        follow_up = _ask(page, "When did it reopen?", "answered")
        assert page.locator(".searched").last.inner_text() == "searching: When did the Lindqvist harbour bridge reopen?"
        assert follow_up.locator(".text").inner_text() == "It reopened on Monday [1]."
        follow_up.locator("a.cite").click()
        page.locator("#article-text mark", has_text="It reopened on Monday.").wait_for()
        assert "<script>window.__pwned=2</script>" in page.inner_text("#article-text")  # shown as text
        assert page.inner_text("#article-title").startswith('<img src=x onerror="window.__pwned=1">')
        assert page.locator("img, script:not([src]), b").count() == 0 and page.evaluate("window.__pwned") is None
        assert [a[2] for a in rag.asked] == [Filters(publishers=("Nordic Wire",)), None]
        page.set_viewport_size({"width": 390, "height": 844})
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
        page.screenshot(path=str(REPORTS / "serve-page-phone.png"))
        page.click("#close")
        page.screenshot(path=str(REPORTS / "serve-page-conversation-phone.png"), full_page=True)
        assert page.problems == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
