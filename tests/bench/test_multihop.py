"""eval/multihop.py: the fixed dev/test split, answer scoring and the article mapping, on tiny data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.multihop import (
    _squash,
    answer_report,
    answer_sample,
    is_abstention,
    load_queries,
    main,
    multihop_chunk_scores,
    official_lenient_correct,
    score_answers,
    score_query,
    split_nulls,
    split_queries,
    strict_correct,
)


def _queries(n: int, nulls_every: int = 5) -> list[dict]:
    return [{"query": f"q{i}", "answer": "x", "evidence_list": [] if i % nulls_every == 0 else [{}],
             "question_type": "null_query" if i % nulls_every == 0 else "inference_query"} for i in range(n)]


# --------------------------------------------------------------------------- split


def test_split_is_deterministic_disjoint_and_thirty_percent() -> None:
    queries = _queries(1000)
    non_null = [q for q in queries if q["question_type"] != "null_query"]
    dev, test = split_queries(queries, "dev"), split_queries(queries, "test")
    assert [q["query"] for q in dev] == [q["query"] for q in split_queries(queries, "dev")]
    assert len(dev) == len(non_null) * 3 // 10 == 240 and len(dev) + len(test) == len(non_null)
    assert not {q["query"] for q in dev} & {q["query"] for q in test}
    assert {q["query"] for q in dev} | {q["query"] for q in test} == {q["query"] for q in non_null}
    assert all(q["question_type"] != "null_query" for q in dev + test)
    assert split_queries(queries, "all") == non_null
    # file order is kept inside each split, and the split is not simply a prefix of the file
    assert dev == sorted(dev, key=lambda q: int(q["query"][1:]))
    assert dev != non_null[: len(dev)]


def test_split_is_pinned_to_random_13_over_the_non_null_list() -> None:
    import random

    queries = _queries(50)
    non_null = [q for q in queries if q["question_type"] != "null_query"]
    order = list(range(len(non_null)))
    random.Random(13).shuffle(order)
    expected = {non_null[i]["query"] for i in order[: len(order) * 3 // 10]}
    assert {q["query"] for q in split_queries(queries, "dev")} == expected
    with pytest.raises(ValueError):
        split_queries(queries, "train")


def test_split_of_the_real_benchmark_when_present() -> None:
    from eval.multihop import DEFAULT_DATA

    if not (DEFAULT_DATA / "MultiHopRAG.json").exists():
        pytest.skip("benchmark data not available")
    queries = load_queries(DEFAULT_DATA)
    dev, test = split_queries(queries, "dev"), split_queries(queries, "test")
    assert (len(dev), len(test)) == (676, 1579)


# --------------------------------------------------------------------------- answers


def test_null_split_and_the_stratified_answer_sample() -> None:
    queries = _queries(1000) + [{"query": f"c{i}", "answer": "Yes", "evidence_list": [{}],
                                 "question_type": "comparison_query"} for i in range(30)]
    nulls = [q for q in queries if q["question_type"] == "null_query"]
    dev, test = split_nulls(queries, "dev"), split_nulls(queries, "test")
    assert len(dev) == len(nulls) * 3 // 10 and not {q["query"] for q in dev} & {q["query"] for q in test}
    assert len(dev) + len(test) == len(nulls)
    sample = answer_sample(queries, "dev", 5, seed=1)
    assert sample == answer_sample(queries, "dev", 5, seed=1) != answer_sample(queries, "dev", 5, seed=2)
    types = [q["question_type"] for q in sample]
    assert {t: types.count(t) for t in set(types)} == {"null_query": 5, "inference_query": 5, "comparison_query": 5}
    assert len(set(types[:3])) == 3  # interleaved: a cut run stays balanced
    dev_queries = {q["query"] for q in split_queries(queries, "dev") + dev}
    assert all(q["query"] in dev_queries for q in sample)


def test_answer_report_adds_time_prompt_size_and_cited_gold() -> None:
    records = [{"question_type": "comparison_query", "answer": "Yes", "prediction": "yes", "answerable": True,
                "total_s": 2.0, "prompt_tokens": 300, "cited_gold": 1.0},
               {"question_type": "null_query", "answer": "Insufficient information.",
                "prediction": "Insufficient information.", "answerable": False, "total_s": 0.1,
                "prompt_tokens": None, "cited_gold": None}]
    report = answer_report(records)
    assert report["all"]["strict"] == 1.0 and report["all"]["answered"] == 1
    assert report["by_type"]["comparison_query"]["cited_gold_share"] == 1.0
    assert report["all"]["prompt_tokens_p50"] == 300 and report["by_type"]["null_query"]["abstained"] == 1.0


def test_score_answers_by_type_lenient_strict_and_abstention() -> None:
    records = [
        {"question_type": "inference_query", "answer": "Sam Bankman-Fried",
         "prediction": 'The answer to the question is "Sam Bankman-Fried".'},  # lenient yes, strict yes
        {"question_type": "inference_query", "answer": "Sam Bankman-Fried",
         "prediction": "Sam Altman"},  # shares "sam": lenient yes, strict no
        {"question_type": "comparison_query", "answer": "no", "prediction": "No."},  # lenient no ("no."), strict yes
        {"question_type": "comparison_query", "answer": "Yes", "prediction": "Insufficient information."},
        {"question_type": "null_query", "answer": "Insufficient information.",
         "prediction": "INSUFFICIENT INFORMATION to answer."},
        {"question_type": "null_query", "answer": "Insufficient information.",
         "prediction": "The articles don\u2019t say."},
        {"question_type": "null_query", "answer": "Insufficient information.", "prediction": "Google"},
        {"type": "temporal_query", "gold": "Before", "prediction": "before"},  # alternative keys
    ]
    scores = score_answers(records)
    by = scores["by_type"]
    assert by["inference_query"] == {"n": 2, "lenient": 1.0, "strict": 0.5, "abstained": 0.0,
                                     "given": 2, "given_right": 0.5}
    assert by["comparison_query"] == {"n": 2, "lenient": 0.0, "strict": 0.5, "abstained": 0.5,
                                      "given": 1, "given_right": 1.0}
    assert by["null_query"]["n"] == 3 and by["null_query"]["lenient"] == by["null_query"]["strict"] == 2 / 3
    assert by["null_query"]["given"] == 1 and by["null_query"]["given_right"] == 0.0  # "Google" answered a null query
    assert by["temporal_query"] == {"n": 1, "lenient": 1.0, "strict": 1.0, "abstained": 0.0,
                                    "given": 1, "given_right": 1.0}
    assert scores["all"]["n"] == 8 and scores["all"]["lenient"] == pytest.approx(5 / 8)
    assert scores["all"]["strict"] == pytest.approx(5 / 8)
    assert scores["all"]["given"] == 5 and scores["all"]["given_right"] == pytest.approx(3 / 5)
    assert scores["non_null"]["n"] == 5 and scores["non_null"]["lenient"] == pytest.approx(3 / 5)
    empty = {"n": 0, "lenient": 0.0, "strict": 0.0, "abstained": 0.0, "given": 0, "given_right": None}
    assert score_answers([]) == {"all": empty, "non_null": empty, "by_type": {}}


def test_is_abstention_phrases() -> None:
    assert is_abstention("Insufficient Information")
    assert is_abstention("Sorry - the articles don't say.")
    assert not is_abstention("The articles say nothing of the sort: Google")


# --------------------------------------------------------------------------- per-query scoring


def test_score_query_maps_ranks_by_url_and_applies_official_chunk_rule() -> None:
    query = {"evidence_list": [
        {"url": "u/a", "fact": "Alpha fell by 3 percent."},
        {"url": "u/b", "fact": "Beta rose."},
        {"url": "u/a", "fact": "Alpha was sold."}]}
    texts = ["nothing here", "Beta\nrose. And more.", "Alpha  fell by 3\npercent. Alpha was sold.", "x"]
    urls = ["u/c", "u/b", "u/a", "u/b"]
    s = score_query(query, texts, urls, k=10)
    assert s["article_hit_ranks"] == {"u/a": 3, "u/b": 2}
    assert s["chunk_hit_ranks"] == [2, 3]
    assert s["article_recall@10"] == 1.0 and s["all_gold@10"] == 1.0
    assert s["hits@4"] == s["hits@10"] == 1.0 and s["mrr@10"] == 0.5
    assert s["map@10"] == pytest.approx((1 / 2 + 2 / 3) / 3)
    top2 = score_query(query, texts, urls, k=2)
    assert top2["article_hit_ranks"] == {"u/a": None, "u/b": 2}
    assert top2["article_recall@10"] == 0.5 and top2["all_gold@10"] == 0.0


# --------------------------------------------------------------------------- the script end to end


ARTICLES = [
    ("Quarterly earnings report from the same company this week", "Orbital Foods",
     "https://example.com/orbital-earnings",
     "Orbital Foods said its cereal sales grew by 12 percent in the third quarter. The chief executive "
     "Mara Quist credited the new oat factory in Leeds. Shares of the breakfast maker rose sharply."),
    ("Quarterly earnings report from the same company this week, part two", "Daily Ledger",
     "https://example.com/orbital-outlook",
     "Analysts at the Daily Ledger expect Orbital Foods to open a second oat factory next spring. "
     "The company has hired two hundred bakers in Leeds for the expansion."),
    ("Volcano erupts near the fishing village of Skarvik", "North Weather",
     "https://example.com/skarvik-volcano",
     "A volcano erupted on Tuesday near the fishing village of Skarvik, covering boats in grey ash. "
     "Geologists said the lava flow stopped two kilometres from the harbour."),
]


def _write_benchmark(folder: Path) -> None:
    corpus = [{"title": t, "author": None, "source": src, "published_at": f"2023-10-0{n + 1}T08:00:00+00:00",
               "category": "business", "url": url, "body": body}
              for n, (t, src, url, body) in enumerate(ARTICLES)]
    (folder / "corpus.json").write_text(json.dumps(corpus), encoding="utf-8")

    def evidence(n: int, fact: str) -> dict:
        title, src, url, body = ARTICLES[n]
        assert fact in body
        return {"title": title, "author": None, "url": url, "source": src, "category": "business",
                "published_at": "2023-10-01T08:00:00+00:00", "fact": fact}

    queries = [
        {"query": "Which volcano eruption near Skarvik covered fishing boats in grey ash?", "answer": "Skarvik",
         "question_type": "inference_query",
         "evidence_list": [evidence(2, "Geologists said the lava flow stopped two kilometres from the harbour.")]},
        {"query": "Did Orbital Foods cereal sales grow in the third quarter, according to Orbital Foods and "
                  "the Daily Ledger?", "answer": "Yes", "question_type": "comparison_query",
         "evidence_list": [
             evidence(0, "Orbital Foods said its cereal sales grew by 12 percent in the third quarter."),
             evidence(1, "The company has hired two hundred bakers in Leeds for the expansion.")]},
        {"query": "What did the mayor of Skarvik eat for breakfast?", "answer": "Insufficient information.",
         "question_type": "null_query", "evidence_list": []},
    ]
    (folder / "MultiHopRAG.json").write_text(json.dumps(queries), encoding="utf-8")


def test_main_on_a_tiny_benchmark_maps_passages_to_gold_urls(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write_benchmark(data)
    out = tmp_path / "report.json"
    argv = ["--data", str(data), "--index-dir", str(tmp_path / "index"), "--quiet", "--out", str(out)]
    assert main([*argv, "--k", "10"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["metrics"]["all"]["n"] == 2  # the null query is left out
    volcano, orbital = report["records"]
    assert volcano["type"] == "inference_query" and orbital["type"] == "comparison_query"
    # k=10 over three one-chunk articles: everything is retrieved, every gold article found
    assert sorted(volcano["retrieved_urls"]) == sorted(a[2] for a in ARTICLES)
    assert report["metrics"]["all"]["article_recall@10"] == 1.0
    assert report["metrics"]["all"]["all_gold@10"] == 1.0
    assert report["metrics"]["all"]["hits@10"] == 1.0
    assert set(orbital["article_hit_ranks"]) == {ARTICLES[0][2], ARTICLES[1][2]}
    assert report["ceiling"]["queries_hittable"] == 1.0
    assert set(report["metrics"]["by_type"]) == {"inference_query", "comparison_query"}
    splits = report["metrics"]["splits"]  # a full run also scores the fixed dev and test splits
    assert splits["dev"]["n"] + splits["test"]["n"] == 2

    # k=1: one passage per query, so the two-article query can find at most half its gold articles
    assert main([*argv, "--k", "1"]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    volcano, orbital = report["records"]
    assert volcano["retrieved_urls"] == [ARTICLES[2][2]] and volcano["article_hit_ranks"] == {ARTICLES[2][2]: 1}
    assert volcano["scores"]["article_recall@10"] == 1.0 and volcano["scores"]["hits@10"] == 1.0
    assert orbital["retrieved_urls"][0] in {ARTICLES[0][2], ARTICLES[1][2]}
    assert orbital["scores"]["article_recall@10"] == 0.5 and orbital["scores"]["all_gold@10"] == 0.0
    assert sorted(r for r in orbital["article_hit_ranks"].values() if r) == [1]
    assert report["index"]["articles"] == 3


def test_main_rejects_a_folder_without_the_benchmark_files(tmp_path: Path) -> None:
    assert main(["--data", str(tmp_path), "--index-dir", str(tmp_path / "index"), "--quiet"]) == 2


F1 = "Sam Bankman-Fried was convicted"
F2 = "FTX collapsed in November 2022"
F3 = "The jury deliberated for hours"


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        ("No.", "No", False),  # no punctuation stripping
        ("no", "No", True),  # lowercased
        ("Yes", "No", False),
        ("The UK", "The US", True),  # shared "the" is enough
        ("Sam Bankman-Fried", "Bankman-Fried", True),
        ('The answer to the question is "Yes".', "Yes", True),
        ('The answer to the question is "Yes". Not no', "No", False),  # only the quoted part is kept
        ("The answer is no", "No", True),  # "The answer" present, pattern absent: whole text kept
        ('the answer to the question is "yes"', "no", False),
        ('the answer to the question is "yes"', "question", True),  # lowercase prefix: nothing extracted
        ("", "No", False),
    ],
)
def test_official_lenient_correct(prediction: str, gold: str, expected: bool) -> None:
    assert official_lenient_correct(prediction, gold) is expected


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        ("The answer is Yes.", "yes", True),
        ("the answer is: 5,600.", "5600", True),
        ("The answer to the question is Yes.", "Yes", True),
        ("Yes", "Yes", True),
        ("Yes, definitely", "Yes", True),  # a yes/no gold: the first word decides
        ("No.", "no", True),
        ("Google paid Apple to be the default", "Google", True),  # an entity: the gold phrase in the answer
        ("Sam Altman", "Sam Bankman-Fried", False),
        ("The Federal Reserve", "Federal Reserve", True),
        ("€500bn", "500 billion euros", True),
        ("5600", "56000", False),
        ("", "", False),
    ],
)
def test_strict_correct(prediction: str, gold: str, expected: bool) -> None:
    assert strict_correct(prediction, gold) is expected


# --------------------------------------------------------------------------- article-level retrieval


def test_squash_removes_only_spaces_and_newlines() -> None:
    assert _squash(" a b\nc\td ") == "abc\td"


def test_multihop_map_counts_new_facts_per_hit() -> None:
    chunks = [
        "unrelated text",
        f"Background.  Sam  Bankman-Fried\nwas convicted. {F2} after a run.",  # F1 + F2 -> 2/2
        "more unrelated text",
        f"Recap: {F1}.",  # a hit, but F1 is already found -> 0/4
        f"{F3}.",  # F3 -> 1/5
    ]
    scores = multihop_chunk_scores(chunks, [F1, F2, F3])
    assert scores["hits@4"] == 1.0
    assert scores["hits@10"] == 1.0
    assert scores["mrr@10"] == 0.5
    assert scores["map@10"] == pytest.approx((2 / 2 + 0 / 4 + 1 / 5) / 3)  # 0.4


def test_multihop_mrr_first_hit_at_rank_three() -> None:
    scores = multihop_chunk_scores(["a", "b", F1, "c", F2], [F1, F2])
    assert scores["mrr@10"] == pytest.approx(1 / 3)
    assert scores["hits@4"] == 1.0
    assert scores["map@10"] == pytest.approx((1 / 3 + 1 / 5) / 2)


def test_multihop_hit_after_rank_four_only() -> None:
    chunks = ["n1", "n2", "n3", "n4", "n5", f"text {F1} text"]
    scores = multihop_chunk_scores(chunks, [F1])
    assert scores == pytest.approx({"hits@4": 0.0, "hits@10": 1.0, "mrr@10": 1 / 6, "map@10": 1 / 6})


def test_multihop_ignores_hits_after_rank_ten() -> None:
    chunks = [f"n{i}" for i in range(10)] + [F1]
    assert multihop_chunk_scores(chunks, [F1]) == {"hits@4": 0.0, "hits@10": 0.0, "mrr@10": 0.0, "map@10": 0.0}


def test_multihop_official_quirks() -> None:
    # a tab is not squashed, so this fact is missed
    assert multihop_chunk_scores(["Sam\tBankman-Fried was convicted"], [F1])["hits@10"] == 0.0
    # a fact listed twice counts once but still weighs in the denominator
    assert multihop_chunk_scores([F1], [F1, F1])["map@10"] == 0.5
    # denominator is capped at 10 facts
    facts = [f"fact number {i}" for i in range(12)]
    assert multihop_chunk_scores([" ".join(facts)], facts)["map@10"] == pytest.approx(12 / 10)
    # no facts: all zero instead of a division by zero
    assert multihop_chunk_scores([F1], [])["map@10"] == 0.0


def test_multihop_custom_cutoff() -> None:
    chunks = ["n1", "n2", F1]
    assert multihop_chunk_scores(chunks, [F1], k=2)["hits@10"] == 0.0
    assert multihop_chunk_scores(chunks, [F1], k=3)["mrr@10"] == pytest.approx(1 / 3)


# --------------------------------------------------------------------------- mean / percentile
