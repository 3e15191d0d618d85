"""Child processes of the embedded AWS (Lambda handlers, container `train`/`serve`).

Every child runs in its own session (process group) so a kill reaches whatever it spawned, and is
registered so the launcher can kill all of them on shutdown.

Peak memory: os.wait4's ru_maxrss of a direct child is NOT usable here - Linux carries the parent's
high-water mark across fork/vfork + exec, so each child would report the server's ~200 MB. So:
  * Lambda: the bootstrap reports VmHWM of its own process (/proc/self/status: peak RSS of the process
    image since exec); on a timeout the parent reads /proc/<pid>/status just before the kill.
  * containers: run through rss_wrapper.py, which forks the command and os.wait4s it (see there).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RSS_WRAPPER = Path(__file__).with_name("rss_wrapper.py")

_children: dict[int, subprocess.Popen] = {}
_lock = threading.Lock()


@dataclass
class RunResult:
    returncode: int
    seconds: float
    timed_out: bool


def spawn(cmd: list[str], **popen_kwargs) -> subprocess.Popen:
    popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
    proc = subprocess.Popen(cmd, start_new_session=True, **popen_kwargs)
    with _lock:
        _children[proc.pid] = proc
    return proc


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the child's whole process group, unless the child was already reaped."""
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _kill_leftovers(proc: subprocess.Popen) -> None:
    """The group may outlive its leader (something the child forked): end it with the run."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def reap(proc: subprocess.Popen) -> int:
    returncode = proc.wait()
    with _lock:
        _children.pop(proc.pid, None)
    return returncode


def run(
    cmd: list[str],
    *,
    timeout: float | None = None,
    grace: float = 0.0,
    before_kill: Callable[[subprocess.Popen], None] | None = None,
    **popen_kwargs,
) -> RunResult:
    """Run to completion; past `timeout` seconds SIGTERM (then SIGKILL after `grace`) the process group."""
    started = time.monotonic()
    proc = spawn(cmd, **popen_kwargs)
    timed_out = threading.Event()

    def _expire() -> None:
        timed_out.set()
        if before_kill:
            before_kill(proc)
        if grace > 0:
            kill_group(proc, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        kill_group(proc, signal.SIGKILL)

    timer = threading.Timer(timeout, _expire) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        returncode = reap(proc)
    finally:
        if timer:
            timer.cancel()
    _kill_leftovers(proc)
    return RunResult(returncode, time.monotonic() - started, timed_out.is_set())


def stop(proc: subprocess.Popen, grace: float = 5.0) -> int:
    """SIGTERM the process group, SIGKILL it after `grace` seconds; reap."""
    kill_group(proc, signal.SIGTERM)
    timer = threading.Timer(grace, kill_group, args=(proc, signal.SIGKILL))
    timer.daemon = True
    timer.start()
    try:
        returncode = reap(proc)
    finally:
        timer.cancel()
    _kill_leftovers(proc)
    return returncode


def kill_all() -> None:
    """Kill every registered child's process group (launcher shutdown)."""
    with _lock:
        procs = list(_children.values())
    for proc in procs:
        kill_group(proc, signal.SIGKILL)


# --- peak memory -----------------------------------------------------------------------------------------


def vm_hwm_mb(pid: int) -> float | None:
    """Peak RSS (VmHWM) of a live process's current image, in MB (Linux), else None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    m = re.search(r"^VmHWM:\s+(\d+)\s+kB", text, re.M)
    return int(m.group(1)) / 1024.0 if m else None


def measured(cmd: list[str], peak_file: Path) -> list[str]:
    """`cmd` run through rss_wrapper.py, which writes the command's own peak RSS to peak_file."""
    return [sys.executable, "-S", str(RSS_WRAPPER), str(peak_file), *cmd]


def read_peak_mb(peak_file: Path) -> float | None:
    try:
        return int(peak_file.read_text().strip()) / 1024.0
    except (OSError, ValueError):
        return None
