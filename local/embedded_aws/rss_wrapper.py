"""`python -S rss_wrapper.py <peak file> <command...>`: run a command and record its own peak RSS.

WHY: os.wait4's ru_maxrss for a child the server starts directly is useless on Linux - the kernel
carries the parent's high-water mark across fork/vfork + exec, so every child would "use" as much as the
~200 MB server. This small wrapper (itself a fresh interpreter) FORKS the command, so the command's
maxrss starts from the wrapper's few MB, then os.wait4s it and writes ru_maxrss (kB) to <peak file>.
It exits with the command's exit status (128+N for signal N), forwarding SIGTERM/SIGINT to it.
"""

import contextlib
import os
import signal
import sys


def main():
    peak_file, cmd = sys.argv[1], sys.argv[2:]
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            os.execvp(cmd[0], cmd)
        except OSError as exc:
            sys.stderr.write(f"cannot run {cmd[0]}: {exc}\n")
            os._exit(127)

    def _forward(signum, frame):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    _, status, rusage = os.wait4(pid, 0)
    with open(peak_file, "w") as f:
        f.write(str(rusage.ru_maxrss))
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


if __name__ == "__main__":
    main()
