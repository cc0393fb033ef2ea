"""A network namespace of the test's own, where nothing listens (not even this machine's Redis).

Sockets belong to the namespace of the thread that creates them, and child processes start in
their parent thread's namespace. So the test enters the namespace (`with ns.entered():`) to
start a server or a process, or to make a request, and leaves it for everything else: the
sockets keep their namespace for their whole life.
"""

import contextlib
import ctypes
import os
import subprocess

CLONE_NEWNET = 0x40000000


class NamespaceUnavailable(Exception):
    pass


class NetworkNamespace:
    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        if self._libc.unshare(CLONE_NEWNET) != 0:
            error = ctypes.get_errno()
            os.close(self._home)
            raise NamespaceUnavailable(f"unshare(CLONE_NEWNET): {os.strerror(error)} (needs root)")
        try:
            self._fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        finally:
            self._setns(self._home)

    def _setns(self, fd: int) -> None:
        if self._libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")

    @contextlib.contextmanager
    def entered(self):
        self._setns(self._fd)
        try:
            yield
        finally:
            self._setns(self._home)

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._home)
