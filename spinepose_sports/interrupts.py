"""Sections that Ctrl-C and SIGTERM must not cut in the middle.

Inside :func:`held_interrupts` a SIGINT or SIGTERM is noted and delivered once the section
ends, to the handler that was in place before it.  The netCDF reads and writes run in such a
section: xarray holds a process-wide (non-reentrant) HDF5 lock during them, and an interrupt
raised between its acquire and release leaves the lock taken, so the cleanup that closes the
file then waits for it forever (found by ``tests/test_interrupt.py``).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def held_interrupts() -> Iterator[None]:
    """Hold SIGINT / SIGTERM until the block ends, then deliver the first one received.

    Only the main thread receives Python signal handlers, so elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def note(signum: int, frame: Any) -> None:
        received.append(signum)

    previous: dict[int, Any] = {int(sig): signal.getsignal(sig) for sig in HELD_SIGNALS}
    for sig in HELD_SIGNALS:
        signal.signal(sig, note)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if received:
            _deliver(received[0], previous[received[0]])


def _deliver(signum: int, handler: Any) -> None:
    """What the signal would have done outside the section."""
    if callable(handler):
        handler(signum, None)  # Python's SIGINT handler raises KeyboardInterrupt here
    elif handler in (signal.SIG_DFL, None):
        os.kill(os.getpid(), signum)  # the default action, now that it is restored
