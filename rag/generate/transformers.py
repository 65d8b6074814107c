"""The transformers runtime: the model's bf16 weights, greedy decoding, as one string or streamed in pieces.

Always installed. Prefill is fast on CPUs with bf16 matrix units, decoding is slow (about 6 tokens/s
for the 1.5B model on 2 cores); ``rag.generate.llamacpp`` decodes several times faster.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

import rag._offline  # noqa: F401  (must run before transformers is imported)
from rag.config import GenerateSettings
from rag.errors import ModelError, QuestionError
from rag.generate.base import Capabilities, Messages, stripped
from rag.generate.models import MODELS, hf_progress_bars_off, prepare_model
from rag.progress import Reporter, task


class TransformersGenerator:
    """A loaded chat model run by transformers in bf16, answering greedily."""

    runtime = "transformers"

    def __init__(self, name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 settings: GenerateSettings, capabilities: Capabilities | None = None) -> None:
        """Wrap an already loaded model; use ``TransformersGenerator.load`` to get one."""
        self.name = name
        self.capabilities = capabilities or Capabilities()
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        limit = getattr(model.config, "max_position_embeddings", None) or settings.context_tokens
        self.context_window = min(limit, settings.context_tokens)

    @classmethod
    def load(cls, name_or_path: str = "default", settings: GenerateSettings | None = None,
             report: Reporter | None = None) -> TransformersGenerator:
        """Prepare the model if needed (once), then load it in bf16 with its tokenizer, ready for greedy decoding."""
        settings = settings or GenerateSettings()
        folder = prepare_model(name_or_path, report)
        if settings.threads > 0:
            torch.set_num_threads(settings.threads)
        try:
            with task(report, "model", f"Loading the {name_or_path} model (transformers)"), hf_progress_bars_off():
                tokenizer = AutoTokenizer.from_pretrained(folder)
                model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16)
        except (OSError, ValueError, RuntimeError) as exc:
            reason = str(exc).rstrip(".")
            raise ModelError(f"{folder}: could not load the model ({reason})", "delete the folder to prepare "
                             "it again, or use another model") from None
        if not tokenizer.chat_template:
            raise ModelError(f"{folder}: the tokenizer has no chat template", "use an instruct (chat) model")
        model.eval()
        _configure_greedy(model, tokenizer)
        spec = MODELS.get(name_or_path)
        return cls(name_or_path, model, tokenizer, settings,
                   Capabilities(checks_answers=spec.checks_answers if spec else True))

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes, without any special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def count_chat_tokens(self, messages: Messages) -> int:
        """Number of tokens of the chat-templated prompt, generation prompt included."""
        return int(self._encode(messages)["input_ids"].shape[1])

    def generate(self, messages: Messages, max_new_tokens: int | None = None) -> str:
        """Answer ``messages`` greedily and return only the new text, stripped."""
        inputs = self._checked_inputs(messages)
        output = self.model.generate(**inputs, max_new_tokens=max_new_tokens or self.settings.max_new_tokens)
        new_tokens = output[0, inputs["input_ids"].shape[1]:]
        return self.tokenizer.decode(new_tokens, skip_special_tokens=True).strip()

    def stream(self, messages: Messages, max_new_tokens: int | None = None) -> Iterator[str]:
        """Yield the answer in pieces as it is generated; their concatenation equals ``generate()``'s result.

        Closing the iterator early (``close()``, ``break``, Ctrl-C) stops generation at the next token and
        joins the worker thread.
        """
        inputs = self._checked_inputs(messages)  # raise on bad input now, not at the first next()
        return self._stream(inputs, max_new_tokens or self.settings.max_new_tokens)

    def _stream(self, inputs: dict[str, Any], max_new_tokens: int) -> Iterator[str]:
        """Run generate() in a thread feeding a streamer; stop it via an event when the consumer leaves."""
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        stop = threading.Event()
        failures: list[BaseException] = []

        def work() -> None:
            try:
                self.model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    streamer=streamer,
                    stopping_criteria=StoppingCriteriaList([_StopWhenSet(stop)]),
                )
            except BaseException as exc:  # handed to the consumer below
                failures.append(exc)
                streamer.end()

        worker = threading.Thread(target=work, name="rag-generate", daemon=True)
        worker.start()
        try:
            yield from stripped(streamer)
        finally:
            stop.set()
            worker.join()
        if failures:
            raise failures[0]

    def _encode(self, messages: Messages) -> dict[str, Any]:
        """Apply the model's chat template with the generation prompt and return model inputs."""
        return self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"
        )

    def _checked_inputs(self, messages: Messages) -> dict[str, Any]:
        """Encode ``messages``, refusing a prompt longer than the context window."""
        inputs = self._encode(messages)
        length = int(inputs["input_ids"].shape[1])
        if length > self.context_window:
            raise QuestionError(f"the prompt has {length} tokens, more than the {self.context_window} allowed "
                                "(generate.context_tokens)", "ask a shorter question, give the model fewer "
                                "passages (answer.k) or raise generate.context_tokens")
        return inputs


class _StopWhenSet(StoppingCriteria):
    """Stops generation once its event is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool, device=input_ids.device)


def _configure_greedy(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    """Make greedy decoding the default and drop sampling flags, so generate() warns about nothing."""
    config = model.generation_config
    config.do_sample = False
    config.temperature = None
    config.top_p = None
    config.top_k = None
    eos = config.eos_token_id
    eos_ids = list(eos) if isinstance(eos, (list, tuple)) else [eos] if eos is not None else []
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in eos_ids:
        eos_ids.append(tokenizer.eos_token_id)
    config.eos_token_id = eos_ids
    if config.pad_token_id is None:
        config.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos_ids[0]
