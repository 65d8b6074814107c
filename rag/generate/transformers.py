"""The transformers runtime: the model's weights in bf16 (float32 on a CPU without bf16 matrix instructions,
``rag.cpu``), greedy decoding, as one string or streamed in pieces.

Always installed. On a CPU with bf16 matrix units (AMX) it prefills fast (about 300-400 tokens/s for the
1.5B model on 2 cores), but one decoding step reads all 3 GB of weights (about 0.19 s); on an AVX2-only
CPU bf16 prefills at ~5 tokens/s and float32 at ~31, where llama.cpp is the runtime "auto" picks
(``rag.generate.registry``). Two things make decoding quick, both without changing the greedy output:

* prompt-lookup decoding (``generate.lookup_tokens``): answers copy words from their sources, so the
  next tokens are guessed from the prompt and checked in one step, which costs the same as one token;
* a prefix cache: the attention keys and values of the system message, and of recent prompts with
  their answers, are kept, so a prompt is prefilled only past its system message, and a new turn of
  the same conversation (the second look at an answer) only past the answer.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DynamicCache,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

import rag._offline  # noqa: F401  (must run before transformers is imported)
from rag.config import GenerateSettings
from rag.cpu import fast_bf16
from rag.errors import ModelError, QuestionError
from rag.generate.base import Capabilities, Messages, stripped
from rag.generate.models import MODELS, hf_progress_bars_off, prepare_model
from rag.progress import Reporter, task

PREFIX_CACHE_ENTRIES = 4  # recent prompts whose keys and values are kept (about 28 KB a token for the 1.5B)
MIN_SHARED_TOKENS = 8  # a shorter shared start is not worth copying a cache for
LOGIT_ROWS = 16_384  # rows of the output matrix turned to float32 at a time (about 100 MB for the 1.5B)


class TransformersGenerator:
    """A loaded chat model run by transformers in bf16, answering greedily."""

    runtime = "transformers"

    def __init__(self, name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase,
                 settings: GenerateSettings, capabilities: Capabilities | None = None) -> None:
        """Wrap an already loaded model; use ``TransformersGenerator.load`` to get one."""
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings
        self.capabilities = capabilities or Capabilities(prefix_cache=True)
        limit = getattr(model.config, "max_position_embeddings", None) or settings.context_tokens
        self.context_window = min(limit, settings.context_tokens)
        self.last_logprobs: list[float] = []  # of each token of the last reply, as the model chose it
        self._cache: OrderedDict[tuple[int, ...], DynamicCache] = OrderedDict()  # recent conversations' KV
        self._prefixes: OrderedDict[tuple[int, ...], DynamicCache] = OrderedDict()  # first messages' KV

    @classmethod
    def load(cls, name_or_path: str = "default", settings: GenerateSettings | None = None,
             report: Reporter | None = None) -> TransformersGenerator:
        """Prepare the model if needed (once), then load it in bf16 with its tokenizer, ready for greedy decoding."""
        settings = settings or GenerateSettings()
        folder = prepare_model(name_or_path, report)
        if settings.threads > 0:
            torch.set_num_threads(settings.threads)
        with task(report, "model", f"Loading the {name_or_path} model (transformers)"):
            try:
                with hf_progress_bars_off():
                    tokenizer = AutoTokenizer.from_pretrained(folder)
                    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.bfloat16 if fast_bf16()
                                                                 else torch.float32)
            except (OSError, ValueError, RuntimeError) as exc:
                reason = str(exc).rstrip(".")
                raise ModelError(f"{folder}: could not load the model ({reason})", "delete the folder to prepare "
                                 "it again, or use another model") from None
            if not tokenizer.chat_template:
                raise ModelError(f"{folder}: the tokenizer has no chat template", "use an instruct (chat) model")
            model.eval()
            _configure_greedy(model, tokenizer)
            with torch.inference_mode():  # the first pass builds the CPU kernels: pay for it now, not on a question
                model(input_ids=torch.tensor([tokenizer("Warm up the kernels.")["input_ids"] * 8]))
        spec = MODELS.get(name_or_path)
        return cls(name_or_path, model, tokenizer, settings,
                   Capabilities(checks_answers=spec.checks_answers if spec else True, prefix_cache=True))

    def count_tokens(self, text: str) -> int:
        """Number of tokens ``text`` takes, without any special tokens."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def count_chat_tokens(self, messages: Messages) -> int:
        """Number of tokens of the chat-templated prompt, generation prompt included."""
        return len(self._encode(messages))

    def generate(self, messages: Messages, max_new_tokens: int | None = None) -> str:
        """Answer ``messages`` greedily and return only the new text, stripped."""
        return "".join(self.stream(messages, max_new_tokens)).strip()

    def stream(self, messages: Messages, max_new_tokens: int | None = None, avoid: tuple[str, ...] = ()
               ) -> Iterator[str]:
        """Yield the answer in pieces as it is generated; their concatenation is ``generate()``'s result.
        The reply does not start with any of ``avoid`` (their first tokens). Closing the iterator early
        (``close()``, ``break``, Ctrl-C) stops generation after the current step."""
        ids = self._checked(messages)  # raise on bad input now, not at the first next()
        banned = [self.tokenizer(a, add_special_tokens=False)["input_ids"][0] for a in avoid]
        return stripped(self._text(self._tokens(ids, max_new_tokens or self.settings.max_new_tokens, banned)))

    def choice_logprobs(self, messages: Messages, choices: tuple[str, ...]) -> dict[str, float]:
        """Log-probability of the reply to ``messages`` starting with each of ``choices`` (the first token
        of each, over the whole vocabulary). The prompt's keys and values are kept, so streaming the
        same messages next costs no second prefill."""
        ids = self._checked(messages)
        cache, shared = self._cached(ids)
        with torch.inference_mode():
            out = self.model(input_ids=torch.tensor([ids[shared:]]), cache=cache, use_cache=True, logits_to_keep=1,
                             output_hidden_states=True)
            logprobs = torch.log_softmax(self._float_logits(out.hidden_states[-1][0, -1]), dim=0)
        self._remember(ids, out.cache)
        first = [self.tokenizer(c, add_special_tokens=False)["input_ids"][0] for c in choices]
        return {c: float(logprobs[t]) for c, t in zip(choices, first)}

    def _float_logits(self, state: torch.Tensor) -> torch.Tensor:
        """The next-token logits of a final hidden state computed in float32: bf16 logits move in steps of
        0.125 near the values that matter (a yes/no gap of 0.125 is P = 0.531), float32 ones do not."""
        weight = self.model.get_output_embeddings().weight
        state = state.float()
        return torch.cat([weight[n:n + LOGIT_ROWS].float() @ state for n in range(0, weight.shape[0], LOGIT_ROWS)])

    def _tokens(self, ids: list[int], max_new_tokens: int, banned: list[int] | None = None) -> Iterator[list[int]]:
        """Greedy decoding of the reply to ``ids``, yielding the new tokens of each step.

        Each step feeds the last token plus up to ``lookup_tokens`` guessed ones: the tokens that
        followed the latest earlier occurrence of the last few tokens (answers copy their sources).
        The model checks every guess in that one step (which costs about as much as a single token);
        the guesses it agrees with are kept, with its own next token, and the rest are cut from the cache.
        The output is the plain greedy one (``banned`` tokens never come first)."""
        cache, shared = self._cached(ids)
        if cache is None:
            cache = DynamicCache(config=self.model.config)
        sequence, pending, produced = list(ids), list(ids[shared:]), 0
        stops = set(self.model.generation_config.eos_token_id or [])
        self.last_logprobs = []
        with torch.inference_mode():
            while produced < max_new_tokens:
                guess = _lookup(sequence, self.settings.lookup_tokens) if produced else []
                guess = guess[:max(0, max_new_tokens - produced - 1)]
                out = self.model(input_ids=torch.tensor([pending + guess]), cache=cache, use_cache=True,
                                 logits_to_keep=len(guess) + 1)
                logits = out.logits[0]
                if banned and not produced:
                    logits[-1, banned] = float("-inf")
                best = logits.argmax(-1).tolist()
                agreed = next((n for n, (g, b) in enumerate(zip(guess, best)) if g != b), len(guess))
                chosen = torch.log_softmax(logits[:agreed + 1].float(), dim=-1)
                self.last_logprobs += chosen[range(agreed + 1), best[:agreed + 1]].tolist()
                if len(guess) > agreed:
                    cache.crop(agreed - len(guess))
                new = best[:agreed + 1]
                ended = next((n for n, t in enumerate(new) if t in stops), None)
                if ended is not None:
                    new = new[:ended]
                sequence += new
                produced += len(new)
                if new:
                    yield new
                if ended is not None:
                    break
                pending = [sequence[-1]]
        self._remember(sequence, cache)

    def _text(self, steps: Iterator[list[int]]) -> Iterator[str]:
        """The text of the tokens ``steps`` yields, in pieces as they come (whole characters only)."""
        tokens: list[int] = []
        shown = ""
        for new in steps:
            tokens += new
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            if text.endswith("\ufffd"):  # half of a character: wait for the rest
                continue
            if len(text) > len(shown):
                yield text[len(shown):]
                shown = text

    def _cached(self, ids: list[int]) -> tuple[DynamicCache | None, int]:
        """A private copy of a kept cache that ``ids`` starts with, and the number of tokens it covers.

        A prompt that continues a kept one (its answer, then a new turn) reuses all of it; any other prompt
        reuses the cache of its first message (the system message), computed alone once. Either way the
        result depends only on the prompt, not on which questions came before."""
        whole = [key for key in self._cache if len(key) <= len(ids) and _shared(key, ids) == len(key)]
        if whole:
            key = max(whole, key=len)
            self._cache.move_to_end(key)
            cache = copy.deepcopy(self._cache[key])
            if len(key) == len(ids):  # the same prompt again: the model must still see its last token
                cache.crop(-1)
            return cache, cache.get_seq_length()
        first = self._first_message_end(ids)
        if first < MIN_SHARED_TOKENS or first >= len(ids):
            return None, 0
        key = tuple(ids[:first])
        if key not in self._prefixes:
            with torch.inference_mode():
                out = self.model(input_ids=torch.tensor([list(key)]), use_cache=True)
            self._prefixes[key] = out.cache
            while len(self._prefixes) > PREFIX_CACHE_ENTRIES:
                self._prefixes.popitem(last=False)
        return copy.deepcopy(self._prefixes[key]), first

    def _first_message_end(self, ids: list[int]) -> int:
        """The number of tokens up to and including the end of the prompt's first message (0: none)."""
        end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        return ids.index(end) + 1 if isinstance(end, int) and end in ids else 0

    def _remember(self, ids: list[int], cache: Any) -> None:
        """Keep ``cache`` (the keys and values of ``ids``, or of all but the last token) for a prompt that
        continues this conversation."""
        if not isinstance(cache, DynamicCache) or cache.get_seq_length() < MIN_SHARED_TOKENS:
            return
        self._cache[tuple(ids[:cache.get_seq_length()])] = cache
        while len(self._cache) > PREFIX_CACHE_ENTRIES:
            self._cache.popitem(last=False)

    def _encode(self, messages: Messages) -> list[int]:
        """The token ids of ``messages`` in the model's chat template, with the generation prompt; when
        the last message is the assistant's, the reply continues it ("Answer:" ...)."""
        go_on = bool(messages) and messages[-1]["role"] == "assistant"
        encoded = self.tokenizer.apply_chat_template(messages, add_generation_prompt=not go_on,
                                                     continue_final_message=go_on, return_dict=True)
        return list(encoded["input_ids"])

    def _checked(self, messages: Messages) -> list[int]:
        """Encode ``messages``, refusing a prompt longer than the context window."""
        ids = self._encode(messages)
        if len(ids) > self.context_window:
            raise QuestionError(f"the prompt has {len(ids)} tokens, more than the {self.context_window} allowed "
                                "(generate.context_tokens)", "ask a shorter question, give the model fewer "
                                "passages (answer.k) or raise generate.context_tokens")
        return ids


def _lookup(sequence: list[int], size: int, longest: int = 3) -> list[int]:
    """Up to ``size`` tokens guessed to come next: those that followed the latest earlier occurrence of the
    sequence's last ``longest`` tokens (or fewer, down to one)."""
    if size <= 0:
        return []
    for n in range(min(longest, len(sequence) - 1), 0, -1):
        tail = sequence[-n:]
        for start in range(len(sequence) - n - 1, -1, -1):
            if sequence[start:start + n] == tail:
                return sequence[start + n:start + n + size]
    return []


def _shared(a: tuple[int, ...], b: list[int]) -> int:
    """Length of the common start of two token sequences."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


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
