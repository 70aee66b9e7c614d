"""Freed arrays' pages kept for the next array, rather than faulted in afresh each time.

glibc serves an allocation at or above its mmap threshold with fresh pages from
the kernel and returns them on free. After a free it raises the threshold to the
freed block's size, so the next array of that very size (a relu's output after a
conv's, one stage's after the same stage's in the previous call) is fresh pages
again: every 4 KiB page costs a fault, ~400 of them per 256x256 seed pipeline,
which doubled its time (2.2 us a fault on the project's VMs). Fixed thresholds
keep arrays up to 32 MiB (glibc's own ceiling for the threshold) on the heap and
up to 64 MiB of freed heap in the process, as glibc's adaptive rule would at its
largest, so such arrays reuse pages already faulted in. Larger arrays are
unchanged. Elsewhere than glibc, nothing is done.
"""

from __future__ import annotations

import ctypes
import platform

# mallopt's parameters (malloc.h) and the values set.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 64 << 20

_done = False


def keep_freed_pages() -> bool:
    """Set glibc's thresholds once per process; True where they are set."""
    global _done
    if _done:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    _done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    return _done
