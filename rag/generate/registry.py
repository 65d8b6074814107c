"""Which runtime runs a model: the one the settings name, or with "auto" the fastest installed one."""

from __future__ import annotations

import importlib.util

from rag.config import GenerateSettings
from rag.cpu import fast_bf16
from rag.errors import ModelError
from rag.generate.base import Generator
from rag.generate.models import MODELS
from rag.progress import Reporter


def order() -> tuple[str, ...]:
    """The runtimes, fastest first on this CPU (eval/bench_answer.py, eval/RESULTS.md): transformers in bf16
    where the CPU has bf16 matrix instructions (AMX or AVX-512 BF16), llama.cpp's quantised kernels elsewhere."""
    return ("transformers", "llama-cpp") if fast_bf16() else ("llama-cpp", "transformers")


def installed(runtime: str) -> bool:
    """Whether ``runtime``'s package is installed (transformers always is)."""
    return runtime == "transformers" or importlib.util.find_spec("llama_cpp") is not None


def can_run(runtime: str, model: str) -> bool:
    """Whether ``runtime`` can load ``model`` (a registered name, a .gguf file or a transformers folder)."""
    if runtime == "llama-cpp":
        return model in MODELS or model.lower().endswith(".gguf")
    return True


def choose(settings: GenerateSettings) -> str:
    """The runtime for ``settings.model``: ``settings.runtime`` itself, or with "auto" the first of
    ``order()`` that is installed and can run the model."""
    if settings.runtime != "auto":
        if not installed(settings.runtime):
            raise ModelError(f"generate.runtime = {settings.runtime}, but llama-cpp-python is not installed",
                             "pip install -e '.[llama]' (compiles for a few minutes), or use transformers")
        return settings.runtime
    return next(r for r in order() if installed(r) and can_run(r, settings.model))


def load_generator(settings: GenerateSettings | None = None, report: Reporter | None = None) -> Generator:
    """Load ``settings.model`` on the runtime ``choose`` picks (preparing the model once if needed)."""
    settings = settings or GenerateSettings()
    runtime = choose(settings)
    if runtime == "llama-cpp":
        from rag.generate.llamacpp import LlamaCppGenerator

        return LlamaCppGenerator.load(settings.model, settings, report)
    from rag.generate.transformers import TransformersGenerator

    return TransformersGenerator.load(settings.model, settings, report)
