"""The optional llama.cpp runtime (``pip install rag-news[llama]``): the Generator protocol over a GGUF
file, greedy, with the model's own chat template (eval/bench_answer.py compares it with transformers)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

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
        # Every llama.cpp call runs on this one thread, where torch never runs: on CPUs with AMX, llama.cpp
        # configures the tile registers once per thread, and torch's bf16 kernels (the embedder, the
        # transformers runtime) release them after each call; llama.cpp then faults (SIGILL) on that thread.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-cpp")
        self.capabilities = capabilities or Capabilities(prefix_cache=True)
        self.llm = llm
        self.settings = settings
        self.context_window = min(llm.n_ctx(), settings.context_tokens)
        template = llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{name}: the GGUF file has no chat template", "use an instruct (chat) model")
        self._eos = llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "ignore")
        self._format = Jinja2ChatFormatter(template, eos_token=self._eos, bos_token="")
        self._stops = {llm.token_eos()} | {t for name in ("<|im_end|>", "<|endoftext|>")
                                           for t in llm.tokenize(name.encode(), add_bos=False, special=True)[-1:]}
        self.last_logprobs: list[float] = []  # of each token of the last reply, as the model chose it

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

    def stream(self, messages: Messages, max_new_tokens: int | None = None, avoid: tuple[str, ...] = ()
               ) -> Iterator[str]:
        """Yield the answer in pieces as it is generated; closing the iterator stops generation. The reply
        does not start with any of ``avoid`` (its first token is chosen here, the rest by llama.cpp)."""
        tokens = self._checked(messages)
        limit = max_new_tokens or self.settings.max_new_tokens
        return stripped(self._on_thread(self._pieces(tokens, limit, avoid)))

    def choice_logprobs(self, messages: Messages, choices: tuple[str, ...]) -> dict[str, float]:
        """Log-probability of the reply starting with each of ``choices`` (their first token)."""
        logprobs = self._run(self._next_logprobs, self._checked(messages))
        return {c: float(logprobs[self._first_token(c)]) for c in choices}

    def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` on the llama.cpp thread."""
        return self._thread.submit(call, *args).result()

    def _on_thread(self, pieces: Iterator[str]) -> Iterator[str]:
        """``pieces``, each step run on the llama.cpp thread; closed there too."""
        done = object()
        try:
            while (piece := self._run(next, pieces, done)) is not done:
                yield piece
        finally:
            self._run(pieces.close)

    def _pieces(self, tokens: list[int], limit: int, avoid: tuple[str, ...]) -> Iterator[str]:
        """Greedy decoding, one token a step, keeping each chosen token's log-probability (``last_logprobs``);
        the first token is none of ``avoid``'s first tokens (renormalised without them)."""
        llm = self.llm
        self.last_logprobs = []
        logprobs = self._next_logprobs(tokens)
        if avoid:
            logprobs[[self._first_token(a) for a in avoid]] = -np.inf
            logprobs -= np.log(np.exp(logprobs - logprobs.max()).sum()) + logprobs.max()
        produced: list[int] = []
        shown = ""
        for _ in range(limit):
            token = int(np.argmax(logprobs))
            if token in self._stops:
                break
            self.last_logprobs.append(float(logprobs[token]))
            produced.append(token)
            text = llm.detokenize(produced).decode("utf-8", "replace")
            if not text.endswith("\ufffd") and len(text) > len(shown):  # wait for the rest of a character
                yield text[len(shown):]
                shown = text
            llm.eval([token])
            logprobs = _log_softmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)))

    def _next_logprobs(self, tokens: list[int]) -> np.ndarray:
        """Log-probabilities of the token after ``tokens``; only the part not already evaluated is evaluated."""
        llm = self.llm
        shared = min(llm.longest_token_prefix(llm._input_ids.tolist(), tokens), len(tokens) - 1)
        llm.n_tokens = shared
        llm.eval(tokens[shared:])
        return _log_softmax(np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)))

    def _first_token(self, text: str) -> int:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)[0]

    def _checked(self, messages: Messages) -> list[int]:
        tokens = self._tokens(messages)
        if len(tokens) > self.context_window:
            raise QuestionError(f"the prompt has {len(tokens)} tokens, more than the {self.context_window} allowed "
                                "(generate.context_tokens)", "ask a shorter question, give the model fewer "
                                "passages (answer.k) or raise generate.context_tokens")
        return tokens

    def _tokens(self, messages: Messages) -> list[int]:
        """The prompt's tokens in the model's chat template; a final assistant message is continued."""
        go_on = bool(messages) and messages[-1]["role"] == "assistant"
        prompt = self._format(messages=messages[:-1] if go_on else messages).prompt
        if go_on:
            prompt += messages[-1]["content"]
        return self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities (float64) from llama.cpp's float32 logits."""
    logits = logits.astype(np.float64)
    top = logits.max()
    return logits - top - np.log(np.exp(logits - top).sum())
