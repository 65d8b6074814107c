"""The rag command: index, search, and one clear message (no traceback) for user mistakes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rag.app.cli import main
from tests.conftest import SEEDS


def test_index_then_search_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--index-dir", str(tmp_path), "index", str(SEEDS)]) == 0
    assert "10 articles" in capsys.readouterr().out
    assert main(["--index-dir", str(tmp_path), "index", str(SEEDS)]) == 0
    assert "up to date" in capsys.readouterr().out
    code = main(["--index-dir", str(tmp_path), "search", "What is the DSRB?", "-k", "3", "--json",
                 "--corpus", str(SEEDS)])
    passages = json.loads(capsys.readouterr().out)
    assert code == 0 and len(passages) == 3
    assert "Defense, Security and Resilience Bank" in passages[0]["text"]


def test_search_prints_ranked_passages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--index-dir", str(tmp_path), "search", "Who is the ESM director?", "--corpus", str(SEEDS)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] The bloc isn’t using") and "Gramegna" in out


@pytest.mark.parametrize("args, message", [
    (["search", "   "], "the question is empty"),
    (["index", "/no/such/folder"], "no such file or folder"),
])
def test_user_mistakes_get_one_message_and_exit_1(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run([sys.executable, "-m", "rag.app.cli", "--index-dir", str(tmp_path), *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert message in result.stderr.replace("\n", " ") and "Traceback" not in result.stderr


def test_bad_files_are_reported_and_the_rest_indexed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.jsonl").write_text('{"title": "Good", "body": "Fine text."}\n{broken\n')
    (corpus / "bin.txt").write_bytes(b"\x00\x00")
    assert main(["--index-dir", str(tmp_path / "ix"), "index", str(corpus)]) == 0
    captured = capsys.readouterr()
    err = " ".join(captured.err.split())
    assert "ok.jsonl:2" in err and "bin.txt: binary" in err and "1 article, 1 chunk in" in captured.out
    (corpus / "ok.jsonl").write_text("{broken\n")
    assert main(["--index-dir", str(tmp_path / "ix"), "index", str(corpus)]) == 1
    assert "nothing could be indexed" in " ".join(capsys.readouterr().err.split())


def test_ask_json_carries_the_short_answer(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from rag import RAG
    from tests.scripted import ScriptedGenerator

    question = "How much does the DSRB aim to fundraise?"
    probe = RAG.open(SEEDS, index_dir=tmp_path, generator=ScriptedGenerator())
    used = probe.answerer.draft(probe.flow.read(question), probe.search(question, k=probe.settings.answer.k)).used
    n = next(i for i, p in enumerate(used, 1) if "$135 billion" in p.text)
    rag = RAG.open(SEEDS, index_dir=tmp_path, generator=ScriptedGenerator(f" as much as $135 billion [{n}]"))
    monkeypatch.setattr("rag.app.cli.open_rag", lambda settings, quiet=False: rag)
    assert main(["--index-dir", str(tmp_path), "ask", question, "--json", "--corpus", str(SEEDS)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["answerable"] and answer["short"] == "$135 billion" and answer["citations"]


def test_a_mistyped_model_is_refused_before_anything_loads(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("rag.app.cli.open_rag", lambda *a, **k: pytest.fail("the index was opened"))
    assert main(["ask", "Who?", "--model", "fsat"]) == 1
    assert "fsat: no such model (did you mean 'fast'?)" in " ".join(capsys.readouterr().err.split())


def test_a_search_over_an_unchanged_index_prints_no_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    assert main(["--index-dir", str(tmp_path), "index", str(SEEDS)]) == 0
    capsys.readouterr()
    assert main(["--index-dir", str(tmp_path), "search", "What is the DSRB?", "--corpus", str(SEEDS)]) == 0
    assert capsys.readouterr().err == ""  # reading ten unchanged files is too quick to report


def test_eval_sample_draws_the_same_questions_every_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    questions = Path(__file__).resolve().parents[2] / "eval" / "blind.jsonl"
    ids = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.json"
        assert main(["--index-dir", str(tmp_path), "eval", str(questions), "--retrieval-only", "--split", "test",
                     "--sample", "7", "--corpus", str(SEEDS), "--out", str(out)]) == 0
        ids.append([r["id"] for r in json.loads(out.read_text())["records"]])
    assert len(ids[0]) == 7 and ids[0] == ids[1]
    everything = [json.loads(line)["id"] for line in questions.read_text().splitlines() if line.strip()]
    assert ids[0] == sorted(ids[0], key=everything.index)  # kept in the file's order
    with pytest.raises(SystemExit) as stop:
        main(["eval", str(questions), "--sample", "0"])
    assert stop.value.code == 2 and "at least 1" in capsys.readouterr().err
