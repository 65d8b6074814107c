"""Reading the model's reply: the answer's parts, the sources each cites, "not stated"."""

from __future__ import annotations

from rag.answer.markers import Part, read_reply, source_numbers, strip_markers


def test_one_part_with_its_source() -> None:
    reply = read_reply(" Pierre Gramegna [2]", 4)
    assert reply.parts == (Part("Pierre Gramegna", (1,)),) and not reply.not_stated


def test_parts_citing_different_sources_are_split_and_bad_numbers_dropped() -> None:
    reply = read_reply("Paris [1] and Rome [3, 9]", 4)
    assert reply.parts == (Part("Paris", (0,)), Part("Rome", (2,)))
    assert read_reply("Italy and France [1]", 2).parts == (Part("Italy and France", (0,)),)
    assert read_reply("the plan [2], the minister said", 2).parts == (Part("the plan the minister said", (1,)),)


def test_not_stated_an_empty_reply_and_only_the_first_line() -> None:
    assert read_reply(" not stated", 3).not_stated and read_reply("Not stated.", 3).not_stated
    assert read_reply("[1]", 3).not_stated  # nothing but a source number says nothing
    assert read_reply("$135 billion [1]\nQuote: ...", 2).parts == (Part("$135 billion", (0,)),)
    assert read_reply("Answer: Ottawa [1]", 2).parts == (Part("Ottawa", (0,)),)


def test_source_numbers_and_ranges() -> None:
    assert source_numbers("a [1-3] b [source 2] c [4]", 3) == [0, 1, 2]
    assert strip_markers("Gramegna [1], [2] said [ ]") == "Gramegna, said"
