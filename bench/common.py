"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (f"p50 {percentile(ms, 50):7.1f} ms  p95 {percentile(ms, 95):7.1f} ms  "
            f"mean {statistics.fmean(ms):7.1f} ms  (n={len(ms)})")


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def seed_engine(tmp: Path):
    """The seed corpus copied under ``tmp`` and indexed with the default encoder, as a user's
    first ``make run`` builds it: what the benchmarks answer from."""
    import shutil  # noqa: PLC0415 - only the benchmarks that build an engine need these

    from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder  # noqa: PLC0415
    from embeddings.engine import Engine, EngineConfig  # noqa: PLC0415

    shutil.copytree(ROOT / "corpus" / "documents", tmp / "corpus")
    engine = Engine(EngineConfig(tmp / "corpus", tmp / "index", tmp / "data"),
                    load_encoder(DEFAULT_MODEL, ROOT / "data").load())
    engine.rebuild()
    return engine
