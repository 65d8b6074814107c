"""Settings: defaults, TOML file, environment, overrides, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import RagError


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text('[retrieve]\nk = 7\nmax_per_article = 2\n[generate]\nmodel = "fast"\n')
    settings = Settings.load(config, env={"RAG_RETRIEVE__K": "9", "RAG_INDEX__BF16": "false"})
    assert settings.retrieve.k == 9 and settings.retrieve.max_per_article == 2
    assert settings.generate.model == "fast" and settings.index.bf16 is False
    assert settings.replace(**{"retrieve.k": 3, "generate.model": None}).retrieve.k == 3
    assert Settings.from_dict(settings.to_dict()) == settings


@pytest.mark.parametrize("text, message", [
    ("[retrieve]\nkk = 1\n", "unknown setting retrieve.kk"),
    ("[nope]\nk = 1\n", "unknown settings section 'nope'"),
    ("[retrieve]\nk = 'many'\n", "expected int"),
    ("[retrieve\n", "not valid TOML"),
])
def test_bad_settings_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "rag.toml"
    config.write_text(text)
    with pytest.raises(RagError, match=message) as error:
        Settings.load(config, env={})
    assert str(config) in str(error.value)


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(RagError, match="not found"):
        Settings.load(tmp_path / "absent.toml", env={})
