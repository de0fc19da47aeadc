"""Test doubles: a deterministic encoder whose similarities can be reasoned about by hand."""

from __future__ import annotations

import hashlib

import numpy as np

from corpus.clean import match_form


class HashEncoder:
    """Bag of character unigrams and bigrams hashed into ``dim`` buckets, L2-normalised:
    texts sharing characters are similar, unrelated texts are near orthogonal."""

    def __init__(self, dim: int = 512, name: str = "fake-hash"):
        self.dim = dim
        self.name = name
        self.encoded = 0

    def _vec(self, text: str) -> np.ndarray:
        text = match_form(text).replace(" ", "")
        v = np.zeros(self.dim, np.float32)
        grams = list(text) + [text[i : i + 2] for i in range(len(text) - 1)]
        for g in grams:
            h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_queries(self, texts):
        return np.vstack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_documents(self, texts, progress=None):
        self.encoded += len(texts)
        out = self.encode_queries(texts)
        if progress:
            progress(len(texts))
        return out


class FailingEncoder(HashEncoder):
    """Fails whenever it has documents to encode: a build that breaks after the cached part."""

    def encode_documents(self, texts, progress=None):
        raise RuntimeError("encoder exploded")
