"""One running instance per database file.

Two bots draining one outbox would each requeue the other's in-flight messages at start-up
(`Outbox.recover`) and send them twice. A long-running command takes an exclusive OS lock
(`flock`) on `<database>.lock` and writes who holds it; a second one refuses to start and names
the first. The OS releases the lock when its holder exits in any way — SIGKILL included — so a
stale file never blocks a restart.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from pathlib import Path

from storage.store import StoreError


class InstanceLock:
    def __init__(self, db_path: str | os.PathLike, command: str):
        self.path = Path(f"{db_path}.lock")
        self.command = command
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(f"无法创建锁文件 {self.path}：{exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "未知进程"
            os.close(fd)
            raise StoreError(f"数据库 {self.path.with_suffix('')} 已被另一个实例使用（{holder}），"
                             "同一个数据库只能运行一个实例。") from None
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()}，{self.command}，启动于 {started}".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "InstanceLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
