"""Whether the editor that started the server still runs: the protocol's `processId`, which a server is to outlive
by no more than a few seconds. stdin's end tells the same where the editor held the pipe itself; not where a wrapper
between them (a shell script, a container's runner) holds it open after the editor has gone."""

from __future__ import annotations

import os
import sys

# How often the editor's process is looked for: the protocol's own libraries look every 3 s.
WATCH_S = 3.0
# Windows' error for a process id that names no process.
_NO_SUCH_PROCESS = 87


def process_alive(pid: int) -> bool:
    """Whether a process `pid` runs on this machine. One that cannot be looked at (another user's) runs."""
    if not 0 < pid < 2**31:
        return False  # 0 and below name process groups to os.kill; the protocol's ids are 32-bit
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it runs, as another user
        return True
    return True


def _windows_process_alive(pid: int) -> bool:
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.OpenProcess.restype = wintypes.HANDLE
    kernel32.OpenProcess.argtypes = (wintypes.DWORD, wintypes.BOOL, wintypes.DWORD)
    kernel32.WaitForSingleObject.argtypes = (wintypes.HANDLE, wintypes.DWORD)
    kernel32.CloseHandle.argtypes = (wintypes.HANDLE,)
    synchronize, query_limited = 0x00100000, 0x1000
    handle = kernel32.OpenProcess(synchronize | query_limited, False, pid)
    if not handle:
        return ctypes.get_last_error() != _NO_SUCH_PROCESS
    try:
        wait_timeout = 0x102  # still running after a wait of no time
        return kernel32.WaitForSingleObject(handle, 0) == wait_timeout
    finally:
        kernel32.CloseHandle(handle)
