"""One file from an HTTP(S) URL into a cache folder: locked, resumable, verified, atomic.

* **Locked**: a file lock (``filelock``) beside the destination, ``<file>.lock``, lets
  one process download while the others wait and then use its file; the operating system
  releases the lock when a process dies, even killed.
* **Resumable**: bytes go to ``<file>.part``; its validator (the server's ``ETag`` or
  ``Last-Modified``) is kept in ``<file>.part.json``.  The next attempt asks for the rest
  (``Range``) only if the server still has the same file (``If-Range``); otherwise, or
  without a validator, it starts again from zero.
* **Verified**: the sha256 of the whole file is checked (by the caller's ``verify``)
  before the file gets its name; a file that fails is deleted, never kept.
* **Atomic**: the complete ``.part`` file is flushed to disk and renamed to the final
  name, so no reader ever sees a half-written file.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Seconds a process waits for another one's download of the same file.
LOCK_TIMEOUT_S = 3600.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DownloadFailed(Exception):
    """A download did not complete (network, HTTP, truncated); the reason is the message.
    Its partial file is kept for a later attempt to resume."""


def download_file(
    url: str,
    dest: Path,
    *,
    verify: Callable[[str], None],
    timeout_s: float,
    progress: bool,
) -> str:
    """Download ``url`` to ``dest`` (see the module doc); return the file's sha256.

    ``verify(sha256)`` raises when the digest is not the expected one (the partial file is
    then deleted).  A ``dest`` that already exists when the lock is acquired (another
    process finished it meanwhile) is verified and used; one that fails is replaced.

    Raises:
        DownloadFailed: the network, the server or the transfer failed.
    """
    from filelock import FileLock, Timeout

    dest.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(dest) + ".lock", timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"waiting for another process downloading {dest.name} ...", file=sys.stderr)
        try:
            lock.acquire()
        except Timeout as exc:
            raise DownloadFailed(f"another process held {lock.lock_file} too long") from exc
    try:
        if dest.is_file():
            digest = sha256_of(dest)
            try:
                verify(digest)
                return digest
            except Exception:
                dest.unlink()  # corrupt: replaced by the download below
        return _fetch(url, dest, verify, timeout_s, progress)
    finally:
        lock.release()


def sha256_of(path: str | Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _paths(dest: Path) -> tuple[Path, Path]:
    return dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".part.json")


def _resume_state(part: Path, meta: Path) -> tuple[int, str | None]:
    """(bytes already in ``part``, their validator); (0, None) when it cannot resume."""
    try:
        validator = json.loads(meta.read_text()).get("validator")
        size = part.stat().st_size
    except (OSError, ValueError, AttributeError):
        return 0, None
    return (size, str(validator)) if validator and size > 0 else (0, None)


def _fetch(
    url: str, dest: Path, verify: Callable[[str], None], timeout_s: float, progress: bool
) -> str:
    part, meta = _paths(dest)
    offset, validator = _resume_state(part, meta)
    headers = {"User-Agent": "spinepose-sports"}
    if offset:
        headers |= {"Range": f"bytes={offset}-", "If-Range": str(validator)}
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            offset, total = _start(response, offset)
            new_validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
            if new_validator:
                meta.write_text(json.dumps({"url": url, "validator": new_validator}))
            else:
                meta.unlink(missing_ok=True)
            digest = hashlib.sha256()
            if offset:
                with open(part, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
            with open(part, "ab" if offset else "wb") as fh:
                received = offset + _copy(response, fh, digest, total, offset, dest.name,
                                          progress)
                fh.flush()
                os.fsync(fh.fileno())
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is no prefix of the file: restart
            part.unlink(missing_ok=True)
            meta.unlink(missing_ok=True)
            return _fetch(url, dest, verify, timeout_s, progress)
        raise DownloadFailed(_reason(exc)) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DownloadFailed(_reason(exc)) from exc
    except DownloadFailed:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        raise
    if total is not None and received != total:
        raise DownloadFailed(f"truncated: {received} of {total} bytes; run again to resume")
    sha = digest.hexdigest()
    try:
        verify(sha)
    except BaseException:
        part.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    meta.unlink(missing_ok=True)
    return sha


def _start(response: Any, offset: int) -> tuple[int, int | None]:
    """(offset the body starts at, total file size or None) of a 200 or 206 response."""
    length = response.headers.get("Content-Length")
    if offset and response.status == 206:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if match and int(match[1]) == offset:
            total = None if match[3] == "*" else int(match[3])
            return offset, total
        raise DownloadFailed(f"the server resumed at the wrong place ({match and match[0]})")
    return 0, int(length) if length else None


def _copy(
    response: Any, fh: Any, digest: Any, total: int | None, offset: int, name: str,
    progress: bool,
) -> int:
    """Stream ``response`` into ``fh`` and ``digest`` with a tqdm bar; return the bytes."""
    from tqdm.auto import tqdm

    received = 0
    with tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
        disable=not progress, leave=True,
    ) as bar:  # fmt: skip
        while block := response.read(1 << 18):
            fh.write(block)
            digest.update(block)
            received += len(block)
            bar.update(len(block))
    return received


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DownloadFailed):
        return str(exc)
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"network error: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"

__all__ = ["LOCK_TIMEOUT_S", "DownloadFailed", "download_file", "sha256_of"]
