"""Server processes the local stack owns: started in their own session, stopped with everything they spawned."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.system.service_user import ServiceAccount

_PROC = Path("/proc")


@dataclass(frozen=True)
class ManagedProcess:
    """One server: its pid file records the pid and the kernel's start time, so a reused pid is not mistaken for it."""

    name: str
    pid_file: Path
    log_file: Path
    stop_signal: signal.Signals = signal.SIGTERM

    def pid(self) -> int | None:
        """The running server's pid, or None (a stale pid file is removed)."""
        try:
            recorded_pid, recorded_start = self.pid_file.read_text().split()
        except (OSError, ValueError):
            return None
        pid = int(recorded_pid)
        if _start_time(pid) != recorded_start:
            self.pid_file.unlink(missing_ok=True)
            return None
        return pid

    def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        account: ServiceAccount | None,
    ) -> int:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(f"\n--- idpkit: starting {self.name} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n".encode())
            log.flush()
            try:
                child = subprocess.Popen(
                    list(argv),
                    env=dict(env),
                    cwd=cwd,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    user=account.uid if account else None,
                    group=account.gid if account else None,
                    extra_groups=[] if account else None,
                )
            except OSError as error:
                raise IdpkitError(f"could not start {self.name} ({argv[0]}): {error}") from error
        start_time = _start_time(child.pid)
        self.pid_file.write_text(f"{child.pid} {start_time}\n")
        return child.pid

    def exited_early(self) -> bool:
        """True when the server started by this process has already died."""
        return self.pid() is None

    def reload(self) -> bool:
        """Ask the server to re-read its configuration (SIGHUP); False when it is not running."""
        pid = self.pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGHUP)
        return True

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the server and every process of its session; True if something was running."""
        pid = self.pid()
        if pid is None:
            return False
        _signal_session(pid, self.stop_signal)
        deadline = time.monotonic() + timeout
        while _session_members(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.2)
        if _session_members(pid):
            _signal_session(pid, signal.SIGKILL)
            time.sleep(0.5)
        _reap(pid)
        self.pid_file.unlink(missing_ok=True)
        return True


def session_members_of(pid: int) -> list[int]:
    """Processes still in `pid`'s session (used by tests to prove `down` leaves nothing behind)."""
    return _session_members(pid)


def _start_time(pid: int) -> str | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return fields[19]  # field 22 of proc(5): starttime


def _session_members(session_id: int) -> list[int]:
    members = []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == session_id:  # field 6 of proc(5): session
            members.append(int(entry.name))
    return members


def _signal_session(session_id: int, sig: signal.Signals) -> None:
    for member in _session_members(session_id):
        try:
            os.kill(member, sig)
        except ProcessLookupError:
            continue


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return
