"""Turns a results dict into the Markdown tables (with the issue's targets as pass/fail),
the chart spec for bench-chart, and writes them: into docs/ for a full run, under target/
for a smoke run (which must never overwrite the committed results)."""

import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

from . import config
from .config import BACKEND_LABEL, BACKENDS, SCENARIOS

BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
PEERS = {"todo-api": "todo-api", "fastapi": "FastAPI", "fastapi-tuned": "FastAPI tuned"}

# List prices used for the cost per million requests (stated in docs/benchmarks.md).
FARGATE = {"vcpu": 0.5, "gb": 1.0, "vcpu_hour": 0.04048, "gb_hour": 0.004445}
CLOUD_RUN = {"vcpu": 1.0, "gib": 0.5, "vcpu_second": 0.000024, "gib_second": 0.0000025,
             "per_million_requests": 0.40}
COST_SCENARIO = "mix"  # the workload whose CPU time per request prices a request


def session(results, peer, backend):
    return results["sessions"].get(f"{peer}-{backend}")


def rps(results, peer, backend, scenario, c):
    s = session(results, peer, backend)
    run = s and s["throughput"].get(scenario, {}).get(str(c))
    return run["rps"] if run else None


def ceiling(results, c):
    return rps(results, "ceiling", "none", "ceiling", c)


def ratio(a, b):
    """a / b; infinite when b served nothing at all (a deadlocked peer) and a did."""
    if a is None or b is None:
        return None
    if b == 0:
        return float("inf") if a > 0 else None
    return a / b


def fmt_x(v):
    return "-" if v is None else "x∞" if v == float("inf") else f"x{v:.1f}" if v < 100 else f"x{v:.0f}"


def fmt_pct(v):
    return "-" if v is None else f"{v * 100:.0f} %"


def fmt_n(v, digits=0):
    return "-" if v is None else f"{v:,.{digits}f}"


def verdict(ok):
    return "-" if ok is None else "**pass**" if ok else "FAIL"


class Targets:
    """The issue's targets, each checked where it is measured; the summary lists them all."""

    def __init__(self):
        self.rows = []

    def check(self, what, measured, goal, ok):
        self.rows.append((what, measured, goal, ok))
        return ok


def throughput_targets(results, backend, scenario, c, t: Targets):
    """(goal text, pass) for one throughput row."""
    ours = rps(results, "todo-api", backend, scenario.key, c)
    peer = rps(results, "fastapi", backend, scenario.key, c)
    ceil = ceiling(results, c)
    goals = []
    where = f"{scenario.label}, {BACKEND_LABEL[backend]}, {c} conn."
    if scenario.kind in ("read", "write", "mix"):
        need = 30 if scenario.kind == "read" else 20
        r = ratio(ours, peer)
        goals.append((f"≥ x{need} FastAPI", t.check(f"{where}: vs FastAPI", fmt_x(r), f"≥ x{need}",
                                                     None if r is None else r >= need)))
    share = {"livez": 0.8, "health": 0.7}.get(scenario.key)
    if scenario.key == "get_item" and backend == "sqlite":
        share = 0.5
    if share:
        r = ratio(ours, ceil)
        goals.append((f"≥ {share * 100:.0f} % ceiling",
                      t.check(f"{where}: of the ceiling", fmt_pct(r), f"≥ {share * 100:.0f} %",
                              None if r is None else r >= share)))
    if scenario.key == "post" and backend == "sqlite":
        goals.append(("≥ 10,000/s", t.check(f"{where}: durable writes", fmt_n(ours),
                                            "≥ 10,000/s", None if ours is None else ours >= 10_000)))
    if not goals:
        return "-", None
    oks = [ok for _, ok in goals]
    return "; ".join(g for g, _ in goals), None if None in oks else all(oks)


def throughput_table(results, backend, t):
    m = results["mode"]
    head = (f"| request | conn. | todo-api | FastAPI | FastAPI tuned | vs FastAPI | vs tuned "
            f"| % of ceiling | target | |\n|---|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
    rows = []
    for s in SCENARIOS:
        for c in m["connections"]:
            ours = rps(results, "todo-api", backend, s.key, c)
            peer = rps(results, "fastapi", backend, s.key, c)
            tuned = rps(results, "fastapi-tuned", backend, s.key, c)
            goal, ok = throughput_targets(results, backend, s, c, t)
            rows.append(f"| {s.label} | {c} | {fmt_n(ours)} | {fmt_n(peer)} | {fmt_n(tuned)} | "
                        f"{fmt_x(ratio(ours, peer))} | {fmt_x(ratio(ours, tuned))} | "
                        f"{fmt_pct(ratio(ours, ceiling(results, c)))} | {goal} | {verdict(ok)} |")
    return head + "\n".join(rows)


def errors_note(results):
    """Runs whose answers were not all 2xx: listed, since their throughput is 2xx only."""
    notes = []
    for name, s in results["sessions"].items():
        for scenario, by_c in s["throughput"].items():
            for c, run in by_c.items():
                if run["errors"]:
                    notes.append(f"{name} {scenario} c={c}: {run['errors']} "
                                 f"({', '.join(f'{k} {v}' for k, v in run['error_kinds'].items())})")
        for scenario, run in s["latency"].items():
            if run["errors"]:
                notes.append(f"{name} {scenario} at a fixed rate: {run['errors']} failed")
    text = ("Runs with failed requests (not counted in the figures): " + "; ".join(notes) + "."
            if notes else "Every request of every run was answered 2xx.")
    slow = []
    for name, s in results["sessions"].items():
        waits = [run.get("settle_s", 0) for by_c in s["throughput"].values() for run in by_c.values()]
        waits += [run.get("settle_s", 0) for run in s["latency"].values()]
        if waits and max(waits) > 1:
            slow.append(f"{name} (up to {max(waits):.0f} s)")
    wedged = []
    for name, s in results["sessions"].items():
        if s.get("restarts"):
            after = sorted({r["after"].removeprefix("the warm-up of ") for r in s["restarts"]})
            wedged.append(f"{name}, {len(s['restarts'])} times, after {', '.join(after)}")
    if wedged:
        text += (" Servers that stopped answering and using CPU for 5 s (deadlocked), each "
                 "time restarted on the same data, the run that wedged it not repeated (its "
                 "figure is what it answered before; x∞ where that was nothing): "
                 + "; ".join(wedged) + ".")
    if slow:
        text += (" After a run the harness waits until the server answers a database read "
                 "within 100 ms again; these needed more than a second to work off their "
                 "backlog: " + ", ".join(slow) + ".")
    return text


def latency_table(results, t):
    head = ("| database | request | rate/s | todo-api p50 / p99 ms | FastAPI p50 / p99 ms "
            "| FastAPI tuned p50 / p99 ms | FastAPI p99 ÷ ours | target | |\n"
            "|---|---|--:|--:|--:|--:|--:|---|---|\n")
    rows = []
    for backend in BACKENDS:
        for s in SCENARIOS:
            runs = {p: (session(results, p, backend) or {}).get("latency", {}).get(s.key)
                    for p in PEERS}
            if not runs["todo-api"]:
                continue
            cell = lambda r: "-" if not r else f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}"
            r = ratio(runs["fastapi"] and runs["fastapi"]["p99_ms"], runs["todo-api"]["p99_ms"])
            ok = t.check(f"{s.label}, {BACKEND_LABEL[backend]}: p99 at a fixed rate",
                         fmt_x(r), "≥ x20 lower", None if r is None else r >= 20)
            rows.append(f"| {BACKEND_LABEL[backend]} | {s.label} | {fmt_n(runs['todo-api']['rate'])} | "
                        f"{cell(runs['todo-api'])} | {cell(runs['fastapi'])} | "
                        f"{cell(runs['fastapi-tuned'])} | {fmt_x(r)} | ≥ x20 | {verdict(ok)} |")
    return head + "\n".join(rows)


def mib(kib):
    return None if kib is None else kib / 1024


def resources_table(results, t):
    m = results["mode"]
    env = results["environment"]
    top = max(m["connections"])
    head = (f"| server | database | ready ms | RSS idle MiB | RSS peak at {top} conn. MiB "
            f"| CPU s / 1,000 req. ({config.SCENARIO[COST_SCENARIO].short}) | size MiB "
            "| log lines | load average after |\n|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
    rows = []
    for name, s in results["sessions"].items():
        peak = max((r.get("rss_peak_kib", 0) for by_c in s["throughput"].values()
                    for c, r in by_c.items() if int(c) == top), default=None)
        cost = s["throughput"].get(COST_SCENARIO, {}).get(str(min(m["connections"])))
        size = env["sizes_bytes"].get(s["peer"])
        rows.append(f"| {PEERS.get(s['peer'], 'ceiling')} | {BACKEND_LABEL[s['backend']]} | "
                    f"{s['ready_ms']:.0f} | {mib(s['rss_idle_kib']):.1f} | {fmt_n(mib(peak), 1)} | "
                    f"{fmt_n(cost and cost['cpu_s_per_1k'], 3)} | {fmt_n(size and size / 2**20, 1)} | "
                    f"{fmt_n(s.get('log_lines'))} | {fmt_n(s.get('load_after'), 2)} |")
        if s["peer"] == "todo-api":
            where = BACKEND_LABEL[s["backend"]]
            t.check(f"RSS idle, {where}", f"{mib(s['rss_idle_kib']):.1f} MiB", "< 20 MB",
                    s["rss_idle_kib"] * 1024 < 20e6)
            t.check(f"RSS at {top} connections, {where}", f"{fmt_n(mib(peak), 1)} MiB", "< 40 MB",
                    None if peak is None else peak * 1024 < 40e6)
            t.check(f"ready (first 200 on /health-check), {where}", f"{s['ready_ms']:.0f} ms",
                    "< 100 ms", s["ready_ms"] < 100)
    size = env["sizes_bytes"]["todo-api"]
    t.check("release binary", f"{size / 2**20:.1f} MiB", "< 25 MB", size < 25e6)
    return head + "\n".join(rows)


def cost_per_million(cpu_s_per_1k):
    """Fully loaded instances: a million requests need cpu_s_per_1k * 1,000 CPU seconds,
    i.e. that many seconds of an instance divided by its vCPUs."""
    cpu = cpu_s_per_1k * 1000
    f = FARGATE
    fargate = cpu / f["vcpu"] / 3600 * (f["vcpu"] * f["vcpu_hour"] + f["gb"] * f["gb_hour"])
    r = CLOUD_RUN
    run = cpu / r["vcpu"] * (r["vcpu"] * r["vcpu_second"] + r["gib"] * r["gib_second"])
    return fargate, run + r["per_million_requests"]


def cost_table(results):
    c = str(min(results["mode"]["connections"]))
    head = ("| server | database | CPU s / 1,000 req. | Fargate 0.5 vCPU, $ / M req. "
            "| Cloud Run 1 vCPU, $ / M req. (with the request fee) |\n|---|---|--:|--:|--:|\n")
    rows = []
    for backend in BACKENDS:
        for peer in PEERS:
            s = session(results, peer, backend)
            run = s and s["throughput"].get(COST_SCENARIO, {}).get(c)
            if run:
                fargate, cloud_run = cost_per_million(run["cpu_s_per_1k"])
                rows.append(f"| {PEERS[peer]} | {BACKEND_LABEL[backend]} | {run['cpu_s_per_1k']:.3f} "
                            f"| {fargate:.4f} | {cloud_run:.4f} |")
    return head + "\n".join(rows)


def reference_tables(results, t):
    pg = results["pgbench"]
    ours = rps(results, "todo-api", "postgres", "get_item", pg["clients"])
    r = ratio(ours, pg["tps"])
    ok = t.check("GET one item, PostgreSQL: of pgbench -S -M prepared", fmt_pct(r), "≥ 50 %",
                 None if r is None else r >= 0.5)
    out = ("| reference | figure | todo-api GET one item, PostgreSQL | share | target | |\n"
           "|---|--:|--:|--:|---|---|\n"
           f"| `pgbench -S -M prepared`, {pg['clients']} clients | {pg['tps']:,.0f} tps | "
           f"{fmt_n(ours)} rps | {fmt_pct(r)} | ≥ 50 % | {verdict(ok)} |\n")
    small, large = (str(n) for n in results["mode"]["growth_items"])
    out += ("\n| database | p50 / p99 ms, " + f"{int(small):,} items | p50 / p99 ms, {int(large):,} items "
            "| growth (p50) | target | |\n|---|--:|--:|--:|---|---|\n")
    for backend, g in results["growth"].items():
        a, b = g[small], g[large]
        r = ratio(b["p50_ms"], a["p50_ms"])
        ok = t.check(f"listing by date and done, {BACKEND_LABEL[backend]}: {int(large):,} vs "
                     f"{int(small):,} items", fmt_x(r), "≤ x1.5", None if r is None else r <= 1.5)
        out += (f"| {BACKEND_LABEL[backend]} | {a['p50_ms']:.2f} / {a['p99_ms']:.2f} | "
                f"{b['p50_ms']:.2f} / {b['p99_ms']:.2f} | {fmt_x(r)} | ≤ x1.5 | {verdict(ok)} |\n")
    return out


def summary_table(t):
    passed = sum(1 for *_, ok in t.rows if ok)
    head = (f"{passed} of {len(t.rows)} targets met.\n\n| target | measured | goal | |\n"
            "|---|--:|---|---|\n")
    return head + "\n".join(f"| {w} | {m} | {g} | {verdict(ok)} |" for w, m, g, ok in t.rows)


def markdown(results):
    m, env, t = results["mode"], results["environment"], Targets()
    c_list = " and ".join(str(c) for c in m["connections"])
    parts = [
        f"Generated by `bench/run{' --smoke' if m['name'] == 'smoke' else ''}` on "
        f"{results['started']} ({m['name']} mode, {results['seconds'] / 60:.0f} min; load "
        f"average before the run {results['load_before'][0]:.2f}). Service commit "
        f"`{env['commit']}`; {env['cpu']}; {env['tools']}.",
        f"Throughput: requests per second answered 2xx, median of {m['reps']} runs of "
        f"{m['duration']} s after {m['warmup']} s of warm-up, `wrk -t1`, {c_list} connections. "
        f"Ceiling (bare axum, constant item): "
        + ", ".join(f"{fmt_n(ceiling(results, c))} rps at {c}" for c in m["connections"]) + ".",
    ]
    for backend in BACKENDS:
        parts.append(f"#### {BACKEND_LABEL[backend]}\n\n" + throughput_table(results, backend, t))
    parts.append(errors_note(results))
    parts.append(f"#### Latency at a fixed rate\n\n`oha --latency-correction`, "
                 f"{m['latency_connections']} connections, {m['latency_seconds']} s, at half the "
                 f"FastAPI peer's best throughput for the request.\n\n" + latency_table(results, t))
    parts.append("#### References: pgbench, and cost growth with the data\n\n" +
                 reference_tables(results, t))
    parts.append("#### Memory, start-up, CPU and size\n\n" + resources_table(results, t) +
                 "\n\nSize: the release binary for todo-api and the ceiling; the virtualenv "
                 "(FastAPI and its dependencies, without Python itself) for the peers. Log "
                 "lines: what the server wrote to stdout during its session (its access log). Load average "
                 "after: the machine's 1-minute load at the end of the session; about 2 is the "
                 "benchmark itself, more means other work shared the machine (\"-\": not recorded).")
    parts.append("#### Cost per million requests\n\n" + cost_table(results))
    parts.append("#### Targets (issue 9)\n\n" + summary_table(t))
    return "\n\n".join(parts) + "\n"


def chart_spec(results):
    c = min(results["mode"]["connections"])
    panels = []
    for backend in BACKENDS:
        panels.append({
            "name": f"{BACKEND_LABEL[backend]}, {c} connections",
            "categories": [s.short for s in SCENARIOS],
            "series": [{"name": label, "values": [rps(results, peer, backend, s.key, c)
                                                  for s in SCENARIOS]}
                       for peer, label in PEERS.items()],
            "lines": [{"name": "ceiling", "value": ceiling(results, c)}],
        })
    return {"title": f"todo-api vs FastAPI: requests per second, one pinned core "
                     f"({results['started'][:10]})",
            "y_label": "requests/s (log)", "panels": panels}


def environment(bench) -> dict:
    def out(argv):
        try:
            done = subprocess.run(argv, capture_output=True, text=True)
            return (done.stdout.strip() or done.stderr.strip())  # wrk -v prints on stderr
        except OSError:
            return "?"

    root = Path(__file__).resolve().parents[2]
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.machine())
    venv = root / "bench" / ".venv"
    venv_bytes = int(out(["du", "-sb", str(venv)]).split()[0] or 0)
    dirty = " (with uncommitted changes)" if out(["git", "-C", str(root), "status", "--porcelain"]) else ""
    return {
        "commit": out(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]) + dirty,
        "cpu": f"{os.cpu_count()} × {cpu}, Linux {platform.release()}",
        "tools": ", ".join([
            (out(["wrk", "-v"]).splitlines() or ["wrk"])[0].split(" [")[0],
            out(["oha", "--version"]),
            "PostgreSQL " + out(["psql", "-X", "-Atc", "SHOW server_version", bench.admin_url]),
            f"Python {platform.python_version()}",
        ]),
        "sizes_bytes": {"todo-api": bench.todo_api.stat().st_size,
                        "ceiling": bench.ceiling.stat().st_size,
                        "fastapi": venv_bytes, "fastapi-tuned": venv_bytes},
    }


def publish(results, smoke: bool, chart: Path, root: Path) -> None:
    """Smoke: everything under target/bench/smoke. Full: the doc's generated section, the
    chart and the raw results, all committed."""
    out_dir = root / "target" / "bench" / ("smoke" if smoke else "full")
    out_dir.mkdir(parents=True, exist_ok=True)
    section = markdown(results)
    (out_dir / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out_dir / "benchmarks.md").write_text(section)
    (out_dir / "chart.json").write_text(json.dumps(chart_spec(results), indent=1))
    subprocess.run([str(chart), str(out_dir / "chart.json"), str(out_dir / "benchmarks.svg")],
                   check=True)
    print(section)
    if smoke:
        print(f"smoke run: tables and chart in {out_dir} (docs/ left as committed)")
        return
    doc = root / "docs" / "benchmarks.md"
    text = doc.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    doc.write_text(text[:start] + "\n" + section + text[end:])
    shutil.copyfile(out_dir / "benchmarks.svg", root / "docs" / "benchmarks.svg")
    (root / "bench" / "results").mkdir(exist_ok=True)
    shutil.copyfile(out_dir / "results.json", root / "bench" / "results" / "full.json")
    print(f"wrote docs/benchmarks.md, docs/benchmarks.svg and bench/results/full.json")
