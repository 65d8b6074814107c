"""The optional llama.cpp runtime (``pip install rag-news[llama]``): the Generator protocol over a GGUF
file, greedy, with the model's own chat template (eval/bench_answer.py compares it with transformers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from rag.config import GenerateSettings
from rag.errors import ModelError, QuestionError
from rag.generate.base import Capabilities, Messages, stripped
from rag.generate.models import MODELS, prepare_gguf
from rag.progress import Reporter, task


def available() -> bool:
    """Whether llama-cpp-python is installed."""
    import importlib.util

    return importlib.util.find_spec("llama_cpp") is not None


class LlamaCppGenerator:
    """A GGUF chat model run by llama.cpp (the ``Generator`` protocol)."""

    runtime = "llama-cpp"

    def __init__(self, name: str, llm: Any, settings: GenerateSettings,
                 capabilities: Capabilities | None = None) -> None:
        """Wrap a loaded ``llama_cpp.Llama``; use ``LlamaCppGenerator.load`` to get one."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.name = name
        self.capabilities = capabilities or Capabilities(prefix_cache=True)
        self.llm = llm
        self.settings = settings
        self.context_window = min(llm.n_ctx(), settings.context_tokens)
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{name}: the GGUF file has no chat template", "use an instruct (chat) model")
        self._eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "ignore")
        self._format = Jinja2ChatFormatter(template, eos_token=self._eos, bos_token="")

    @classmethod
    def load(cls, name_or_path: str = "default", settings: GenerateSettings | None = None,
             report: Reporter | None = None) -> LlamaCppGenerator:
        """Assemble the GGUF if needed (once), then load it with llama.cpp."""
        from llama_cpp import Llama

        settings = settings or GenerateSettings()
        gguf = prepare_gguf(name_or_path, report)
        with task(report, "model", f"Loading the {name_or_path} model (llama.cpp)"):
            try:
                llm = Llama(str(gguf), n_ctx=settings.context_tokens, n_threads=settings.threads or os.cpu_count(),
                            verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ModelError(f"{gguf}: llama.cpp could not load the model ({exc})", "use another model") from None
        spec = MODELS.get(name_or_path)
        return cls(name_or_path, llm, settings,
                   Capabilities(checks_answers=spec.checks_answers if spec else True, prefix_cache=True))

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes, without any special tokens."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_chat_tokens(self, messages: Messages) -> int:
        """Number of tokens of the chat-templated prompt, generation prompt included."""
        return len(self._tokens(messages))

    def generate(self, messages: Messages, max_new_tokens: int | None = None) -> str:
        """Answer ``messages`` greedily and return only the new text, stripped."""
        return "".join(self.stream(messages, max_new_tokens)).strip()

    def stream(self, messages: Messages, max_new_tokens: int | None = None) -> Iterator[str]:
        """Yield the answer in pieces as it is generated; closing the iterator stops generation."""
        tokens = self._tokens(messages)
        if len(tokens) > self.context_window:
            raise QuestionError(f"the prompt has {len(tokens)} tokens, more than the {self.context_window} allowed "
                                "(generate.context_tokens)", "ask a shorter question, give the model fewer "
                                "passages (answer.k) or raise generate.context_tokens")
        chunks = self.llm.create_completion(tokens, max_tokens=max_new_tokens or self.settings.max_new_tokens,
                                            temperature=0.0, stop=[self._eos], stream=True)
        return stripped(chunk["choices"][0]["text"] for chunk in chunks)

    def _tokens(self, messages: Messages) -> list[int]:
        prompt = self._format(messages=messages).prompt
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
