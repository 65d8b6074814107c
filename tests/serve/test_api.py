"""The HTTP API on a scripted model: the JSON endpoints, the chat API's wire format, errors, limits and safety."""

from __future__ import annotations

import json

import pytest

from rag import RAG
from rag.errors import SettingsError
from rag.serve import create_app
from tests.serve.conftest import DSRB, client, scripted, whole_answer_rag, withheld_with_closest


def _events(text: str) -> list[dict]:
    """The data events of a streamed response, [DONE] excluded; a named event would fail here."""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    assert all(b.startswith("data: ") and "\n" not in b for b in blocks), blocks
    assert blocks[-1] == "data: [DONE]"
    return [json.loads(b[6:]) for b in blocks[:-1]]


def test_search_ranks_passages_and_filters_by_outlet_and_dates(news_rag: RAG) -> None:
    api = client(create_app(scripted(news_rag)))
    passages = api.post("/v1/search", json={"question": "When does the library open?", "k": 2}).json()["passages"]
    assert passages[0]["title"] == "Central library extends its hours" and len(passages) == 2
    assert passages[0]["score"] >= passages[1]["score"] and passages[0]["outlet"] == "Valley Post"
    only = api.post("/v1/search", json={"question": "bridge repairs", "outlets": ["valley post"]}).json()["passages"]
    assert {p["outlet"] for p in only} == {"Valley Post"}
    dated = api.post("/v1/search", json={"question": "bridge repairs", "since": "2025-05", "until": "2025"}).json()
    assert [p["title"] for p in dated["passages"]] == ["Central library extends its hours"]


def test_ask_returns_the_whole_answer_and_its_article_holds_the_quote(seed_rag: RAG, dsrb_reply: str) -> None:
    api = client(create_app(scripted(seed_rag, dsrb_reply)))
    answer = api.post("/v1/ask", json={"question": DSRB}).json()
    assert answer["answerable"] and answer["short"] == "$135 billion" and answer["text"].endswith("[1].")
    assert {"citations", "related", "closest", "signals", "timings", "passages"} <= set(answer)
    cited = answer["citations"][0]
    assert "$135 billion" in cited["quote"] and answer["timings"]["total_s"] > 0
    article = api.get(f"/v1/articles/{cited['article_id']}").json()
    assert article["text"][cited["quote_start"]:cited["quote_end"]] == cited["quote"]
    assert article["title"] == cited["title"] and "source" not in article  # no file path leaves the server
    for wrong in ("nope", "%2e%2e%2fseeds", "../../etc/passwd"):  # by id only: a path reaches no file
        missing = api.get(f"/v1/articles/{wrong}")
        assert missing.status_code == 404 and missing.json()["error"]["fix"]
    assert "no indexed article has the id 'nope'" in api.get("/v1/articles/nope").json()["error"]["message"]


def test_index_health_and_models(news_rag: RAG) -> None:
    api = client(create_app(scripted(news_rag)))
    index = api.get("/v1/index").json()
    assert index["articles"] == 3 and index["chunks"] >= 3
    assert index["outlets"] == [{"name": "Nordic Wire", "articles": 1}, {"name": "Valley Post", "articles": 2}]
    assert index["dates"] == {"first": "2024-11-20", "last": "2025-06-10"}
    assert index["models"]["embedder"]["name"] == "all-MiniLM-L6-v2"
    assert api.get("/healthz").json()["status"] == "ok"
    assert api.get("/v1/models").json()["data"][0]["id"] == "rag"


def test_the_chat_api_streams_the_checked_answer_and_its_citations(seed_rag: RAG, dsrb_reply: str) -> None:
    rag = scripted(seed_rag, dsrb_reply)
    body = {"model": "rag", "stream": True, "draft": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": DSRB}]}
    response = client(create_app(rag)).post("/v1/chat/completions", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    content = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e["choices"])
    drafts = "".join(e["choices"][0]["delta"].get("draft") or "" for e in events if e["choices"])
    finish = next(e for e in events if e["choices"] and e["choices"][0]["finish_reason"] == "stop")
    assert content == finish["answer"]["text"] == "As much as $135 billion [1]."  # the draft never in content
    assert drafts.strip() == finish["answer"]["raw"] and "[" in drafts
    cited = finish["citations"][0]
    assert cited["n"] == 1 and "$135 billion" in cited["quote"] and cited["url"].endswith(cited["article_id"])
    assert {"article_id", "title", "outlet", "date", "start", "end"} <= set(cited)
    annotated = next(e for e in events if e["choices"] and e["choices"][0]["delta"].get("annotations"))
    span = annotated["choices"][0]["delta"]["annotations"][0]["url_citation"]
    assert content[span["start_index"]:span["end_index"]] == "[1]"
    assert events[-1]["choices"] == [] and events[-1]["usage"]["completion_tokens"] > 0


def test_a_withheld_answer_says_so_and_lists_what_is_close(seed_rag: RAG) -> None:
    base = scripted(seed_rag)
    question = "How old is Kaja Kallas?"
    rag = whole_answer_rag(base, withheld_with_closest(base, question))
    reply = client(create_app(rag)).post("/v1/chat/completions", json={
        "messages": [{"role": "user", "content": question}]}).json()
    content = reply["choices"][0]["message"]["content"]
    assert content.startswith("The articles don't say") and reply["citations"] == []
    assert "What the articles do say (not an answer):" in content and "Closest articles (not citations):" in content
    closest = reply["answer"]["closest"]
    assert len(closest) == 2 and all(f"“{c['quote']}”" in content for c in closest)
    assert "the draft that was not kept" not in content


def test_a_follow_up_is_rewritten_from_the_turns_before_it(seed_rag: RAG) -> None:
    rag = scripted(seed_rag, " Where is the European Stability Mechanism based?", " not stated")
    messages = [{"role": "user", "content": "Who is the director of the European Stability Mechanism?"},
                {"role": "assistant", "content": "Pierre Gramegna [1]."},
                {"role": "user", "content": "Where is it based?"}]
    events = _events(client(create_app(rag)).post("/v1/chat/completions", json={
        "stream": True, "messages": messages}).text)
    searched = [e["question"] for e in events if "question" in e]
    finish = next(e for e in events if e["choices"] and e["choices"][0]["finish_reason"] == "stop")
    assert searched == ["Where is the European Stability Mechanism based?"]
    assert finish["answer"]["question"] == searched[0]
    assert "Pierre Gramegna" in rag.generator.calls[0][1]["content"]  # the rewrite saw the previous answer


def test_an_error_while_answering_is_one_error_event(seed_rag: RAG) -> None:
    rag = scripted(seed_rag)  # no reply scripted: the model fails mid-answer
    events = _events(client(create_app(rag)).post("/v1/chat/completions", json={
        "stream": True, "messages": [{"role": "user", "content": DSRB}]}).text)
    errors = [e["error"] for e in events if "error" in e]
    assert len(errors) == 1 and "the server failed on this question (IndexError" in errors[0]["message"]


@pytest.mark.parametrize("path, body, status, message", [
    ("/v1/search", {"question": "x", "k": 0}, 400, "k must be a whole number from 1 to 1000, not 0"),
    ("/v1/search", {"question": "x", "k": "5"}, 400, "k must be a whole number from 1 to 1000, not '5'"),
    ("/v1/ask", {"question": "x", "k": 21}, 400, "k must be a whole number from 1 to 20, not 21"),
    ("/v1/search", {"question": "x", "since": "notadate"}, 400, "since = 'notadate' is not a date"),
    ("/v1/search", {"question": "x", "until": "2025-13-45"}, 400, "until = '2025-13-45' is not a date"),
    ("/v1/search", {"question": "x", "since": "2025-06", "until": "2025-01"}, 400, "since 2025-06 is after until"),
    ("/v1/search", {"question": "x", "outlets": ["Valey Post"]}, 400, "did you mean 'Valley Post'?"),
    ("/v1/search", {"question": "x", "outlets": "Valley Post"}, 400, "outlets must be a list of outlet names"),
    ("/v1/ask", {"question": "   "}, 400, "the question is empty"),
    ("/v1/ask", {"question": "why " * 600}, 400, "more than the 2,000 allowed (answer.max_question_chars)"),
    ("/v1/ask", {"question": 3}, 400, "the question must be text, not int"),
    ("/v1/search", {"k": 3}, 400, "the request has no 'question' field"),
    ("/v1/search", {"question": "x", "outlet": "a"}, 400, "has a field 'outlet' that this endpoint does not know"),
    ("/v1/chat/completions", {"messages": []}, 400, "the last message must be the user's question"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "stream": "maybe"}, 400,
     "the request's stream is not valid"),
    ("/v1/search", {"question": "x" * 70_000}, 413, "larger than the 65,536 bytes allowed (serve.max_body_bytes)"),
])
def test_bad_requests_get_a_json_error_with_the_problem_and_the_fix(news_rag: RAG, path: str, body: dict,
                                                                    status: int, message: str) -> None:
    response = client(create_app(scripted(news_rag))).post(path, json=body)
    error = response.json()["error"]
    assert response.status_code == status and message in error["message"] and error["fix"], error
    assert error["message"].startswith(error["problem"]) and error["message"].endswith(error["fix"])


def test_a_body_that_is_not_json_is_refused(news_rag: RAG) -> None:
    api = client(create_app(scripted(news_rag)))
    for headers, data in (({"Content-Type": "text/plain"}, '{"question": "bridge"}'),  # a cross-site form post
                          ({"Content-Type": "application/json"}, "{not json")):
        response = api.post("/v1/search", content=data, headers=headers)
        assert response.status_code == 400 and "not the JSON object expected" in response.json()["error"]["message"]
    missing = api.get("/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"]["fix"] == "see /openapi.json for the routes"


def test_a_forged_host_header_is_refused(news_rag: RAG) -> None:
    api = client(create_app(scripted(news_rag)))
    assert api.get("/v1/index", headers={"Host": "localhost:8000"}).status_code == 200
    forged = api.get("/v1/index", headers={"Host": "attacker.example"})
    assert forged.status_code == 400 and "is not this server's name" in forged.json()["error"]["message"]
    allowed = client(create_app(scripted(news_rag, serve={"allowed_hosts": "rag.lan, other.lan"})))
    assert allowed.get("/v1/index", headers={"Host": "rag.lan:8000"}).status_code == 200


def test_an_api_key_guards_the_api_but_not_the_page(news_rag: RAG) -> None:
    api = client(create_app(scripted(news_rag, serve={"api_key": "s3cret"})))
    assert api.get("/").status_code == 200 and api.get("/healthz").status_code == 200
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        refused = api.get("/v1/index", headers=headers)
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert "needs an API key" in refused.json()["error"]["message"]
    assert api.get("/v1/index", headers={"Authorization": "Bearer s3cret"}).json()["articles"] == 3
    assert "s3cret" not in json.dumps(news_rag.index.manifest)  # never written to the index manifest


def test_listening_beyond_this_machine_needs_a_key(news_rag: RAG) -> None:
    with pytest.raises(SettingsError, match="serve.host = 0.0.0.0: anyone who can reach this address"):
        create_app(scripted(news_rag, serve={"host": "0.0.0.0"}))
    app = create_app(scripted(news_rag, serve={"host": "0.0.0.0", "api_key": "k"}))
    assert client(app).get("/v1/index", headers={"Authorization": "Bearer k", "Host": "192.0.2.7"}).status_code == 200


def test_no_cors_unless_configured(news_rag: RAG) -> None:
    origin = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    default = client(create_app(scripted(news_rag)))
    assert "access-control-allow-origin" not in default.get("/v1/index", headers=origin).headers
    assert "access-control-allow-origin" not in default.options("/v1/search", headers=origin).headers
    opened = client(create_app(scripted(news_rag, serve={"cors_origins": "https://elsewhere.example"})))
    preflight = opened.options("/v1/search", headers=origin)
    assert preflight.headers["access-control-allow-origin"] == "https://elsewhere.example"


def test_the_page_is_served_with_its_scripts_and_a_strict_policy(news_rag: RAG) -> None:
    api = client(create_app(scripted(news_rag)))
    page = api.get("/")
    assert page.headers["content-type"].startswith("text/html") and '<script src="app.js"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"] and "://" not in page.text  # all local
    assert api.get("/app.js").headers["content-type"].startswith("text/javascript")
    assert api.get("/style.css").status_code == 200


@pytest.mark.parametrize("flags, body", [
    (["-k", "0"], {"k": 0}),
    (["-k", "5000"], {"k": 5000}),
    (["--since", "notadate"], {"since": "notadate"}),
    (["--until", "2025-13-45"], {"until": "2025-13-45"}),
    (["--since", "2025-06", "--until", "2025-01"], {"since": "2025-06", "until": "2025-01"}),
    (["--publisher", "Valey Post"], {"outlets": ["Valey Post"]}),
])
def test_the_command_line_and_the_server_say_the_same_about_each_mistake(
        news_rag: RAG, flags: list[str], body: dict, capsys: pytest.CaptureFixture[str]) -> None:
    from rag.app.cli import main

    corpus, index_dir = news_rag.index.manifest["corpus"], news_rag.index.path.parent
    code = main(["--index-dir", str(index_dir), "search", "bridge repairs", "--corpus", corpus, *flags])
    said = " ".join(capsys.readouterr().err.split())
    served = client(create_app(scripted(news_rag))).post("/v1/search", json={"question": "bridge repairs", **body})
    assert code == 1 and said == f"error: {served.json()['error']['message']}"
