"""deploy/gcp/cloudbuild.yaml: the pipeline order, the image path, and its fit with Terraform."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml

from conftest import DEPLOY, REPO, attr, load_module

CLOUDBUILD = DEPLOY / "gcp" / "cloudbuild.yaml"


@pytest.fixture(scope="module")
def build() -> dict:
    return yaml.safe_load(CLOUDBUILD.read_text())


@pytest.fixture(scope="module")
def steps(build) -> dict[str, dict]:
    ids = [s["id"] for s in build["steps"]]
    assert len(ids) == len(set(ids)), "step ids are unique"
    return {s["id"]: s for s in build["steps"]}


def order(build) -> list[str]:
    return [s["id"] for s in build["steps"]]


def command(step: dict) -> str:
    return " ".join([step.get("entrypoint", "")] + [str(a) for a in step.get("args", [])])


def test_steps_test_build_push_migrate_deploy(build):
    assert order(build) == ["test", "build", "push", "migrate-image", "migrate", "purge-image", "deploy"]


def test_migration_runs_and_is_awaited_before_the_deploy(build, steps):
    ids = order(build)
    assert ids.index("migrate-image") < ids.index("migrate") < ids.index("deploy")
    migrate = command(steps["migrate"])
    assert migrate.startswith("gcloud run jobs execute ${_MIGRATE_JOB}")
    assert "--wait" in migrate.split(), "the build must fail on a failed migration"
    update = command(steps["migrate-image"])
    assert update.startswith("gcloud run jobs update ${_MIGRATE_JOB}")
    assert "--image=${_IMAGE}" in update
    # No step waits on a subset that would let the deploy start before the migration ends.
    for step in ("migrate-image", "migrate", "purge-image", "deploy"):
        assert "waitFor" not in steps[step], f"{step} runs after every earlier step"


def test_nothing_is_pushed_before_tests_and_build_pass(steps):
    assert steps["push"]["waitFor"] == ["test", "build"]
    assert steps["push"]["args"] == ["push", "${_IMAGE}"]


def test_tests_run_cargo_test_on_the_crates_toolchain(steps):
    test = steps["test"]
    assert test["entrypoint"] == "cargo"
    assert test["args"][0] == "test" and "--locked" in test["args"]
    rust_version = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["rust-version"]
    assert re.fullmatch(rf"rust:{re.escape(rust_version)}(\.\d+)?-bookworm", test["name"]), test["name"]


def test_deploy_updates_only_the_app_container(steps):
    deploy = command(steps["deploy"])
    assert deploy.startswith("gcloud run deploy ${_SERVICE}")
    assert "--container=todo-api" in deploy
    assert "--image=${_IMAGE}" in deploy
    assert "--region=${_REGION}" in deploy


def test_image_path_is_artifact_registry(build, steps):
    subs = build["substitutions"]
    assert subs["_IMAGE"] == "${_REGION}-docker.pkg.dev/${PROJECT_ID}/${_REPOSITORY}/${_IMAGE_NAME}:${_TAG}"
    assert subs["_TAG"] == "${SHORT_SHA}"
    assert "--tag=${_IMAGE}" in steps["build"]["args"]
    assert build["images"] == ["${_IMAGE}"]
    assert build["options"]["dynamicSubstitutions"] is True


def test_defaults_match_the_terraform_names(build):
    subs = build["substitutions"]
    registry = load_module("gcp/modules/registry")
    build_module = load_module("gcp/modules/build")
    root = load_module("gcp")
    assert subs["_REGION"] == root.locals["region"]
    assert subs["_REPOSITORY"] == registry.default("repository_id")
    assert subs["_IMAGE_NAME"] == build_module.default("image_name")
    # <name>-<environment> of the service, <service>-migrate of the job (dev by default).
    assert subs["_SERVICE"] == f"{root.default('name')}-dev"
    cloud_run = load_module("gcp/modules/cloud_run")
    assert attr(cloud_run.resource("google_cloud_run_v2_job", "migrate"), "name") == "${var.name}-migrate"
    assert subs["_MIGRATE_JOB"] == f"{subs['_SERVICE']}-migrate"


def test_trigger_substitutions_are_declared_in_the_file(build):
    trigger = load_module("gcp/modules/build").resource("google_cloudbuild_trigger", "deploy")
    assert set(attr(trigger, "substitutions")) <= set(build["substitutions"])
    assert set(attr(trigger, "substitutions")) >= {"_REGION", "_REPOSITORY", "_SERVICE", "_MIGRATE_JOB"}


def test_logs_go_to_cloud_logging_only(build):
    # Required when a build runs as a user-specified service account.
    assert build["options"]["logging"] == "CLOUD_LOGGING_ONLY"
