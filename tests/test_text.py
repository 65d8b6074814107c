"""Text primitives: content-word tokens and sentence spans."""

from __future__ import annotations

from rag.text import sentence_spans, tokenize


def test_tokens_are_stemmed_content_words_and_numbers_keep_their_digits() -> None:
    assert tokenize("The banks are raising 5,600 euros!") == ["bank", "rais", "5600", "euro"]
    assert tokenize("Kallas’s view") == ["kalla", "view"]
    assert tokenize("") == []


def test_sentences_end_at_full_stops_but_not_after_titles_or_initials() -> None:
    text = "Dr. Smith met J. Doe on Monday. They agreed.\nA new line starts here"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["Dr. Smith met J. Doe on Monday.", "They agreed.",
                                             "A new line starts here"]
    assert sentence_spans("") == []
