"""Choosing the runtime: the one the settings name, or the fastest installed one that can run the model."""

from __future__ import annotations

import pytest

from rag.config import GenerateSettings, Settings
from rag.errors import ModelError, SettingsError
from rag.generate import registry
from rag.generate.registry import can_run, choose


def test_an_unknown_runtime_is_refused_when_the_settings_load() -> None:
    with pytest.raises(SettingsError, match="generate.runtime = 'onnx' is not allowed.*auto, transformers"):
        Settings().replace(**{"generate.runtime": "onnx"})


def test_asking_for_llama_cpp_without_it_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "installed", lambda runtime: runtime == "transformers")
    with pytest.raises(ModelError, match=r"pip install -e '\.\[llama\]'"):
        choose(GenerateSettings(model="fast", runtime="llama-cpp"))
    assert choose(GenerateSettings(model="fast", runtime="auto")) == "transformers"


def test_auto_takes_the_first_installed_runtime_that_can_run_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "installed", lambda runtime: True)
    monkeypatch.setattr(registry, "ORDER", ("llama-cpp", "transformers"))
    assert choose(GenerateSettings(model="fast")) == "llama-cpp"
    assert choose(GenerateSettings(model="/models/qwen-folder")) == "transformers"  # llama.cpp needs a GGUF
    assert can_run("llama-cpp", "/models/x.GGUF") and not can_run("llama-cpp", "/models/folder")
