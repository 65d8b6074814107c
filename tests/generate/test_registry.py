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
    monkeypatch.setattr(registry, "fast_bf16", lambda: False)
    assert choose(GenerateSettings(model="fast")) == "llama-cpp"
    assert choose(GenerateSettings(model="/models/qwen-folder")) == "transformers"  # llama.cpp needs a GGUF
    assert can_run("llama-cpp", "/models/x.GGUF") and not can_run("llama-cpp", "/models/folder")


@pytest.mark.parametrize("bf16, first", [(True, "transformers"), (False, "llama-cpp")])
def test_auto_prefers_transformers_only_where_the_cpu_has_bf16_matrix_instructions(
        monkeypatch: pytest.MonkeyPatch, bf16: bool, first: str) -> None:
    monkeypatch.setattr(registry, "installed", lambda runtime: True)
    monkeypatch.setattr(registry, "fast_bf16", lambda: bf16)
    assert registry.order()[0] == first and choose(GenerateSettings(model="default")) == first


def test_the_cpu_flags_are_read_from_the_kernels_cpuinfo(tmp_path) -> None:  # noqa: ANN001
    from rag import cpu

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512_bf16 fma\n\n"
                    "processor\t: 1\nflags\t\t: fpu\n")
    assert cpu.flags(info) == {"fpu", "sse2", "avx2", "avx512_bf16", "fma"}  # the first core's
    assert cpu.flags(tmp_path / "absent") == frozenset()
    assert cpu.fast_bf16() == bool(cpu.BF16_FLAGS & cpu.flags())
