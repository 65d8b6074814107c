"""Settings: defaults, TOML file, environment, overrides, every value checked where it was set."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import SettingsError


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text('[retrieve]\nk = 7\nmax_per_article = 2\n[generate]\nmodel = "fast"\n')
    settings = Settings.load(config, env={"RAG_RETRIEVE__K": "9", "RAG_INDEX__BF16": "false"})
    assert settings.retrieve.k == 9 and settings.retrieve.max_per_article == 2
    assert settings.generate.model == "fast" and settings.index.bf16 is False
    assert settings.replace(**{"retrieve.k": 3, "generate.model": None}).retrieve.k == 3
    assert Settings.from_dict(settings.to_dict()) == settings


def test_each_value_remembers_where_it_was_set(tmp_path: Path) -> None:
    config = tmp_path / "rag.toml"
    config.write_text("[retrieve]\nk = 7\n")
    settings = Settings.load(config, env={"RAG_ANSWER__K": "3"}).replace(origin="flag -k", **{"answer.related": 1})
    assert settings.origin("retrieve.k") == str(config)
    assert settings.origin("answer.k") == "environment RAG_ANSWER__K"
    assert settings.origin("answer.related") == "flag -k" and settings.origin("chunk.max_tokens") == "default"


@pytest.mark.parametrize("text, message", [
    ("[retrieve]\nkk = 1\n", "unknown setting retrieve.kk"),
    ("[nope]\nk = 1\n", "unknown settings section 'nope'"),
    ("[retrieve]\nk = 'many'\n", r"retrieve.k = 'many' has the wrong type. Fix: give a whole number"),
    ("[retrieve]\nk = 2.5\n", r"retrieve.k = 2.5 has the wrong type"),
    ("[retrieve\n", "not valid TOML"),
    ("[retrieve]\nfusion = 'mean'\n", r"retrieve.fusion = 'mean' is not allowed. Fix: use one of score, rrf"),
    ("[generate]\nruntime = 'onnx'\n", r"generate.runtime = 'onnx' is not allowed"),
    ("[answer]\nk = 0\n", r"answer.k = 0 is out of range. Fix: use a value between 1 and 20"),
    ("[retrieve]\ndense_weight = -1\n", r"retrieve.dense_weight = -1.0 is out of range. Fix: use a value at least 0"),
    ("[index]\nbf16 = 'maybe'\n", r"index.bf16 = 'maybe' has the wrong type. Fix: give true or false"),
    ("[generate]\nmodel = ''\n", r"generate.model is empty"),
])
def test_bad_settings_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "rag.toml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=message) as error:
        Settings.load(config, env={})
    assert str(error.value).startswith(f"{config}: ")


def test_a_bad_environment_variable_is_named() -> None:
    with pytest.raises(SettingsError, match="environment RAG_RETRIEVE__FUSION: retrieve.fusion = 'x'"):
        Settings.load(env={"RAG_RETRIEVE__FUSION": "x"})


def test_missing_settings_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        Settings.load(tmp_path / "absent.toml", env={})
