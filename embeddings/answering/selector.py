"""The learned parts of the answer step: which sentence holds the answer, which candidate in it
is the answer, and whether the documents answer the question at all.

Three LightGBM models over the features of ``features`` (sentence, span, gate), trained by
``python -m embeddings.answering.training`` (``make train``) on public reading-comprehension
data and committed in ``models/`` with a manifest (data checksums, settings, metrics). Loading
checks that the models were trained on the features this code computes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from embeddings.answering.features import GATE_FEATURES, SENTENCE_FEATURES, SPAN_FEATURES

MODELS_DIR = Path(__file__).resolve().parent / "models"
MODEL_FILES = {"sentence": "sentence.txt", "span": "span.txt", "gate": "gate.txt"}
FEATURES = {"sentence": SENTENCE_FEATURES, "span": SPAN_FEATURES, "gate": GATE_FEATURES}


class SelectorProblem(RuntimeError):
    """The committed models are missing, damaged or were trained on other features."""


@dataclass(frozen=True)
class GateThreshold:
    value: float  # answer a Chinese question when the gate's probability is at least this
    english: float  # the same for a question in another language (English)
    chosen_on: str  # which data chose them, and how

    def of(self, cross_lingual: bool) -> float:
        return self.english if cross_lingual else self.value


class Selector:
    """The three models, loaded once; thread-safe (predictions run one at a time per model,
    single-threaded: answers are composed in worker threads already)."""

    def __init__(self, directory: Path = MODELS_DIR):
        import lightgbm as lgb  # noqa: PLC0415 - only once answers are composed

        try:
            self.manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            self._models = {name: lgb.Booster(model_file=str(directory / f)) for name, f in MODEL_FILES.items()}
        except (OSError, ValueError, lgb.basic.LightGBMError) as e:
            raise SelectorProblem(f"the answer models in {directory} cannot be read ({e}); run `make train`") from e
        for name, booster in self._models.items():
            if tuple(booster.feature_name()) != FEATURES[name]:
                raise SelectorProblem(f"the {name} model in {directory} was trained on other features; run `make train`")
        gate = self.manifest["gate"]
        self.threshold = GateThreshold(float(gate["threshold"]), float(gate["threshold_english"]), gate["chosen_on"])
        self._locks = {name: threading.Lock() for name in self._models}

    def _predict(self, name: str, rows: np.ndarray) -> np.ndarray:
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float32)
        with self._locks[name]:
            return self._models[name].predict(rows, num_threads=1)

    def sentence_scores(self, rows: np.ndarray) -> np.ndarray:
        """Probability that each sentence holds the answer."""
        return self._predict("sentence", rows)

    def span_scores(self, rows: np.ndarray) -> np.ndarray:
        """A ranking score per candidate: higher is a better answer (comparable within a question)."""
        return self._predict("span", rows)

    def answerable(self, row: np.ndarray) -> float:
        """Probability that the passages answer the question."""
        return float(self._predict("gate", row.reshape(1, -1))[0])


@lru_cache(maxsize=1)
def default_selector() -> Selector:
    """The committed models (loaded once per process)."""
    return Selector()
