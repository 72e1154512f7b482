"""What the benchmark runs: its two modes, the scenarios and the servers (peers).

Everything that decides a figure is here, so that docs/benchmarks.md can state it and a
change to the method is one reviewed diff."""

from dataclasses import dataclass, field

# Two cores: the server under test (and PostgreSQL, which has to share one of them) on core
# 0, the load generator and the log reader on core 1. The same for every peer and pgbench.
SERVER_CORE = "0"
LOAD_CORE = "1"
POSTGRES_CORE = SERVER_CORE


@dataclass(frozen=True)
class Mode:
    name: str
    duration: int  # seconds of one measured wrk run
    warmup: int  # seconds of unmeasured load before the runs of each scenario
    reps: int  # measured runs per scenario and connection count; the median is reported
    connections: tuple[int, ...]
    latency_seconds: float  # one fixed-rate oha run per scenario
    latency_connections: int
    users: int
    items: int  # the main data set: `items` items spread over `users` users
    growth_items: tuple[int, int]  # cost growth: one user with this few, then this many items
    growth_rate: int  # requests per second of the cost-growth latency runs
    pgbench_scale: int


FULL = Mode(
    name="full", duration=5, warmup=2, reps=3, connections=(32, 256),
    latency_seconds=8, latency_connections=32, users=100, items=100_000,
    growth_items=(10_000, 1_000_000), growth_rate=200, pgbench_scale=10,
)
# Seconds long: every peer, scenario and table still goes through the same code (wrk's
# shortest run is 1 s; one connection count, so "RSS at 256" reads "at 32" there).
SMOKE = Mode(
    name="smoke", duration=1, warmup=0, reps=1, connections=(32,),
    latency_seconds=0.5, latency_connections=32, users=10, items=2_000,
    growth_items=(1_000, 5_000), growth_rate=100, pgbench_scale=1,
)


@dataclass(frozen=True)
class Scenario:
    key: str  # also the name the wrk script dispatches on (harness/lua/scenario.lua)
    label: str
    short: str  # the chart's axis label
    kind: str  # "read", "write", "mix" or "probe": selects the target that applies
    method: str = "GET"
    static_path: str | None = None  # set for requests without a token or variable parts


SCENARIOS = [
    Scenario("get_item", "GET one item", "GET item", "read"),
    Scenario("list_undone", "GET a user's undone items (limit 50)", "GET undone", "read"),
    Scenario("by_date", "GET /items?date=", "GET by date", "read"),
    Scenario("health", "GET /health-check", "health-check", "probe", static_path="/health-check"),
    Scenario("livez", "GET /livez", "livez", "probe", static_path="/livez"),
    # Writes last: they change the data the reads above see (the same for every peer).
    Scenario("post", "POST item", "POST", "write", method="POST"),
    Scenario("patch", "PATCH item", "PATCH", "write", method="PATCH"),
    Scenario("mix", "90 % GET item / 10 % POST", "90/10 mix", "mix"),
]
SCENARIO = {s.key: s for s in SCENARIOS}
# What the ceiling serves (any path answers the same constant item).
CEILING_SCENARIO = Scenario("ceiling", "constant item, no database", "ceiling", "probe",
                            static_path="/users/1/items/1")


@dataclass(frozen=True)
class Peer:
    key: str
    label: str
    backends: tuple[str, ...] = ("sqlite", "postgres")
    python: bool = False
    extra: dict = field(default_factory=dict)


TODO_API = Peer("todo-api", "todo-api")
FASTAPI = Peer("fastapi", "FastAPI + SQLAlchemy", python=True, extra={"module": "sql_app.main:app"})
TUNED = Peer("fastapi-tuned", "FastAPI tuned", python=True, extra={"module": "tuned.app:app"})
CEILING = Peer("ceiling", "ceiling (bare axum)", backends=("none",))
# FastAPI first: its maxima set the fixed rates of everyone's latency runs.
PEERS = [FASTAPI, TUNED, TODO_API]
BACKENDS = ("sqlite", "postgres")
BACKEND_LABEL = {"sqlite": "SQLite", "postgres": "PostgreSQL", "none": "-"}
