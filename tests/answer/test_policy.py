"""The fitted policy file: read and checked, a damaged or stale one a ModelError naming the fix."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rag.answer import policy
from rag.errors import ModelError

GOOD = {"features": ["p_confirm", "kind_given"], "weights": [2.0, 1.0], "bias": -0.5, "mean": [0.5, 0.9],
        "scale": [0.2, 0.3], "missing": [0.5, 1.0], "threshold": 0.6}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_the_shipped_policy_loads_and_uses_only_measured_signals() -> None:
    model = policy.load()
    assert set(model["features"]) <= policy.SIGNALS and 0 < model["threshold"] < 1


def test_the_confidence_is_the_logistic_model_of_the_file(tmp_path: Path) -> None:
    model = policy.load(_write(tmp_path, GOOD))
    z = -0.5 + 2.0 * (0.9 - 0.5) / 0.2 + 1.0 * (1.0 - 0.9) / 0.3  # kind_given missing: its missing value, 1.0
    assert policy.confidence({"p_confirm": 0.9}, model) == pytest.approx(1 / (1 + math.exp(-z)))


@pytest.mark.parametrize("data, says", [
    ("{not json", "cannot be read"),
    ([1, 2], "not a JSON object"),
    ({**GOOD, "threshold": "high"}, "no valid 'threshold'"),
    ({**GOOD, "weights": [1.0]}, "differ in length"),
    ({**GOOD, "features": ["p_confirm", "p_telepathy"]}, "signals this version does not measure: p_telepathy"),
    ({**GOOD, "mean": [0.5, "x"]}, "not a number"),
])
def test_a_damaged_or_stale_policy_is_a_model_error_with_the_fix(tmp_path: Path, data: object, says: str) -> None:
    with pytest.raises(ModelError, match=says) as error:
        policy.load(_write(tmp_path, data))
    assert "eval/fit_policy.py" in error.value.fix
