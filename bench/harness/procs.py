"""Processes of the benchmark: servers pinned to their core with stdout on a pipe (as in a
container), their readiness, memory and CPU time read from /proc, and PostgreSQL's core."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .config import LOAD_CORE, POSTGRES_CORE, SERVER_CORE

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status_of(url: str, timeout: float = 1.0, headers: dict | None = None) -> int | None:
    try:
        request = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code
    except (OSError, urllib.error.URLError):
        return None


class Server:
    """A server under test. Its stdout and stderr go into a pipe read on the load core, as
    a container runtime reads a task's stdout: the server pays for writing its logs, not for
    storing them. The reader keeps the first and last 64 KiB and counts the lines."""

    def __init__(self, name: str, argv: list[str], env: dict, cwd: Path, logs: Path):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.logs = logs
        self.port = int(env["PORT"])
        self.starts = 0
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/health-check", timeout: float = 60.0) -> float:
        """Starts the server; returns milliseconds from the spawn to the first 200 on
        `ready_path` (polled every millisecond). Again after `stop`: a restart."""
        self.starts += 1
        stem = self.logs / (self.name if self.starts == 1 else f"{self.name}.{self.starts}")
        self.log_head, self.log_tail = Path(f"{stem}.log"), Path(f"{stem}.tail.log")
        self.log_lines = Path(f"{stem}.lines")  # a restart keeps the earlier logs
        drain = (f"tee -p >(head -c 65536 > '{self.log_head}') >(tail -c 65536 > '{self.log_tail}')"
                 f" | wc -l > '{self.log_lines}'")
        self.reader = subprocess.Popen(
            ["taskset", "-c", LOAD_CORE, "bash", "-c", drain], stdin=subprocess.PIPE
        )
        started = time.monotonic()
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *self.argv], cwd=self.cwd, env=self.env,
            stdout=self.reader.stdin, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self.reader.stdin.close()  # the server holds the only write end now
        while time.monotonic() - started < timeout:
            if status_of(self.base + ready_path, timeout=0.5) == 200:
                return (time.monotonic() - started) * 1000
            if self.proc.poll() is not None:
                break
            time.sleep(0.001)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready; see {self.log_head}")

    def settle(self, token: str, limit: float = 120.0, stalled: float = 5.0) -> tuple[float, bool]:
        """Waits until the server has worked off what the last run left behind: wrk stops
        sending, but a saturated peer may still be busy for a while (queued requests,
        connections waiting for its database pool). Done when a read through the database
        (user 1's item 1) comes back 200 within 100 ms. Returns (seconds waited, wedged):
        wedged when it neither answers nor uses CPU for `stalled` seconds (a deadlock, not a
        backlog), or has not settled within `limit`."""
        started = time.monotonic()
        cpu, progress = self.cpu_seconds(), started
        while time.monotonic() - started < limit:
            sent = time.monotonic()
            ok = status_of(self.base + "/users/1/items/1", 1.0, {"X-API-TOKEN": token}) == 200
            if ok and time.monotonic() - sent < 0.1:
                return time.monotonic() - started, False
            now_cpu = self.cpu_seconds()
            if now_cpu - cpu > 0.05:
                cpu, progress = now_cpu, time.monotonic()
            elif time.monotonic() - progress > stalled:
                break
            time.sleep(0.2)
        return time.monotonic() - started, True

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process (all threads), from /proc/PID/stat."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> int:
        """SIGTERM, then SIGKILL after 15 s; returns the number of log lines written."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.wait(30)
        with contextlib.suppress(OSError, ValueError):
            return int(self.log_lines.read_text().strip() or 0)
        return 0


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("check", True)
    return subprocess.run(argv, text=True, capture_output=True, **kwargs)


def _postgres_pids(admin_url: str) -> list[int]:
    """The postmaster (first line of postmaster.pid) and its children."""
    data = run(["psql", "-X", "-Atc", "SHOW data_directory", admin_url]).stdout.strip()
    main = int(Path(data, "postmaster.pid").read_text().split()[0])
    children = run(["pgrep", "-P", str(main)], check=False).stdout.split()
    return [main] + [int(p) for p in children]


@contextlib.contextmanager
def postgres_pinned(admin_url: str):
    """Puts every PostgreSQL process on POSTGRES_CORE (new backends inherit the postmaster's
    affinity) and gives each its old affinity back afterwards, since the server is shared."""
    saved = {}
    pids = _postgres_pids(admin_url)
    for pid in pids:
        with contextlib.suppress(OSError):
            saved[pid] = os.sched_getaffinity(pid)
            os.sched_setaffinity(pid, {int(POSTGRES_CORE)})
    try:
        yield
    finally:
        default = saved.get(pids[0])  # the postmaster's: what its children had
        for pid in _postgres_pids(admin_url):
            with contextlib.suppress(OSError, TypeError):
                os.sched_setaffinity(pid, saved.get(pid, default))
