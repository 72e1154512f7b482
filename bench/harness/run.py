"""The benchmark's orchestration (bench/run calls this after building and installing what
it needs): data, servers, load, then report.py writes the tables and the chart."""

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import threading
import time
import urllib.parse
from pathlib import Path

from . import config, load, procs, report, seed
from .config import CEILING, CEILING_SCENARIO, FASTAPI, SCENARIOS, TODO_API, Peer

ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = ROOT / "bench" / "peers" / "fastapi"
VENV = ROOT / "bench" / ".venv"
GROWTH_DAY = "20230102"  # a whole JST day in both cost-growth data sets


def jst_days(items: int) -> list[str]:
    """The JST calendar days that the seeded items cover (for GET /items?date=)."""
    first = seed.created_at(1) + dt.timedelta(hours=9)
    last = seed.created_at(items) + dt.timedelta(hours=9)
    return [(first + dt.timedelta(days=d)).strftime("%Y%m%d")
            for d in range((last.date() - first.date()).days + 1)]


class Bench:
    def __init__(self, mode: config.Mode, todo_api: Path, ceiling: Path, admin_url: str):
        self.mode, self.todo_api, self.ceiling, self.admin_url = mode, todo_api, ceiling, admin_url
        self.work = ROOT / "target" / "bench" / mode.name
        shutil.rmtree(self.work, ignore_errors=True)
        self.logs, self.data_dir = self.work / "logs", self.work / "data"
        self.logs.mkdir(parents=True)
        self.data_dir.mkdir()
        self.data = {"token": seed.token(1)[0], "users": mode.users, "items": mode.items,
                     "days": jst_days(mode.items)}
        self.results = {"mode": mode.__dict__, "sessions": {}, "pgbench": {}, "growth": {}}
        self.templates: set[str] = set()  # PostgreSQL databases to drop at the end
        self.copies: set[str] = set()

    def log(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    # --- databases ---------------------------------------------------------------------
    def pg_url(self, database: str, scheme: str = "postgres") -> str:
        parts = urllib.parse.urlsplit(self.admin_url)
        return urllib.parse.urlunsplit(parts._replace(scheme=scheme, path="/" + database))

    def psql(self, sql: str) -> None:
        procs.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, self.admin_url])

    def urls(self, backend: str, name: str) -> dict:
        """The database `name` as todo-api and as SQLAlchemy/asyncpg spell its URL."""
        if backend == "sqlite":
            path = self.data_dir / f"{name}.db"
            return {"todo": f"sqlite://{path}", "python": f"sqlite:///{path}", "path": path}
        return {"todo": self.pg_url(name), "python": self.pg_url(name, "postgresql")}

    def create_schema(self, schema: str, urls: dict) -> None:
        if schema == "todo-api":
            env = dict(os.environ, DATABASE_URL=urls["todo"], LOG_FORMAT="json", RUST_LOG="warn")
            procs.run([str(self.todo_api), "migrate"], env=env)
        else:
            env = dict(os.environ, DATABASE_URL=urls["python"])
            procs.run([str(VENV / "bin" / "python"), "-m", "sql_app.schema"], cwd=PEER_DIR, env=env)

    def database(self, schema: str, backend: str, copy: str, users: int, items: int) -> dict:
        """A fresh database `copy` with the seeded data: seeded once per schema and size
        into a template, then copied, so that every peer starts from the same rows."""
        template = f"bench_tpl_{schema.replace('-', '_')}_{users}_{items}"
        tpl, dst = self.urls(backend, template), self.urls(backend, copy)
        if backend == "sqlite":
            if not tpl["path"].exists():
                self.create_schema(schema, tpl)
                seed.seed(tpl["todo"], users, items)
            for suffix in ("", "-wal", "-shm"):
                Path(str(dst["path"]) + suffix).unlink(missing_ok=True)
            shutil.copyfile(tpl["path"], dst["path"])
            return dst
        if template not in self.templates:
            self.psql(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
            self.psql(f"CREATE DATABASE {template}")
            self.create_schema(schema, tpl)
            seed.seed(tpl["todo"], users, items)
            self.templates.add(template)
        self.psql(f"DROP DATABASE IF EXISTS {copy} WITH (FORCE)")
        self.psql(f"CREATE DATABASE {copy} TEMPLATE {template}")
        return dst

    def drop_postgres_databases(self) -> None:
        for name in self.templates | self.copies:
            self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    # --- servers -----------------------------------------------------------------------
    def server(self, peer: Peer, backend: str, urls: dict | None, name: str) -> procs.Server:
        port = str(procs.free_port())
        env = {"PATH": os.environ["PATH"], "PORT": port, "LANG": "C.UTF-8"}
        if peer is CEILING:
            argv = [str(self.ceiling)]
        elif peer is TODO_API:
            # As shipped: JSON access log at info on stdout, metrics listener on.
            env |= {"DATABASE_URL": urls["todo"], "HOST": "127.0.0.1", "LOG_FORMAT": "json",
                    "RUST_LOG": "info", "METRICS_PORT": str(procs.free_port())}
            argv = [str(self.todo_api), "serve"]
        else:
            # uvicorn as deployed: one worker for the one core, access log on (info).
            env |= {"DATABASE_URL": urls["python"]}
            argv = [str(VENV / "bin" / "uvicorn"), peer.extra["module"], "--host", "127.0.0.1",
                    "--port", port, "--log-level", "info"]
        return procs.Server(name, argv, env, PEER_DIR, self.logs)

    def measure(self, srv: procs.Server, scenario: config.Scenario, connections: int) -> dict:
        """Warm-up, then `reps` runs; the median run by throughput is reported, with CPU time
        per 1,000 answered requests and the largest RSS seen during the runs."""
        what = f"{scenario.key} at {connections} connections"
        if self.mode.warmup:
            load.wrk(srv.base, scenario, connections, self.mode.warmup, self.data)
            self.settle(srv, f"the warm-up of {what}")
        runs, peak, wedged = [], [0], False
        for _ in range(self.mode.reps):
            stop = threading.Event()

            def sample():
                while not stop.wait(0.1):
                    peak[0] = max(peak[0], srv.rss_kib())

            sampler = threading.Thread(target=sample)
            sampler.start()
            cpu = srv.cpu_seconds()
            run = load.wrk(srv.base, scenario, connections, self.mode.duration, self.data)
            run["cpu_s_per_1k"] = (srv.cpu_seconds() - cpu) / max(run["good"], 1) * 1000
            stop.set()
            sampler.join()
            run["settle_s"], wedged = self.settle(srv, what)
            runs.append(run)
            if wedged:  # it would only wedge again: the runs so far are the figure
                break
        median = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
        return median | {
            "rps_runs": [round(r["rps"], 1) for r in runs],
            "cpu_s_per_1k": statistics.median(r["cpu_s_per_1k"] for r in runs),
            "rss_peak_kib": peak[0],
            "wedged": wedged,
        }

    def settle(self, srv: procs.Server, after: str) -> tuple[float, bool]:
        """Waits for the server to be idle again; a wedged server (deadlocked: no answer and
        no CPU use) is restarted on the same data, and the restart is reported."""
        waited, wedged = srv.settle(self.data["token"])
        if waited > 1 or wedged:
            self.log(f"{srv.name}: {waited:.1f} s to work off {after}"
                     + ("; wedged (no answer, no CPU): restarting it" if wedged else ""))
        if wedged:
            srv.lines_before_restart = getattr(srv, "lines_before_restart", 0) + srv.stop()
            srv.restarts.append({"after": after, "waited_s": round(waited, 1)})
            srv.start()
        return waited, wedged

    def session(self, peer: Peer, backend: str, urls: dict | None, scenarios, latency: bool):
        name = f"{peer.key}-{backend}"
        srv = self.server(peer, backend, urls, name)
        srv.restarts = []
        out = {"peer": peer.key, "backend": backend, "ready_ms": srv.start(),
               "restarts": srv.restarts}
        self.results["sessions"][name] = out  # its own latency rates read its maxima
        self.log(f"{name}: ready in {out['ready_ms']:.0f} ms")
        time.sleep(1)
        out["rss_idle_kib"] = srv.rss_kib()
        out["throughput"], out["latency"] = {}, {}
        try:
            for scenario in scenarios:
                out["throughput"][scenario.key] = {}
                for c in self.mode.connections:
                    m = self.measure(srv, scenario, c)
                    out["throughput"][scenario.key][str(c)] = m
                    self.log(f"{name} {scenario.key} c={c}: {m['rps']:.0f} rps, "
                             f"{m['errors']} errors, {m['cpu_s_per_1k']:.3f} CPU s/1k")
            for scenario in scenarios if latency else []:
                if scenario.key == "mix":
                    continue
                rate = self.latency_rate(backend, scenario.key)
                r = load.oha(srv.base, scenario, rate, self.mode.latency_seconds,
                             self.mode.latency_connections, self.data, self.work)
                r["settle_s"], _ = self.settle(srv, f"the fixed-rate run of {scenario.key}")
                out["latency"][scenario.key] = r
                self.log(f"{name} {scenario.key} @{rate:.0f}/s: p50 {r['p50_ms']:.2f} ms, "
                         f"p99 {r['p99_ms']:.2f} ms, {r['errors']} errors")
        finally:
            out["log_lines"] = srv.stop() + getattr(srv, "lines_before_restart", 0)
            # The machine is shared: a high figure here means other work ran beside this one.
            out["load_after"] = os.getloadavg()[0]

    def latency_rate(self, backend: str, scenario: str) -> float:
        """Half of the FastAPI peer's best measured throughput for the scenario."""
        runs = self.results["sessions"][f"{FASTAPI.key}-{backend}"]["throughput"][scenario]
        return 0.5 * max(r["rps"] for r in runs.values())

    # --- the parts of a run ------------------------------------------------------------
    def run_ceiling(self):
        self.session(CEILING, "none", None, [CEILING_SCENARIO], latency=False)

    def run_backend(self, backend: str):
        for peer in config.PEERS:
            schema = "todo-api" if peer is TODO_API else "fastapi"
            copy = f"bench_{peer.key.replace('-', '_')}"
            if backend == "postgres":
                self.copies.add(copy)
            urls = self.database(schema, backend, copy, self.mode.users, self.mode.items)
            self.session(peer, backend, urls, SCENARIOS, latency=True)

    def run_pgbench(self):
        """The reference for PostgreSQL point reads: pgbench -S -M prepared, its client on
        the load core like wrk, 32 clients like the first connection count."""
        db = "bench_pgbench"
        self.templates.add(db)
        self.psql(f"DROP DATABASE IF EXISTS {db}")
        self.psql(f"CREATE DATABASE {db}")
        url = self.pg_url(db)
        procs.run(["pgbench", "-i", "-q", "-s", str(self.mode.pgbench_scale), url])
        tps = []
        for _ in range(self.mode.reps):
            out = procs.run(["taskset", "-c", config.LOAD_CORE, "pgbench", "-n", "-S", "-M",
                             "prepared", "-c", "32", "-j", "1", "-T", str(self.mode.duration),
                             url]).stdout
            line = next(l for l in out.splitlines() if l.startswith("tps ="))
            tps.append(float(line.split()[2]))
        self.results["pgbench"] = {"clients": 32, "tps": statistics.median(tps), "runs": tps}
        self.log(f"pgbench -S -M prepared: {statistics.median(tps):.0f} tps")

    def run_growth(self, backend: str):
        """GET /users/1/items?date=&done= latency with few and with many items of one user,
        at a fixed low rate (no queueing), on todo-api only: the cost of the query itself."""
        scenario = config.Scenario("growth", "listing by date and done", "growth", "read")
        path = f"/users/1/items?date={GROWTH_DAY}&done=false"
        out = {}
        for n in self.mode.growth_items:
            copy = f"bench_growth_{n}"
            if backend == "postgres":
                self.copies.add(copy)
            urls = self.database("todo-api", backend, copy, 1, n)
            srv = self.server(TODO_API, backend, urls, f"growth-{backend}-{n}")
            srv.start()
            try:
                data = self.data | {"users": 1, "items": n}
                out[str(n)] = load.oha(srv.base, scenario, self.mode.growth_rate,
                                       self.mode.latency_seconds, 4, data, self.work, [path])
            finally:
                srv.stop()
            self.log(f"growth {backend} {n} items: p50 {out[str(n)]['p50_ms']:.2f} ms")
        self.results["growth"][backend] = out

    def run(self):
        self.results["started"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self.results["load_before"] = os.getloadavg()
        began = time.monotonic()
        try:
            with procs.postgres_pinned(self.admin_url):
                self.run_ceiling()
                for backend in config.BACKENDS:
                    self.run_backend(backend)
                self.run_pgbench()
                for backend in config.BACKENDS:
                    self.run_growth(backend)
        finally:
            self.drop_postgres_databases()
        self.results["seconds"] = round(time.monotonic() - began, 1)
        self.results["environment"] = report.environment(self)
        return self.results


def wait_until_quiet(limit_s: int, threshold: float = 0.7) -> None:
    """The machine is shared: wait (at most `limit_s`) for other builds to finish."""
    deadline = time.monotonic() + limit_s
    while os.getloadavg()[0] > threshold and time.monotonic() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f}: waiting for a quiet machine", flush=True)
        time.sleep(30)


def main() -> int:
    p = argparse.ArgumentParser(prog="bench/run", description="The side-by-side benchmark.")
    p.add_argument("--smoke", action="store_true", help="seconds-long run; writes under target/")
    p.add_argument("--todo-api", type=Path, required=True)
    p.add_argument("--ceiling", type=Path, required=True)
    p.add_argument("--chart", type=Path, required=True, help="the bench-chart binary")
    p.add_argument("--wait-quiet", type=int, default=0, metavar="SECONDS",
                   help="first wait up to this long for the load average to drop below 0.7")
    p.add_argument("--from-results", type=Path, help="only re-render a results JSON file")
    args = p.parse_args()
    os.sched_setaffinity(0, {int(config.LOAD_CORE)})  # the harness stays off the server core
    mode = config.SMOKE if args.smoke else config.FULL
    if args.from_results:
        results = json.loads(args.from_results.read_text())
    else:
        wait_until_quiet(args.wait_quiet)
        admin = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
            "TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
        results = Bench(mode, args.todo_api.resolve(), args.ceiling.resolve(), admin).run()
    report.publish(results, smoke=mode is config.SMOKE, chart=args.chart, root=ROOT)
    return 0
