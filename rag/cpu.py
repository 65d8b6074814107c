"""What the CPU can do fast: bf16 matrix arithmetic (AMX or AVX-512 BF16), read from the kernel's flags.

Measured on two 2-core machines of the same kind (eval/RESULTS.md): with AMX, torch bf16 prefills the
1.5B model at ~300 tokens/s; on an AVX2-only AMD EPYC it prefills at ~5 tokens/s (fp32: ~31), so the
runtime and the embedder's precision are chosen by this, not assumed.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


@lru_cache(maxsize=4)
def flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU feature flags the kernel reports for the first core (empty where ``cpuinfo`` is absent)."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags") and ":" in line:
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def fast_bf16() -> bool:
    """Whether the CPU has bf16 matrix instructions (AMX or AVX-512 BF16), so torch's bf16 kernels are fast."""
    return bool(BF16_FLAGS & flags())
