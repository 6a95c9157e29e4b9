"""Progress of a batch: over the videos, and within each video (frames of each pass).

One process shows the bars.  In a serial batch the passes draw their own tqdm bars;
batch workers (local processes or Dask workers) instead send small messages to the
process that shows them, through a *sink* set in the worker (:func:`set_sink`):
``{"worker": id, "desc": "track+pose clip.mp4", "n": frames done, "total": frames}``,
at most a few per second.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]
_local = threading.local()  # a Dask worker may run tasks in several threads
#: Seconds between two messages of one bar.
INTERVAL_S = 0.5


def set_sink(sink: Callable[[Message], None] | None) -> None:
    """Send this thread's frame progress to ``sink`` (None: draw tqdm bars again)."""
    _local.sink = sink


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


class SinkBar:
    """The part of tqdm's interface the passes use, reporting to the sink."""

    def __init__(self, total: int | None, desc: str, sink: Callable[[Message], None]) -> None:
        self.total, self.desc, self.n, self._sink = total, desc, 0, sink
        self._sent = 0.0
        self._worker = worker_id()

    def _send(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._sent >= INTERVAL_S:
            self._sent = now
            try:
                self._sink({"worker": self._worker, "desc": self.desc, "n": self.n,
                            "total": self.total})
            except Exception:  # progress never fails a video
                pass

    def update(self, n: int = 1) -> None:
        self.n += n
        self._send()

    def set_postfix(self, *_args: Any, **_kw: Any) -> None:
        pass

    def __enter__(self) -> SinkBar:
        self._send(force=True)
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._send(force=True)


def sink_bar(total: int | None, desc: str) -> SinkBar | None:
    """A bar reporting to this process's sink, or None when it has none."""
    sink = getattr(_local, "sink", None)
    return SinkBar(total, desc, sink) if sink is not None else None


class BatchDisplay:
    """The bars of a batch: one over the videos and one per busy worker (thread-safe)."""

    def __init__(self, n_videos: int, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self.enabled = enabled
        self._lock = threading.Lock()
        self._workers: dict[str, Any] = {}
        self.videos = tqdm(total=n_videos, desc="videos", unit="video", disable=not enabled,
                           dynamic_ncols=True, position=0)
        self.failed = 0

    def message(self, msg: Message) -> None:
        """A frame progress message from a worker."""
        if not self.enabled:
            return
        with self._lock:
            bar = self._workers.get(msg["worker"])
            if bar is None:
                bar = self._tqdm(total=msg.get("total"), unit="frame", dynamic_ncols=True,
                                 position=len(self._workers) + 1, leave=False)
                self._workers[msg["worker"]] = bar
            if bar.desc != msg["desc"] + ": ":
                bar.reset(total=msg.get("total"))
                bar.set_description(msg["desc"])
            bar.n = int(msg["n"])
            bar.refresh()

    def video_done(self, status: str) -> None:
        with self._lock:
            self.failed += status == "failed"
            self.videos.update(1)
            if self.failed:
                self.videos.set_postfix(failed=self.failed)

    def close(self) -> None:
        with self._lock:
            for bar in self._workers.values():
                bar.close()
            self.videos.close()


__all__ = ["BatchDisplay", "SinkBar", "set_sink", "sink_bar"]
