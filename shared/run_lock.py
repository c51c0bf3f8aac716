"""The lock that makes one process the only writer of a run directory.

`RunLock(run_dir)` creates `run_dir/run.lock` with `O_CREAT | O_EXCL`, which
is atomic on local disks and on NFS (v3 and later), so two writers, even on
two machines sharing the storage, cannot both hold it. The file names its
holder (pid, host, start time) so that a refused writer can say who is in
the way. `fcntl.flock` alone would not do: it is not shared between hosts on
every network filesystem, and a lock that vanishes with its process cannot
name its holder.

A lock left by a process that died (kill -9, a power cut) stays behind. On
the same host it is recognised as stale (the pid is gone, or now belongs to
a process started at another time) and taken over, with a note on stderr.
A lock from another host cannot be checked from here, so it is refused with
a line that says how to remove it.

Example:

>>> import tempfile
>>> from pathlib import Path
>>> run_dir = Path(tempfile.mkdtemp())
>>> with RunLock(run_dir):
...     (run_dir / LOCK_NAME).is_file()
True
>>> (run_dir / LOCK_NAME).exists()
False
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from shared.errors import RunError

LOCK_NAME = "run.lock"
# A lock file is written right after it is created; one that is still empty
# or unparseable this many seconds later was left by a writer that died.
_WRITE_GRACE_S = 10.0


class RunDirInUseError(RunError):
    """Another process holds the run directory's lock."""


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock: enough to tell, on the same host, whether it is still alive.

    `process_start` is the kernel's start time of `pid` (clock ticks since
    boot) and `boot_id` the boot it belongs to, so a pid reused after the
    holder died, or after a reboot, is not mistaken for the holder.
    `pid_namespace` tells containers that share a host name apart.
    """

    pid: int
    host: str
    started: str
    process_start: int | None = None
    boot_id: str | None = None
    pid_namespace: str | None = None

    @classmethod
    def this_process(cls) -> LockHolder:
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            process_start=_process_start(os.getpid()),
            boot_id=_read_text("/proc/sys/kernel/random/boot_id"),
            pid_namespace=_pid_namespace(),
        )

    @classmethod
    def from_json(cls, text: str) -> LockHolder | None:
        try:
            data = json.loads(text)
            return cls(
                pid=int(data["pid"]),
                host=str(data["host"]),
                started=str(data.get("started", "?")),
                process_start=None if data.get("process_start") is None else int(data["process_start"]),
                boot_id=data.get("boot_id"),
                pid_namespace=data.get("pid_namespace"),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def to_json(self) -> str:
        return json.dumps(asdict(self)) + "\n"

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} (since {self.started})"

    def checkable_here(self) -> bool:
        """Whether this host can see the holder's process table."""
        here = LockHolder.this_process()
        if self.host != here.host:
            return False
        return self.pid_namespace is None or here.pid_namespace is None or self.pid_namespace == here.pid_namespace

    def alive(self) -> bool:
        """Whether the holding process still runs; only meaningful when `checkable_here()`."""
        here_boot = _read_text("/proc/sys/kernel/random/boot_id")
        if self.boot_id and here_boot and self.boot_id != here_boot:
            return False  # the host rebooted since
        if not _pid_running(self.pid):
            return False
        if self.process_start is not None:
            now_start = _process_start(self.pid)
            if now_start is not None and now_start != self.process_start:
                return False  # the pid now belongs to another process
        return True


class RunLock:
    """Hold `run_dir/run.lock` while writing a run directory.

    Args:
        run_dir: Path. The run directory; it must exist.
        name: str. File name of the lock. Defaults to `"run.lock"`.

    Raises:
        RunDirInUseError: a live process holds the lock, or one on another
            host (which cannot be checked from here).

    Use it as a context manager; the lock is released when the block ends,
    by an exception or KeyboardInterrupt too.
    """

    def __init__(self, run_dir: str | Path, name: str = LOCK_NAME):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / name
        self._inode: int | None = None

    @property
    def held(self) -> bool:
        return self._inode is not None

    def acquire(self) -> RunLock:
        if self.held:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        me = LockHolder.this_process()
        for _ in range(5):  # a stale lock taken over, or a holder that just left: try again
            if self._create(me):
                return self
            self._handle_existing()
        raise RunDirInUseError(f"run directory {self.run_dir} is being locked and unlocked by other processes; try again")

    def release(self) -> None:
        if not self.held:
            return
        # Remove the file only if it is still ours (not replaced after a wrongful takeover).
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        self._inode = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def holder(self) -> LockHolder | None:
        """The current holder as written in the lock file, or None if there is none or it is unreadable."""
        text = _read_text(self.path)
        return LockHolder.from_json(text) if text else None

    # --- internals -------------------------------------------------------------

    def _create(self, me: LockHolder) -> bool:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        except FileNotFoundError:
            raise RunError(f"run directory not found: {self.run_dir}") from None
        except OSError as exc:
            raise RunError(f"cannot lock run directory {self.run_dir}: {exc.strerror or exc}") from None
        try:
            os.write(fd, me.to_json().encode("utf-8"))
            os.fsync(fd)
            self._inode = os.fstat(fd).st_ino
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            raise
        os.close(fd)
        return True

    def _handle_existing(self) -> None:
        """Raise if the existing lock is live or uncheckable; remove it if stale."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return  # released meanwhile
        try:
            # Serialise takeovers: two processes that both find the lock stale must
            # not both remove it (the second would remove the first one's new lock).
            with contextlib.suppress(OSError):  # some network filesystems have no locks: then unserialised
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.stat(self.path).st_ino != os.fstat(fd).st_ino:
                    return  # replaced meanwhile: look again
            except FileNotFoundError:
                return
            text = os.pread(fd, 4096, 0).decode("utf-8", errors="replace")
            holder = LockHolder.from_json(text)
            if holder is None:
                age = _dt.datetime.now().timestamp() - os.fstat(fd).st_mtime
                if age < _WRITE_GRACE_S:
                    raise RunDirInUseError(f"run directory {self.run_dir} is being locked by another process just now; try again later")
                raise RunDirInUseError(
                    f"run directory {self.run_dir} has an unreadable lock file {self.path}; "
                    "if no other dlsuite process uses this run directory, remove that file and try again"
                )
            if not holder.checkable_here():
                raise RunDirInUseError(
                    f"run directory {self.run_dir} is locked by {holder.describe()}, which cannot be checked from this host; "
                    f"if that process is gone, remove {self.path} and try again"
                )
            if holder.alive():
                raise RunDirInUseError(f"run directory {self.run_dir} is in use by {holder.describe()}; wait for it to finish or stop it")
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                return
            except OSError as exc:
                raise RunDirInUseError(f"run directory {self.run_dir} has a stale lock of {holder.describe()} that cannot be removed ({exc.strerror}); remove {self.path} and try again") from None
            print(f"dlsuite: taking over the stale lock of {self.run_dir}: {holder.describe()} is gone", file=sys.stderr, flush=True)
        finally:
            os.close(fd)


def _read_text(path: str | Path) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    except OSError as exc:
        return exc.errno != errno.ESRCH
    stat = _read_text(f"/proc/{pid}/stat")
    if stat is not None:
        state = stat.rpartition(")")[2].split()[:1]
        return state not in (["Z"], ["X"])  # a zombie has exited; only its parent has not reaped it
    return True


def _process_start(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (Linux); None elsewhere."""
    stat = _read_text(f"/proc/{pid}/stat")
    if not stat:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may contain spaces and parentheses
    try:
        return int(fields[19])  # field 22 of proc(5); fields[0] is field 3
    except (IndexError, ValueError):
        return None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None
