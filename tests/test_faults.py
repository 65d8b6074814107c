"""Faults and bad input, one test each: a clear message naming the path and the fix (or a self-healing
rebuild), no traceback, and the old index still searching afterwards. Then real processes: two writers,
a writer beside readers, and writers killed at random moments beside a reader."""

from __future__ import annotations

import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import RAG, CorpusError, IndexingError, QuestionError, Settings
from rag.app.console import print_index_report
from rag.corpus import load_corpus
from rag.embed import Embedder
from rag.generate import models
from rag.index import Index, IndexReport, check, load_index, open_index, store
from rag.progress import Event
from rag.retrieve import Filters
from tests.conftest import ROOT, NetworkBlocked
from tests.index.test_index import CountingEmbedder
from tests.test_engine import ScriptedGenerator

ARTICLES = {
    "comet.md": "# Astronomers spot a bright comet near Jupiter\n\nA telescope in Chile found the comet on Monday. "
                "It will pass Jupiter in March and may be seen without a telescope.\n",
    "bank.md": "# The central bank raises its main rate to 4 percent\n\nThe bank said inflation stayed high in the "
               "autumn. Markets had expected the rise after weak data.\n",
    "ferry.md": "# An electric ferry starts crossing the fjord\n\nThe ferry carries 300 passengers and charges its "
                "batteries at each quay. The operator plans two more boats.\n",
    "harvest.md": "# Drought cuts the wheat harvest by a third\n\nFarmers in the south lost most of their crop. The "
                  "ministry promised aid to the worst hit regions.\n",
}
EXTRA = "# The city museum reopens after repairs\n\nThe roof was fixed and the halls repainted. Entry is free.\n"
COMET = "Astronomers spot a bright comet near Jupiter"


@pytest.fixture(scope="module")
def embedder() -> CountingEmbedder:
    """The real embedder, counting what it embeds."""
    return CountingEmbedder()


@pytest.fixture
def news(tmp_path: Path) -> Path:
    """A folder of four short articles."""
    folder = tmp_path / "news"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _open(corpus: Path, index_dir: Path, embedder: CountingEmbedder, settings: Settings | None = None,
          wait: bool = False) -> tuple[Index, IndexReport, list[Event]]:
    """open_index over ``corpus``, with the progress events it sent (``wait``: as ``rag index`` does)."""
    events: list[Event] = []
    embedder.embedded = 0
    index, report = open_index(load_corpus(corpus), index_dir, settings or Settings(), embedder, report=events.append,
                               wait=wait)
    return index, report, events


def _notes(events: list[Event]) -> list[str]:
    return [e.description for e in events if e.stage == "note"]


def _top_title(index: Index, embedder: Embedder, question: str = "When will the comet pass Jupiter?",
               filters: Filters | None = None) -> str:
    """The title of the best passage ``rag.search`` finds in ``index``."""
    return RAG(index, embedder, Settings()).search(question, k=1, filters=filters)[0].title


def _searches_after(news: Path, index_dir: Path, embedder: CountingEmbedder) -> None:
    """Opening the index again needs no work, the index is whole, and search finds the comet."""
    index, report, _ = _open(news, index_dir, embedder)
    assert report.unchanged and embedder.embedded == 0
    assert check(index.path) == [] and _top_title(index, embedder) == COMET


def _cli(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """The ``rag`` command of this worktree, started in the background (after ``prefix``, a command that runs it)."""
    return subprocess.Popen([*prefix, sys.executable, "-m", "rag.app.cli", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _worker(*args: str) -> subprocess.Popen[str]:
    """A process of tests/fault_workers.py, started in the background."""
    return subprocess.Popen([sys.executable, "-m", "tests.fault_workers", *args], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


# --- the corpus --------------------------------------------------------------------------------

def test_a_missing_corpus_path(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="nowhere: no such file or folder. Fix: give the path of your articles"):
        RAG.open(tmp_path / "nowhere", index_dir=tmp_path / "ix")


def test_an_empty_corpus_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="empty: the folder is empty. Fix: put .txt, .md"):
        RAG.open(tmp_path / "empty", index_dir=tmp_path / "ix")


def test_binary_and_non_utf8_files_are_skipped_and_named(news: Path, tmp_path: Path,
                                                         embedder: CountingEmbedder) -> None:
    (news / "photo.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (news / "latin.txt").write_bytes("Caf\u00e9 cr\u00e8me, the menu of the week.".encode("latin-1"))
    corpus = load_corpus(news)
    problems = [str(p) for p in corpus.problems]
    assert problems == [f"{news / 'latin.txt'}:1: not UTF-8 (byte 3), skipped. Fix: re-save the file as UTF-8",
                        f"{news / 'photo.txt'}: binary file, skipped (expected UTF-8 text)"]
    index, _, _ = _open(news, tmp_path / "ix", embedder)
    assert len(index.articles) == 4 and _top_title(index, embedder) == COMET


def test_a_bad_jsonl_line_is_skipped_and_named(news: Path, tmp_path: Path, embedder: CountingEmbedder) -> None:
    (news / "wire.jsonl").write_text('{"title": "Harbour cranes arrive", "body": "Four new cranes came by sea."}\n'
                                     '{"title": "broken\n', encoding="utf-8")
    problems = [str(p) for p in load_corpus(news).problems]
    assert problems == [f"{news / 'wire.jsonl'}:2: not valid JSON (Unterminated string starting at), line skipped"]
    index, _, _ = _open(news, tmp_path / "ix", embedder)
    assert "harbour-cranes-arrive" in index.articles and _top_title(index, embedder) == COMET


@pytest.mark.parametrize("title_after", ["a blank line", "no blank line"])
def test_header_lines_back_to_back_are_headers(tmp_path: Path, embedder: CountingEmbedder, title_after: str) -> None:
    folder = tmp_path / "wire"
    folder.mkdir()
    gap = "\n" if title_after == "a blank line" else ""
    (folder / "wire.txt").write_text(f"Source: Science Wire\nDate: 2026-01-20\n{gap}{COMET}\n\nA telescope in "
                                     "Chile found the comet on Monday. It will pass Jupiter in March.\n")
    [article] = load_corpus(folder).articles
    assert (article.title, article.date, article.publisher) == (COMET, "2026-01-20", "Science Wire")
    assert article.text.startswith("A telescope in Chile") and article.lines == (3 + len(gap), 5 + len(gap))
    index, _, _ = _open(folder, tmp_path / "ix", embedder)
    assert _top_title(index, embedder, "Science Wire comet", Filters(date_from="2026-01-15")) == COMET


# --- the index on disk ---------------------------------------------------------------------------

@pytest.mark.parametrize("damage", ["deleted", "garbage"])
def test_a_deleted_or_garbage_faiss_file_rebuilds_with_the_reason_first(news: Path, tmp_path: Path,
                                                                        embedder: CountingEmbedder,
                                                                        damage: str) -> None:
    first, _, _ = _open(news, tmp_path / "ix", embedder)
    faiss_file = first.path / "index.faiss"
    faiss_file.unlink() if damage == "deleted" else faiss_file.write_bytes(b"not a faiss index")
    index, report, events = _open(news, tmp_path / "ix", embedder)
    assert report.rebuild_reason.startswith(f"{first.path}: index is missing files or corrupt")
    assert report.rebuild_reason.endswith("; rebuilding it") and embedder.embedded == len(index.chunks)
    stages = [e.stage for e in events]
    assert stages.index("note") < stages.index("chunk") < stages.index("embed")
    _searches_after(news, tmp_path / "ix", embedder)


MANIFEST_DAMAGE = {
    "a list": lambda m: [],
    "a string": lambda m: "index",
    "an empty object": lambda m: {},
    "no counts": lambda m: {k: v for k, v in m.items() if k != "counts"},
    "no articles": lambda m: {k: v for k, v in m.items() if k != "articles"},
    "no embedder": lambda m: {k: v for k, v in m.items() if k != "embedder"},
    "counts as text": lambda m: {**m, "counts": {"articles": "4", "chunks": "4"}},
    "articles as a list": lambda m: {**m, "articles": list(m["articles"])},
    "embedder as text": lambda m: {**m, "embedder": "all-MiniLM-L6-v2"},
}


@pytest.mark.parametrize("damage", MANIFEST_DAMAGE)
def test_a_manifest_of_the_wrong_shape_is_corrupt_and_rebuilt(news: Path, tmp_path: Path,
                                                              embedder: CountingEmbedder, damage: str) -> None:
    first, _, _ = _open(news, tmp_path / "ix", embedder)
    manifest = first.path / "manifest.json"
    manifest.write_text(json.dumps(MANIFEST_DAMAGE[damage](json.loads(manifest.read_text()))))
    with pytest.raises(IndexingError, match=r"index is corrupt \(manifest.json (is .*, not a JSON object|has )"):
        load_index(first.path)
    assert re.match(r"manifest.json (is .*, not a JSON object|has )", check(first.path)[0])
    index, report, events = _open(news, tmp_path / "ix", embedder)
    assert report.rebuild_reason.startswith(f"{first.path}: index is corrupt (manifest.json ")
    assert report.rebuild_reason.endswith("; rebuilding it") and _notes(events) == [report.rebuild_reason]
    _searches_after(news, tmp_path / "ix", embedder)


@pytest.mark.parametrize("code, message", [
    (errno.EACCES, "the index cannot be written in {dir} (Permission denied). Fix: make {dir} writable"),
    (errno.EROFS, "the index cannot be written in {dir} (Read-only file system)"),
    (errno.ENOSPC, "no space left on the device to write the index (No space left on device). Fix: free some "
                   "disk space"),
])
def test_a_write_failure_keeps_the_old_index_searching(news: Path, tmp_path: Path, embedder: CountingEmbedder,
                                                       monkeypatch: pytest.MonkeyPatch, code: int,
                                                       message: str) -> None:
    old, _, _ = _open(news, tmp_path / "ix", embedder)
    (news / "museum.md").write_text(EXTRA)

    def refused(file: object, *args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(file))

    monkeypatch.setattr(store.np, "save", refused)
    index, report, events = _open(news, tmp_path / "ix", embedder)
    expected = f"{old.path}: " + message.format(dir=tmp_path / "ix")
    assert str(report.write_error).startswith(expected) and not report.unchanged
    assert _notes(events) == [f"{report.write_error.problem}; the update is not saved and the index on disk is used "
                              f"as it was. Fix: {report.write_error.fix}"]
    assert index.path == old.path and len(index.articles) == 4 and _top_title(index, embedder) == COMET
    assert sorted(p.name for p in (tmp_path / "ix").iterdir()) == ["news"]  # no temp folder, no lock file left
    monkeypatch.undo()
    _, report, _ = _open(news, tmp_path / "ix", embedder)
    assert report.added == ["the-city-museum-reopens-after-repairs"] and report.write_error is None


def test_an_index_dir_that_is_a_file_is_one_error_before_any_work(news: Path, tmp_path: Path,
                                                                  embedder: CountingEmbedder) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    with pytest.raises(IndexingError) as error:
        _open(news, tmp_path / "notes.txt", embedder)
    assert str(error.value) == (f"{tmp_path / 'notes.txt'} is a file, not a folder: the index "
                                f"{tmp_path / 'notes.txt' / 'news'} cannot be written there. Fix: point --index-dir "
                                "(paths.index_dir) at a folder")
    assert embedder.embedded == 0


def test_a_full_rebuild_says_why_before_the_work_and_not_that_all_was_added(
        news: Path, tmp_path: Path, embedder: CountingEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    _open(news, tmp_path / "ix", embedder)
    settings = Settings().replace(**{"chunk.target_tokens": 100})
    index, report, events = _open(news, tmp_path / "ix", embedder, settings)
    assert "chunking" in report.rebuild_reason and _notes(events) == [report.rebuild_reason]
    stages = [e.stage for e in events]
    assert stages.index("note") < stages.index("chunk") < stages.index("embed") < stages.index("write")
    print_index_report(report, RAG(index, embedder, settings, report))
    line = " ".join(capsys.readouterr().err.split())
    assert line == f"index {index.path}: rebuilt, 4 articles, {len(index.chunks)} chunks embedded"


# --- the lock and safe cleanup ------------------------------------------------------------------

def test_a_second_writer_waits_for_the_lock_and_gives_up_with_its_pid(news: Path, tmp_path: Path,
                                                                      embedder: CountingEmbedder) -> None:
    old, _, _ = _open(news, tmp_path / "ix", embedder)
    lock = tmp_path / "ix" / ".news.lock"
    with store.locked(old.path, timeout_s=5):
        assert lock.read_text() == f"{os.getpid()}\n"
        started = time.monotonic()
        index, report, events = _open(news, tmp_path / "ix", embedder)  # a reader: no lock, no wait
        assert report.unchanged and not events and time.monotonic() - started < 2
        (news / "museum.md").write_text(EXTRA)
        settings = Settings().replace(**{"index.lock_timeout_s": 0.3})
        with pytest.raises(IndexingError) as error:
            _open(news, tmp_path / "ix", embedder, settings, wait=True)
    assert str(error.value) == (f"{lock}: the index {old.path} is still being written by pid {os.getpid()} after "
                                "0.3 s. Fix: wait for that process to finish (or stop it), or raise "
                                "index.lock_timeout_s")
    assert embedder.embedded == 0 and not lock.exists()
    _, report, _ = _open(news, tmp_path / "ix", embedder)
    assert report.added == ["the-city-museum-reopens-after-repairs"]


def test_the_wait_is_noted_once_with_the_pid(news: Path, tmp_path: Path, embedder: CountingEmbedder) -> None:
    old, _, _ = _open(news, tmp_path / "ix", embedder)
    (news / "museum.md").write_text(EXTRA)
    events: list[Event] = []
    with store.locked(old.path, timeout_s=5), pytest.raises(IndexingError):
        open_index(load_corpus(news), tmp_path / "ix", Settings().replace(**{"index.lock_timeout_s": 0.5}),
                   embedder, report=events.append, wait=True)
    assert _notes(events) == [f"waiting for pid {os.getpid()}, which is writing the index {old.path} (lock "
                              f"{tmp_path / 'ix' / '.news.lock'}); giving up after 0.5 s"]


def test_a_reader_of_a_changed_corpus_uses_the_index_on_disk_while_another_writer_updates_it(
        news: Path, tmp_path: Path, embedder: CountingEmbedder) -> None:
    old, _, _ = _open(news, tmp_path / "ix", embedder)
    (news / "museum.md").write_text(EXTRA)
    with store.locked(old.path, timeout_s=5):
        started = time.monotonic()
        index, report, events = _open(news, tmp_path / "ix", embedder)  # search / ask / chat: no wait
        assert time.monotonic() - started < 2 and embedder.embedded == 0
    assert report.busy_writer == str(os.getpid()) and not report.unchanged
    assert [c.id for c in index.chunks] == [c.id for c in old.chunks]
    assert _notes(events) == [f"pid {os.getpid()} is updating the index {old.path}: this uses the index on disk as "
                              "it was (run it again when that is done to see the changes)"]
    _, report, _ = _open(news, tmp_path / "ix", embedder)  # once the writer is done, the change is indexed
    assert report.added == ["the-city-museum-reopens-after-repairs"] and report.busy_writer is None


def test_only_dead_writers_temp_folders_are_removed(news: Path, tmp_path: Path, embedder: CountingEmbedder) -> None:
    _open(news, tmp_path / "ix", embedder)
    live_writer = subprocess.Popen(["sleep", "60"])
    dead_writer = subprocess.Popen(["true"])
    dead_writer.wait()
    try:
        live, dead = (tmp_path / "ix" / f".news.tmp-{p.pid}" for p in (live_writer, dead_writer))
        for temp in (live, dead):
            temp.mkdir()
            (temp / "chunks.jsonl").write_text("{}\n")
        _open(news, tmp_path / "ix", embedder)  # a reader
        assert live.is_dir() and not dead.exists()
        dead.mkdir()
        (news / "museum.md").write_text(EXTRA)
        _, report, _ = _open(news, tmp_path / "ix", embedder)  # a writer
        assert report.added and (live / "chunks.jsonl").is_file() and not dead.exists()
    finally:
        live_writer.kill()
        live_writer.wait()


def test_a_half_done_swap_is_read_meanwhile_and_finished_only_under_the_lock(news: Path, tmp_path: Path,
                                                                            embedder: CountingEmbedder) -> None:
    first, _, _ = _open(news, tmp_path / "ix", embedder)
    moved = tmp_path / "ix" / ".news.old"
    first.path.rename(moved)  # a writer between its two renames
    with store.locked(first.path, timeout_s=5):
        index, report, _ = _open(news, tmp_path / "ix", embedder)  # a reader meanwhile
        assert report.unchanged and _top_title(index, embedder) == COMET
        assert moved.is_dir() and not first.path.exists()  # the writer's swap is left to it
    (news / "museum.md").write_text(EXTRA)
    _, report, _ = _open(news, tmp_path / "ix", embedder)  # the next writer finishes it
    assert report.added == ["the-city-museum-reopens-after-repairs"] and report.rebuild_reason is None
    assert first.path.is_dir() and not moved.exists() and check(first.path) == []


def test_a_reader_whose_index_is_swapped_mid_read_reads_it_again(news: Path, tmp_path: Path,
                                                                 embedder: CountingEmbedder,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    first, _, _ = _open(news, tmp_path / "ix", embedder)
    read_jsonl, swaps = store.read_jsonl, []

    def a_writer_swaps_meanwhile(file: Path) -> list[dict]:
        if not swaps:  # after the old manifest was read: a writer adds an article and swaps its folder in
            swaps.append(file.name)
            (news / "museum.md").write_text(EXTRA)
            _open(news, tmp_path / "ix", embedder)
        return read_jsonl(file)

    monkeypatch.setattr(store, "read_jsonl", a_writer_swaps_meanwhile)
    index = load_index(first.path)
    assert swaps == ["articles.jsonl"] and len(index.articles) == index.manifest["counts"]["articles"] == 5
    assert check(first.path) == []


# --- models and input validation ---------------------------------------------------------------

def test_a_truncated_cached_model_is_noticed_and_prepared_again(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path))
    spec = models.MODELS["fast"]
    folder = tmp_path / "models" / spec.name / "bf16"
    folder.mkdir(parents=True)
    header = json.dumps({"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}).encode()
    weights = folder / "model.safetensors"
    weights.write_bytes(len(header).to_bytes(8, "little") + header + bytes(8))
    files = {"model.safetensors": weights.stat().st_size}
    (folder / models.MARKER).write_text(json.dumps({"source": spec.sha256, "files": files}))
    assert models.prepared_problem(folder, spec.sha256) is None
    weights.write_bytes(weights.read_bytes()[:-5])
    problem = f"{weights} has {files['model.safetensors'] - 5:,} bytes, not {files['model.safetensors']:,}"
    assert models.prepared_problem(folder, spec.sha256) == problem
    converted: list[Path] = []
    monkeypatch.setattr(models, "locate_parts", lambda spec: [])
    monkeypatch.setattr(models, "_gguf_ok", lambda gguf, spec: True)
    monkeypatch.setattr(models, "convert", lambda gguf, target, *args: converted.append(target))
    events: list[Event] = []
    assert models.prepare_spec(spec, events.append) == folder and converted == [folder]
    assert _notes(events) == [f"the cached fast model is damaged ({problem}): preparing it again"]


@pytest.fixture(scope="module")
def small_rag(tmp_path_factory: pytest.TempPathFactory, embedder: CountingEmbedder) -> RAG:
    """A RAG over the four articles, answering with crafted replies (no model is loaded)."""
    folder = tmp_path_factory.mktemp("small") / "news"
    folder.mkdir()
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    index, report = open_index(load_corpus(folder), folder.parent / "ix", Settings(), embedder)
    replies = ["The comet will pass Jupiter in March [1].", *["Yes"] * 5]
    return RAG(index, embedder, Settings(), report, generator=ScriptedGenerator(*replies))


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "3"])
def test_k_must_be_a_positive_whole_number(small_rag: RAG, k: object) -> None:
    message = f"k must be a whole number from 1 to 1000, not {k!r}. Fix: ask for 1 to 1000 passages"
    with pytest.raises(QuestionError, match=f"^{message.replace('.', '[.]')}$"):
        small_rag.search("comet", k=k)  # type: ignore[arg-type]
    with pytest.raises(QuestionError, match="k must be a whole number from 1 to 20"):
        small_rag.ask("comet", k=k)  # type: ignore[arg-type]


def test_k_none_means_the_setting(small_rag: RAG) -> None:
    assert len(small_rag.search("comet", k=None)) == min(Settings().retrieve.k, len(small_rag.index.chunks))


def test_rag_open_needs_paths(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"^corpus must be a path \(str or os.PathLike\), not None. Fix: pass the "
                                          "corpus file or folder$"):
        RAG.open(None)  # type: ignore[arg-type]
    with pytest.raises(IndexingError, match=r"^index_dir must be a path \(str or os.PathLike\), not 3"):
        RAG.open(tmp_path, index_dir=3)  # type: ignore[arg-type]


def test_a_20000_character_question_is_too_long_not_too_many_passages(small_rag: RAG) -> None:
    question = "comet " * 3333 + "ok"
    assert len(question) == 20_000
    message = ("the question is 20,000 characters long, more than the 2,000 allowed (answer.max_question_chars). "
               "Fix: ask a shorter question")
    for call in (small_rag.search, small_rag.ask):
        with pytest.raises(QuestionError) as error:
            call(question)
        assert str(error.value) == message


def test_no_network_connection_is_made_during_search_or_ask(small_rag: RAG) -> None:
    with pytest.raises(NetworkBlocked):
        socket.create_connection(("pypi.org", 443), timeout=1)
    with socket.socket() as sock, pytest.raises(NetworkBlocked):
        sock.connect(("127.0.0.1", 9))
    assert small_rag.search("When will the comet pass Jupiter?")[0].title == COMET
    assert small_rag.ask("When will the comet pass Jupiter?").text


# --- the command line, in real processes ---------------------------------------------------------

@pytest.mark.slow
def test_the_cli_gives_one_line_and_exit_1_for_each_fault(news: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("not a folder")
    cases = {
        "no such file or folder": ("--index-dir", str(tmp_path / "ix"), "index", str(tmp_path / "nowhere")),
        "the folder is empty": ("--index-dir", str(tmp_path / "ix"), "index", str(tmp_path / "empty")),
        "is a file, not a folder": ("--index-dir", str(tmp_path / "notes.txt"), "search", "comet",
                                    "--corpus", str(news)),
        "k must be a whole number from 1 to 20, not 0": ("--index-dir", str(tmp_path / "ix"), "ask", "comet", "-k", "0",
                                         "--corpus", str(news)),
        "the question is 20,000 characters long": ("--index-dir", str(tmp_path / "ix"), "search", "x" * 20_000,
                                                   "--corpus", str(news)),
    }
    running = {message: _cli(*args) for message, args in cases.items()}
    for message, process in running.items():
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 1, (message, stderr)
        assert "Traceback" not in stderr and "error: " in stderr
        assert message in " ".join(stderr.split()), stderr


@pytest.mark.slow
def test_a_read_only_index_dir_still_searches_and_index_says_why(news: Path, tmp_path: Path,
                                                                 embedder: CountingEmbedder) -> None:
    # root ignores file modes; without CAP_DAC_OVERRIDE it obeys them like anyone else
    prefix = ("setpriv", "--bounding-set", "-dac_override", "--") if os.geteuid() == 0 else ()
    if prefix and not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: a read-only folder cannot be made")
    index_dir = tmp_path / "ix"
    old, _, _ = _open(news, index_dir, embedder)
    (news / "museum.md").write_text(EXTRA)
    for folder in (old.path, index_dir):
        folder.chmod(0o555)
    try:
        index = _cli("--index-dir", str(index_dir), "index", str(news), prefix=prefix)
        search = _cli("--index-dir", str(index_dir), "search", "When will the comet pass Jupiter?", "-k", "1",
                      "--corpus", str(news), prefix=prefix)
        index_out, index_err = index.communicate(timeout=120)
        search_out, search_err = search.communicate(timeout=120)
    finally:
        for folder in (index_dir, old.path):
            folder.chmod(0o755)
    problem = f"{old.path}: the index cannot be written in {index_dir} (Permission denied)"
    assert index.returncode == 1 and "Traceback" not in index_err, index_err
    assert f"error: {problem}. Fix: make {index_dir} writable" in " ".join(index_err.split())
    assert search.returncode == 0 and "Traceback" not in search_err, search_err
    assert search_out.startswith(f"[1] {COMET}")
    assert f"note: {problem}; the update is not saved and the index on disk is used as it was" in \
        " ".join(search_err.split())
    assert sorted(p.name for p in index_dir.iterdir()) == ["news"] and check(old.path) == []


# --- concurrency ---------------------------------------------------------------------------------

def _many_articles(folder: Path, n: int = 40) -> None:
    """``n`` short synthetic articles (a build of 40 at 60-token chunks takes a second or two)."""
    rng = random.Random(15)
    topics = ["comet", "central bank", "election", "harbour", "vaccine", "railway", "drought", "chip factory",
              "museum", "ferry"]
    words = "rates inflation budget growth market council river harvest energy export workers union study".split()
    folder.mkdir()
    for i in range(n):
        topic = topics[i % len(topics)]
        sentences = [f"The {topic} report {i}.{s} names {' '.join(rng.sample(words, 5))}." for s in range(3)]
        (folder / f"a{i:02d}.md").write_text(f"# Article {i} on the {topic}\n\n" + " ".join(sentences) + "\n")


def _json_line(process: subprocess.Popen[str], timeout: float = 60) -> dict:
    """The JSON a worker prints last; its stderr in the failure message."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_writers_one_waits_and_nothing_is_embedded_twice(tmp_path: Path) -> None:
    news = tmp_path / "news"
    _many_articles(news, 12)
    index_dir = tmp_path / "ix"
    started = time.monotonic()
    first = _worker("writer", str(news), str(index_dir), "--slow", "4")
    second = _worker("writer", str(news), str(index_dir), "--wait-for-lock")
    one, two = _json_line(first), _json_line(second)
    assert one["embedded"] == one["chunks"] == two["chunks"] >= 12 and one["notes"] == []
    assert two["embedded"] == 0
    assert two["notes"] == [f"waiting for pid {one['pid']}, which is writing the index {index_dir / 'news'} (lock "
                            f"{index_dir / '.news.lock'}); giving up after 600 s"]
    assert check(index_dir / "news") == [] and sorted(p.name for p in index_dir.iterdir()) == ["news"]
    assert time.monotonic() - started < 60


@pytest.mark.slow
def test_readers_beside_a_writer_never_fail_nor_see_a_half_written_index(tmp_path: Path,
                                                                         embedder: CountingEmbedder) -> None:
    news = tmp_path / "news"
    _many_articles(news, 16)
    index_dir, stop = tmp_path / "ix", tmp_path / "stop"
    _open(news, index_dir, embedder)
    started = time.monotonic()
    readers = [_worker("reader", str(index_dir / "news"), str(stop), "comet report") for _ in range(2)]
    try:
        for reader in readers:
            assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
        for target in (60, 90, 60, 90):
            _, report, _ = _open(news, index_dir, embedder, Settings().replace(**{"chunk.target_tokens": target}))
            assert report.rebuild_reason
    finally:
        stop.touch()
    results = [_json_line(reader) for reader in readers]
    assert all(r["failures"] == [] for r in results), results
    assert all(r["reads"] > 0 for r in results) and max(r["versions"] for r in results) >= 2, results
    assert time.monotonic() - started < 60


@pytest.mark.slow
def test_writers_killed_at_random_moments_leave_an_index_that_opens_and_answers(tmp_path: Path,
                                                                                embedder: CountingEmbedder) -> None:
    news = tmp_path / "news"
    _many_articles(news)
    index_dir, stop = tmp_path / "ix", tmp_path / "stop"
    path = index_dir / "news"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    zygote = _worker("zygote", str(news), str(index_dir))
    reader = _worker("reader", str(path), str(stop), "comet report")

    def build(target_tokens: int, kill_after: float | None) -> int:
        """One writer, SIGKILLed ``kill_after`` seconds after it starts; its exit code."""
        zygote.stdin.write(f"build {target_tokens}\n")
        zygote.stdin.flush()
        pid = int(zygote.stdout.readline().split()[1])
        if kill_after is not None:
            time.sleep(kill_after)
            os.kill(pid, signal.SIGKILL)
        zygote.stdin.write(f"reap {pid}\n")
        zygote.stdin.flush()
        return int(zygote.stdout.readline().split()[1])

    try:
        assert zygote.stdout.readline().strip() == "ready", zygote.stderr.read()
        started = time.monotonic()
        assert build(60, None) == 0
        duration = time.monotonic() - started
        assert reader.stdout.readline().strip() == "ready", reader.stderr.read()
        codes = []
        for round in range(20):
            article = news / f"a{rng.randrange(40):02d}.md"
            article.write_text(article.read_text() + f"Update {round}.\n")
            codes.append(build(rng.choice([60, 72]), rng.uniform(0, 1.2 * duration)))
            assert codes[-1] in (0, -signal.SIGKILL), (seed, round, codes)
            assert check(path) == [], (seed, round)
            assert len(load_index(path).articles) == 40
        assert build(60, None) == 0
        assert codes.count(-signal.SIGKILL) >= 5, (seed, codes)
    finally:
        stop.touch()
        zygote.stdin.close()
        zygote.wait(timeout=60)
    found = _json_line(reader)
    assert found["failures"] == [] and found["reads"] > 0, (seed, found)
    index = load_index(path)
    assert check(path) == [] and not list(index_dir.glob(".news.*"))
    assert RAG(index, embedder, Settings()).search("comet report", k=1)[0].title.endswith("on the comet")
