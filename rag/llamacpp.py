"""The optional llama.cpp runtime (``pip install rag-news[llama]``): the same Generator interface over a GGUF
file, greedy, with the model's own chat template. Decoding is several times faster than transformers bf16
on CPU (eval/bench_answer.py)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from rich.console import Console

from rag.config import GenerateSettings
from rag.errors import RagError
from rag.models import prepare_gguf


def available() -> bool:
    """Whether llama-cpp-python is installed."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppGenerator:
    """A GGUF chat model run by llama.cpp; same methods as ``rag.generate.Generator``."""

    runtime = "llama-cpp"

    def __init__(self, name: str, llm: Any, settings: GenerateSettings) -> None:
        """Wrap a loaded ``llama_cpp.Llama``; use ``LlamaCppGenerator.load`` to get one."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name = name
        self.llm = llm
        self.settings = settings
        self.context_window = min(llm.n_ctx(), settings.context_tokens)
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise RagError(f"{name}: the GGUF file has no chat template. Fix: use an instruct (chat) model.")
        self._eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "ignore")
        self._format = Jinja2ChatFormatter(template, eos_token=self._eos, bos_token="")

    @classmethod
    def load(cls, name_or_path: str = "default", settings: GenerateSettings | None = None,
             progress: bool = True) -> LlamaCppGenerator:
        """Assemble the GGUF if needed (once), then load it with llama.cpp."""
        from llama_cpp import Llama

        settings = settings or GenerateSettings()
        gguf = prepare_gguf(name_or_path, progress)
        status = Console(stderr=True).status(f"Loading model {name_or_path} (llama.cpp)...") if progress else None
        with status or contextlib.nullcontext():
            try:
                llm = Llama(str(gguf), n_ctx=settings.context_tokens, n_threads=settings.threads or os.cpu_count(),
                            verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise RagError(f"{gguf}: llama.cpp could not load the model ({exc}). Fix: use another model.") from None
        return cls(name_or_path, llm, settings)

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes, without any special tokens."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_chat_tokens(self, messages: list[dict[str, str]]) -> int:
        """Number of tokens of the chat-templated prompt, generation prompt included."""
        return len(self._tokens(messages))

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int | None = None) -> str:
        """Answer ``messages`` greedily and return only the new text, stripped."""
        return "".join(self.stream(messages, max_new_tokens)).strip()

    def stream(self, messages: list[dict[str, str]], max_new_tokens: int | None = None) -> Iterator[str]:
        """Yield the answer in pieces as it is generated; closing the iterator stops generation."""
        from rag.generate import _stripped

        tokens = self._tokens(messages)
        if len(tokens) > self.context_window:
            raise RagError(
                f"The prompt has {len(tokens)} tokens, more than the {self.context_window} allowed "
                "(generate.context_tokens). Fix: retrieve fewer passages or raise generate.context_tokens.")
        chunks = self.llm.create_completion(tokens, max_tokens=max_new_tokens or self.settings.max_new_tokens,
                                            temperature=0.0, stop=[self._eos], stream=True)
        return _stripped(chunk["choices"][0]["text"] for chunk in chunks)

    def _tokens(self, messages: list[dict[str, str]]) -> list[int]:
        prompt = self._format(messages=messages).prompt
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
