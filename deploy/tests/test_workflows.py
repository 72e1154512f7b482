"""GitHub Actions (.github/workflows): what CI runs and how safely it runs it.

deploy/ci/check runs the workflow schema and zizmor; these tests hold ci.yml to the project's
rules: full-SHA pins, read-only token, no persisted credentials, pinned database services, the
toolchain of Cargo.toml, and the one `.ci/run` step wired to the service containers.
"""

from __future__ import annotations

import pathlib
import re
import tomllib
from urllib.parse import urlparse

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))


def load(path: pathlib.Path) -> dict:
    # PyYAML (YAML 1.1) reads the key `on` as True; put it back.
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


@pytest.fixture(scope="module")
def ci() -> dict:
    return load(REPO / ".github" / "workflows" / "ci.yml")


@pytest.fixture(scope="module")
def job(ci) -> dict:
    (only,) = ci["jobs"].values()
    return only


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def test_workflows_exist():
    assert WORKFLOWS, "no workflow under .github/workflows"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_full_sha_with_a_version_comment(path):
    uses_lines = [line for line in path.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
    assert uses_lines
    for line in uses_lines:
        assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_token_is_read_only(path):
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        assert job.get("permissions", {"contents": "read"}) == {"contents": "read"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_does_not_persist_credentials(path):
    for step in steps(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_has_a_timeout_within_ci_budget(path):
    for job in load(path)["jobs"].values():
        assert 0 < job["timeout-minutes"] <= 90


def test_runs_on_push_and_pull_request(ci):
    assert set(ci["on"]) == {"push", "pull_request"}


def test_database_services_are_pinned(job):
    services = job["services"]
    assert re.fullmatch(r"postgres:15\.\d+(-\w+)?", services["postgres"]["image"])
    assert re.fullmatch(r"mariadb:10\.11\.\d+", services["mariadb"]["image"])
    for service in services.values():
        assert "--health-cmd" in service["options"], "tests start only once the database is up"


def test_test_urls_point_at_the_service_containers(job):
    services, env = job["services"], job["env"]
    pg = urlparse(env["TEST_POSTGRES_URL"])
    assert pg.scheme == "postgres" and pg.port == 5432
    assert "5432:5432" in services["postgres"]["ports"]
    assert pg.username == services["postgres"]["env"]["POSTGRES_USER"]
    assert pg.password == services["postgres"]["env"]["POSTGRES_PASSWORD"]
    assert pg.path.lstrip("/") == services["postgres"]["env"]["POSTGRES_DB"]
    # The harness runs CREATE DATABASE per test: the image makes POSTGRES_USER a superuser.
    my = urlparse(env["TEST_MYSQL_URL"])
    assert my.scheme == "mysql" and my.port == 3306
    assert "3306:3306" in services["mariadb"]["ports"]
    # The harness runs CREATE DATABASE per test: on MariaDB only root may.
    assert my.username == "root"
    assert my.password == services["mariadb"]["env"]["MARIADB_ROOT_PASSWORD"]


def test_rust_toolchain_is_the_one_of_cargo_toml(ci):
    rust_version = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["rust-version"]
    runs = "\n".join(s.get("run", "") for s in steps(ci))
    assert f"rustup toolchain install {rust_version} " in runs
    assert f"rustup default {rust_version}" in runs
    assert "--component rustfmt,clippy" in runs


def test_terraform_for_the_fmt_check(ci):
    (tf,) = [s for s in steps(ci) if s.get("uses", "").startswith("hashicorp/setup-terraform@")]
    assert tf["with"]["terraform_version"].lstrip("~^=").startswith("1.11")
    assert tf["with"]["terraform_wrapper"] is False


def test_the_last_step_is_ci_run(ci):
    last = list(steps(ci))[-1]
    assert last["run"].strip() == "bash .ci/run"


def test_no_expression_is_interpolated_into_a_shell(ci):
    """Template injection: `${{ }}` inside `run:` would be expanded before the shell parses it."""
    for step in steps(ci):
        assert "${{" not in step.get("run", "")
