"""The load generators: wrk for maximum throughput (closed loop, one thread on the load
core), oha for latency at a fixed rate (open loop, corrected for coordinated omission)."""

import json
import os
import random
import subprocess
from pathlib import Path

from .config import LOAD_CORE, Scenario
from .seed import owner_of

LUA = Path(__file__).parent / "lua" / "scenario.lua"


def wrk(base: str, scenario: Scenario, connections: int, seconds: int, data: dict) -> dict:
    """One wrk run; `rps` counts only 2xx/3xx answers."""
    env = dict(os.environ, BENCH_SCENARIO=scenario.key)
    argv = [
        "taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
        "--timeout", "5s", "-s", str(LUA), base + (scenario.static_path or "/"), "--",
        data["token"], str(data["users"]), str(data["items"]), ",".join(data["days"]),
    ]
    out = subprocess.run(argv, env=env, check=True, text=True, capture_output=True).stdout
    summary = json.loads(out.strip().splitlines()[-1])
    good = summary["requests"] - summary["status"]
    errors = {k: summary[k] for k in ("connect", "read", "write", "status", "timeout")}
    return {
        "rps": good / (summary["duration_us"] / 1e6),
        "requests": summary["requests"],
        "good": good,
        "errors": sum(errors.values()),
        "error_kinds": {k: v for k, v in errors.items() if v},
        "p50_ms": summary["p50_us"] / 1000,
        "p99_ms": summary["p99_us"] / 1000,
    }


def sample_requests(scenario: Scenario, data: dict, n: int = 2000) -> tuple[list[str], str | None]:
    """The paths and body of an oha run: oha sends one body, and cycles through a file of
    URLs, so the paths are drawn here at random over the data as the wrk script draws them.
    (The 90/10 mix cannot be expressed as one oha run and has no latency figure.)"""
    rng = random.Random(42)
    users, items = data["users"], data["items"]

    def item_path():
        i = rng.randint(1, items)
        return f"/users/{owner_of(i, users)}/items/{i}"

    if scenario.static_path:
        return [scenario.static_path], None
    make = {
        "get_item": lambda: item_path(),
        "list_undone": lambda: f"/users/{rng.randint(1, users)}/items?done=false&limit=50",
        "by_date": lambda: "/items?date=" + rng.choice(data["days"]),
        "post": lambda: f"/users/{rng.randint(1, users)}/items",
        "patch": lambda: item_path(),
    }[scenario.key]
    body = {
        "post": '{"title":"bench item","description":"written by the benchmark"}',
        "patch": '{"done":true}',
    }.get(scenario.key)
    return [make() for _ in range(n)], body


def oha(base: str, scenario: Scenario, rate: float, seconds: float, connections: int,
        data: dict, workdir: Path, paths: list[str] | None = None) -> dict:
    """A fixed-rate run: `rate` requests per second whatever the server's speed, latency
    measured from when each request was due (--latency-correction)."""
    if paths is None:
        paths, body = sample_requests(scenario, data)
    else:
        body = None
    urls = workdir / f"urls-{scenario.key}.txt"
    urls.write_text("".join(base + p + "\n" for p in paths))
    argv = [
        # One worker thread on the one load core; -w: requests in flight at the deadline
        # are awaited rather than counted as aborted.
        "taskset", "-c", LOAD_CORE, "oha", "--no-tui", "--output-format", "json",
        "--worker-threads", "1", "-w", "-z", f"{int(seconds * 1000)}ms", "-q", f"{max(rate, 1):.0f}", "--latency-correction",
        "-c", str(connections), "-m", scenario.method, "-H", f"X-API-TOKEN: {data['token']}",
        "--urls-from-file", str(urls),
    ]
    if body is not None:
        argv += ["-T", "application/json", "-d", body]
    result = json.loads(subprocess.run(argv, check=True, text=True, capture_output=True).stdout)
    summary, percentiles = result["summary"], result["latencyPercentiles"]
    codes = result.get("statusCodeDistribution", {})
    good = sum(n for code, n in codes.items() if code.startswith(("2", "3")))
    total = sum(codes.values()) + sum(result.get("errorDistribution", {}).values())
    return {
        "rate": rate,
        "achieved_rps": summary.get("requestsPerSec"),
        "p50_ms": (percentiles.get("p50") or 0) * 1000,
        "p99_ms": (percentiles.get("p99") or 0) * 1000,
        "good": good,
        "errors": total - good,
    }
