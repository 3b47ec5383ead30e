"""Give the C heap's free pages back to the system during and after a clip's decode pass
(glibc ``malloc_trim``).

A decode pass allocates and frees a few frame-sized buffers per frame while the landmark rows it
keeps are small and long-lived. glibc serves both from the same heap (once a large buffer is freed
it raises its mmap threshold, so frames stop being mapped on their own), and the freed space left
between the kept rows stays resident: a worker's RSS grew with the number of frames (docs/theval.md,
"Memory against clip length"). ``ClipContext.prepare`` calls :func:`trim_heap` every
``TRIM_EVERY`` frames and after the pass. ``malloc_trim(0)`` returns the free pages of every arena
and touches nothing in use, so no value changes (tests/pipeline/test_heap.py); elsewhere than glibc
it is a no-op. ``AVATAR_EVAL_TRIM_HEAP=0`` turns it off (to measure what it does).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable

ENABLED = os.environ.get("AVATAR_EVAL_TRIM_HEAP", "1").lower() not in ("0", "off", "false")
#: frames of a decode pass between two trims (and one after the pass)
TRIM_EVERY = 100


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def trim_heap() -> bool:
    """Return the heap's free pages to the system; True when some were (glibc only)."""
    fn = _malloc_trim() if ENABLED else None
    return bool(fn(0)) if fn is not None else False
