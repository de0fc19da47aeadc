"""How an engine keeps up with the other processes serving the same index: which generation they
published (the store's alias when the store keeps the index files — a Milvus server — else the
index directory's manifest, which replicas on one volume share), fetching a published generation
from the store, and one rebuild at a time among them (the store's claim, else a lock file)."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from corpus.errors import QabotError
from embeddings.index.build import swap_in
from embeddings.index.manifest import IndexProblem, read_manifest
from embeddings.store import StoreBusy, StoreProblem, VectorStore

log = logging.getLogger(__name__)


class RebuildInProgress(QabotError, RuntimeError):
    """A rebuild was asked for while another one runs (in this process or another replica)."""


def process_lock(index_dir: Path) -> FileLock:
    """The lock file beside the index directory: one rebuild at a time among all processes
    sharing it (replicas on one host or a shared volume)."""
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(index_dir.parent / f".{index_dir.name}.rebuild.lock")


@contextmanager
def no_other_rebuild(index_dir: Path, store: VectorStore):
    """Held for a rebuild; RebuildInProgress at once when another process holds it: the store's
    claim when it has one (a Milvus server: replicas on other machines), else the lock file."""
    claim = store.rebuild_claim()
    if claim is not None:
        try:
            with claim:
                yield
        except StoreBusy as e:
            raise RebuildInProgress(str(e)) from None
        return
    lock = process_lock(index_dir)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RebuildInProgress("a rebuild is already running in another process") from None
    try:
        yield
    finally:
        lock.release()


def wait_for_other_rebuild(index_dir: Path, store: VectorStore, every_s: float) -> None:
    """Until the rebuild another process holds is over (or its process died)."""
    claim = store.rebuild_claim()
    if claim is not None:
        claim.wait(every_s)
    else:
        with process_lock(index_dir):
            pass


class Published:
    """Which generation the other processes published, as cheaply as it can be known."""

    def __init__(self, index_dir: Path, store: VectorStore):
        self.index_dir, self.store = Path(index_dir), store
        self._seen: tuple | None = None  # the manifest's stamp when it was last read

    def _stamp(self) -> tuple | None:
        try:
            st = (self.index_dir / "manifest.json").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def loaded(self) -> None:
        """The index directory was just loaded: its manifest is seen."""
        self._seen = self._stamp()

    def newer_than(self, build_id: str, force: bool = False) -> str | None:
        """The generation published, if it is not ``build_id``: the store's (one call) when it
        keeps the files, else the manifest's (one stat; ``force`` reads it whatever the stat)."""
        if self.store.keeps_files:
            try:
                current = self.store.current()
            except StoreProblem as e:
                log.warning("Cannot ask the store for a new generation: %s", e)
                return None
            return current if current and current != build_id else None
        stamp = self._stamp()
        if stamp == self._seen and not force:
            return None
        try:
            _, manifest = read_manifest(self.index_dir)
        except IndexProblem:
            return None  # mid-swap or broken: keep serving what is loaded
        if manifest.build_id == build_id:
            self._seen = stamp
            return None
        return manifest.build_id

    def fetch(self) -> None:
        """The store's published generation into the index directory, unless it is there."""
        current = self.store.current()
        if current is None:
            return  # nothing published yet: the directory (if any) is all there is
        try:
            if read_manifest(self.index_dir)[1].build_id == current:
                return
        except IndexProblem:
            pass
        started = time.perf_counter()
        self.index_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{self.index_dir.name}.fetching.", dir=self.index_dir.parent))
        try:
            self.store.fetch_files(current, staging)
            swap_in(staging, self.index_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        log.info("Fetched index generation %s from %s in %.1f s", current[:8], self.store.describe(),
                 time.perf_counter() - started)
