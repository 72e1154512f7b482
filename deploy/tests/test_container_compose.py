"""compose.yaml: the local stack (PostgreSQL 15, a one-off migrate, the API), beyond the schema.

check-jsonschema validates the file against the Compose spec (deploy/container/check); these
tests pin the behaviour: start order, health checks, the hardened API container.
"""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    # PyYAML resolves the `<<:` merge keys the file uses to share the API settings.
    return yaml.safe_load((REPO / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def test_postgres_15_pinned_with_health_check_and_named_volume(compose, services):
    pg = services["postgres"]
    assert re.fullmatch(r"postgres:15\.\d+(-[a-z0-9.]+)?", pg["image"]), pg["image"]
    assert pg["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    volume = pg["volumes"][0].split(":")[0]
    assert volume in compose["volumes"], "data lives in a named volume"
    assert "ports" not in pg, "the database is reachable from the compose network only"


def test_migrate_runs_once_after_postgres_is_healthy(services):
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"


def test_api_starts_after_a_successful_migration(services):
    api = services["api"]
    assert api["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert api["environment"]["AUTO_MIGRATE"] == "false"


def test_api_and_migrate_share_one_image_build(services):
    api, migrate = services["api"], services["migrate"]
    assert api["build"]["context"] == "."
    assert api["image"] == migrate["image"]
    assert api["build"] == migrate["build"]


def test_api_environment(services):
    env = services["api"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://todo@postgres:5432/")
    assert ":" not in env["DATABASE_URL"].split("//")[1].split("@")[0], "no password in the URL"
    # Secrets come from the shell or .env; the defaults are marked as development-only.
    assert re.fullmatch(r"\$\{DATABASE_PASSWORD:-[^}]+\}", env["DATABASE_PASSWORD"])
    assert re.fullmatch(r"\$\{TOKEN_PEPPER:-[^}]*dev[^}]*\}", env["TOKEN_PEPPER"])
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == env["DATABASE_PASSWORD"]


def test_api_ports_bind_to_localhost(services):
    ports = services["api"]["ports"]
    assert "127.0.0.1:8000:8000" in ports
    assert all(p.startswith("127.0.0.1:") for p in ports), "nothing published on every interface"


@pytest.mark.parametrize("name", ["api", "migrate"])
def test_app_containers_are_hardened(services, name):
    svc = services[name]
    assert svc["read_only"] is True
    assert "no-new-privileges:true" in svc["security_opt"]
    assert svc["cap_drop"] == ["ALL"]


def test_api_health_check_is_the_liveness_subcommand(services):
    check = services["api"]["healthcheck"]
    assert check["test"] == ["CMD", "/usr/local/bin/todo-api", "healthcheck"]
    assert {"interval", "timeout", "retries", "start_period"} <= check.keys()


def test_stop_grace_outlasts_the_shutdown_timeout(services):
    api = services["api"]
    grace = int(api["stop_grace_period"].rstrip("s"))
    assert grace > int(api["environment"]["SHUTDOWN_TIMEOUT"])
