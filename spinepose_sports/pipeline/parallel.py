"""Running a batch's videos: one after the other, in local worker processes, or on a
Dask distributed cluster.

Every way runs the same function on each video (:func:`run_job`, the batch policy of
:func:`~.batch.analyze_one`), in a worker that loads the models once, on the first video
that needs them (the stage cache may serve them all), and keeps them for the next.  The
parent plans every video's results folder before anything runs, so two workers never
write one folder; each worker writes its video's folder itself (with Dask: into the
output folder all machines share), and the parent only collects the outcomes.

* ``workers = 1``: in this process;
* ``workers = N``: N local processes (spawned, not forked: the models' thread pools do
  not survive a fork), each with ``cpu_count / N`` threads for the detector;
* ``scheduler = "tcp://HOST:8786"``: one Dask task per video (see docs/batch.md).

A video that fails is reported and the rest go on; a model that cannot load, or an
interruption, stops the batch (nothing could succeed).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import AnalyzeConfig
from .batch import analyze_one, plan_folders
from .cache import STAGE_SECTIONS, StageCache, cache_dir_of
from .job import VideoResult
from .progress import BatchDisplay, set_sink
from .stages import Stages, load_stages

#: The Dask event topic of frame progress messages.
PROGRESS_TOPIC = "spinepose-sports-progress"


@dataclass(frozen=True)
class Job:
    """One video of a batch: its path, its results folder and its settings."""

    path: Path
    folder: Path
    config: AnalyzeConfig


def plan_jobs(items: Sequence[tuple[Path, AnalyzeConfig]], output: Path) -> list[Job]:
    """Absolute paths and results folders for ``(video, settings)`` items (the folder
    rule of :func:`~.batch.plan_folders`), so that any worker anywhere finds them."""
    output = Path(output).absolute()
    paths = [Path(p).absolute() for p, _ in items]
    folders = plan_folders(paths, output)
    jobs = []
    for path, (_, config), folder in zip(paths, items, folders, strict=True):
        absolute: dict[str, str] = {}
        if Path(config.outputs.output) != output:
            absolute["output"] = str(output)
        cache = config.batch.cache_dir
        if cache is not None and not Path(cache).is_absolute():
            absolute["cache_dir"] = str(Path(cache).absolute())
        jobs.append(Job(path, folder, config.replace(**absolute) if absolute else config))
    return jobs


# --------------------------------------------------------------------------------------
# The worker side
# --------------------------------------------------------------------------------------

_loaded = threading.local()


def models_key(config: AnalyzeConfig) -> str:
    """The settings the loaded models depend on (workers reuse models across videos)."""
    tables = config.to_tables(skip_none=False)
    return repr([tables[s] for s in STAGE_SECTIONS if s != "input"])


def worker_stages(
    config: AnalyzeConfig, load: Callable[[AnalyzeConfig], Stages] | None = None
) -> Callable[[], Stages]:
    """A loader of ``config``'s models that loads them once per worker (thread)."""
    cache: dict[str, Stages] = _loaded.__dict__.setdefault("stages", {})
    key = models_key(config)

    def get() -> Stages:
        if key not in cache:
            cache.clear()  # one set of models at a time
            cache[key] = (load or (lambda c: load_stages(c, progress=False)))(config)
        return cache[key]

    return get


def run_job(job: Job, progress: bool = False) -> VideoResult:
    """Analyze one video of a batch in this worker (local process or Dask worker)."""
    if progress and _on_dask_worker():
        set_sink(_dask_sink)
    return analyze_one(job.path, job.folder, job.config, worker_stages(job.config),
                       progress=progress)


def _on_dask_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
    except (ImportError, ValueError):
        return False
    return True


def _dask_sink(msg: dict[str, Any]) -> None:
    from distributed import get_worker

    get_worker().log_event(PROGRESS_TOPIC, msg)


def _init_local_worker(queue: Any, threads: int) -> None:
    """Initializer of a local worker process: its share of the cores, its progress."""
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    if queue is not None:
        set_sink(queue.put)


# --------------------------------------------------------------------------------------
# The parent side
# --------------------------------------------------------------------------------------


def run_jobs(
    jobs: Sequence[Job],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    load: Callable[[AnalyzeConfig], Stages] | None = None,
    on_result: Callable[[VideoResult], None] | None = None,
) -> list[VideoResult]:
    """Run every job (see the module doc); returns the outcomes in job order.

    ``load`` replaces the model loader (serial runs only: tests inject stages)."""
    for root in {cache_dir_of(j.config) for j in jobs if j.config.batch.stage_cache}:
        StageCache(root).remove_abandoned()
    display = BatchDisplay(len(jobs), progress)

    def done(result: VideoResult) -> None:
        display.video_done(result.status)
        if on_result is not None:
            on_result(result)

    try:
        if scheduler is not None:
            return _run_dask(jobs, scheduler, progress, display, done)
        if workers > 1:
            return _run_local(jobs, workers, progress, display, done)
        return _run_serial(jobs, progress, load, done)
    finally:
        display.close()


def _run_serial(
    jobs: Sequence[Job], progress: bool, load: Callable[[AnalyzeConfig], Stages] | None,
    done: Callable[[VideoResult], None],
) -> list[VideoResult]:
    out = []
    for job in jobs:
        result = analyze_one(job.path, job.folder, job.config,
                             worker_stages(job.config, load), progress=progress)
        done(result)
        out.append(result)
    return out


def _collect(
    futures: dict[Any, int], n: int, done: Callable[[VideoResult], None],
    finished: Callable[[], Iterator[Any]],
) -> list[VideoResult]:
    """Results in job order as ``finished()`` yields the futures; a worker's exception
    (a model that cannot load) is raised here."""
    results: list[VideoResult | None] = [None] * n
    for future in finished():
        result = future.result()
        results[futures[future]] = result
        done(result)
    return [r for r in results if r is not None]


def _run_local(
    jobs: Sequence[Job], workers: int, progress: bool, display: BatchDisplay,
    done: Callable[[VideoResult], None],
) -> list[VideoResult]:
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue() if progress else None
    threads = max(1, (os.cpu_count() or 1) // workers)
    stop = threading.Event()
    drain = threading.Thread(target=_drain, args=(queue, display, stop), daemon=True)
    if queue is not None:
        drain.start()
    pool = ProcessPoolExecutor(min(workers, max(len(jobs), 1)), mp_context=ctx,
                               initializer=_init_local_worker, initargs=(queue, threads))
    try:
        futures = {pool.submit(run_job, job, progress): i for i, job in enumerate(jobs)}

        def finished() -> Iterator[Future[VideoResult]]:
            pending = set(futures)
            while pending:
                ready, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from sorted(ready, key=futures.__getitem__)

        return _collect(futures, len(jobs), done, finished)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        stop.set()
        if queue is not None:
            drain.join(timeout=2)


def _drain(queue: Any, display: BatchDisplay, stop: threading.Event) -> None:
    import queue as queue_mod

    while not stop.is_set():
        try:
            display.message(queue.get(timeout=0.2))
        except queue_mod.Empty:
            continue
        except (EOFError, OSError):
            return


def _run_dask(
    jobs: Sequence[Job], scheduler: str, progress: bool, display: BatchDisplay,
    done: Callable[[VideoResult], None],
) -> list[VideoResult]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise RuntimeError(
            "--scheduler needs Dask distributed: pip install 'spinepose-sports[cluster]'"
        ) from None
    import uuid

    batch = uuid.uuid4().hex[:8]
    with Client(scheduler, timeout="30s") as client:
        if progress:
            client.subscribe_topic(PROGRESS_TOPIC, lambda event: display.message(event[1]))
        futures = {
            client.submit(run_job, job, progress, key=f"video-{batch}-{i}-{job.path.name}",
                          pure=False):
            i for i, job in enumerate(jobs)
        }
        return _collect(futures, len(jobs), done, lambda: iter(as_completed(list(futures))))


__all__ = ["PROGRESS_TOPIC", "Job", "models_key", "plan_jobs", "run_job", "run_jobs",
           "worker_stages"]
