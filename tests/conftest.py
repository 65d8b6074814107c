"""Test session set-up: no network at all, shared real-model fixtures over the seed corpus."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))


# The fast model on transformers, the runtime of the default install (CI has no llama-cpp-python);
# tests/test_llamacpp.py covers the optional llama.cpp runtime where it is installed.
FAST = {"generate.model": "fast", "generate.runtime": "transformers"}


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to open a network connection."""


def _refuse(self: socket.socket, address: object, *args: object, **kwargs: object) -> None:
    if self.family == socket.AF_UNIX:
        return _connect(self, address, *args, **kwargs)
    raise NetworkBlocked(f"test tried to connect to {address!r}: nothing may use the network")


_connect = socket.socket.connect
_create_connection = socket.create_connection
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def pytest_configure(config: pytest.Config) -> None:
    """Block every outgoing connection for the whole session, so a download fails loudly."""
    socket.socket.connect = _refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = _refuse  # type: ignore[method-assign]
    socket.create_connection = lambda address, *a, **k: (_ for _ in ()).throw(  # type: ignore[assignment]
        NetworkBlocked(f"test tried to connect to {address!r}"))


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This test may connect to servers it started on the loopback address; every other address stays blocked."""
    def connect(self: socket.socket, address: object, *args: object, **kwargs: object) -> None:
        if self.family == socket.AF_UNIX or (isinstance(address, tuple) and address[0] in LOOPBACK):
            return _connect(self, address, *args, **kwargs)
        raise NetworkBlocked(f"test tried to connect to {address!r}: only the loopback address is allowed")

    def create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        if address[0] in LOOPBACK:
            return _create_connection(address, *args, **kwargs)
        raise NetworkBlocked(f"test tried to connect to {address!r}: only the loopback address is allowed")
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from code defaults only: no RAG_SECTION__KEY variable leaks into a test."""
    for name in [n for n in __import__("os").environ if n.startswith("RAG_") and "__" in n]:
        monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index folder built once over the seed corpus."""
    return tmp_path_factory.mktemp("embeddings")


@pytest.fixture(scope="session")
def seed_rag(seed_index_dir: Path):  # noqa: ANN201
    """The RAG over the seed corpus with default settings and the real embedder."""
    from rag import RAG, Settings

    return RAG.open(SEEDS, index_dir=seed_index_dir, settings=Settings())


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed folder."""
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def fast_rag(seed_index_dir: Path):  # noqa: ANN201
    """The seed RAG answering with the real fast (0.5B) model, loaded once per session."""
    from rag import RAG, Settings

    return RAG.open(SEEDS, index_dir=seed_index_dir, settings=Settings().replace(**FAST))


MODEL_FIXTURES = {"fast_rag"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test that uses a real answering model is marked ``model`` and ``slow`` (``make quick`` skips them)."""
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
            item.add_marker(pytest.mark.slow)
