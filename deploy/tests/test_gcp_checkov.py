"""Our custom checkov checks (deploy/checkov) fail on bad resources and pass on good ones.

One checkov run over a small fixture directory: each check must report FAILED for every `bad*`
resource it applies to and PASSED for every `good*` one. A check that always passed (or
always failed) would break this test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import textwrap

import pytest

from conftest import DEPLOY

CHECKS_DIR = DEPLOY / "checkov"

FIXTURE = textwrap.dedent(
    """
    resource "google_cloud_run_v2_service" "good" {
      name     = "good"
      location = "asia-northeast1"
      ingress  = "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
      template {
        service_account = "todo-api-run@example-project.iam.gserviceaccount.com"
        encryption_key  = "projects/p/locations/asia-northeast1/keyRings/r/cryptoKeys/run"
        containers {
          image = "asia-northeast1-docker.pkg.dev/p/todo-api/todo-api:1"
          ports {
            container_port = 8080
          }
          env {
            name  = "LOG_FORMAT"
            value = "json"
          }
          startup_probe {
            http_get {
              path = "/health-check"
            }
          }
          liveness_probe {
            http_get {
              path = "/livez"
            }
          }
        }
        containers {
          name  = "sidecar"
          image = "example/sidecar:1"
        }
      }
    }

    resource "google_cloud_run_v2_service" "bad" {
      name     = "bad"
      location = "asia-northeast1"
      ingress  = "INGRESS_TRAFFIC_ALL"
      template {
        service_account = "123456789-compute@developer.gserviceaccount.com"
        containers {
          image = "asia-northeast1-docker.pkg.dev/p/todo-api/todo-api:1"
          ports {
            container_port = 8080
          }
          env {
            name  = "PORT"
            value = "8080"
          }
          startup_probe {
            http_get {
              path = "/health-check"
            }
          }
        }
      }
    }

    # No ingress and no service account: the provider defaults (public, Compute default SA).
    resource "google_cloud_run_v2_service" "bad_defaults" {
      name     = "bad-defaults"
      location = "asia-northeast1"
      template {
        containers {
          image = "asia-northeast1-docker.pkg.dev/p/todo-api/todo-api:1"
        }
      }
    }

    resource "google_cloud_run_v2_job" "good" {
      name     = "good-job"
      location = "asia-northeast1"
      template {
        template {
          service_account = "todo-api-run@example-project.iam.gserviceaccount.com"
          encryption_key  = "projects/p/locations/asia-northeast1/keyRings/r/cryptoKeys/run"
          containers {
            image = "asia-northeast1-docker.pkg.dev/p/todo-api/todo-api:1"
            args  = ["migrate"]
          }
        }
      }
    }

    resource "google_cloud_run_v2_job" "bad" {
      name     = "bad-job"
      location = "asia-northeast1"
      template {
        template {
          containers {
            image = "asia-northeast1-docker.pkg.dev/p/todo-api/todo-api:1"
          }
        }
      }
    }

    resource "google_compute_backend_service" "good" {
      name                  = "good"
      load_balancing_scheme = "EXTERNAL_MANAGED"
      security_policy       = "projects/p/global/securityPolicies/armor"
      log_config {
        enable = true
      }
    }

    resource "google_compute_backend_service" "bad" {
      name                  = "bad"
      load_balancing_scheme = "EXTERNAL_MANAGED"
      log_config {
        enable = true
      }
    }

    resource "google_compute_backend_service" "bad_no_logs" {
      name            = "bad-no-logs"
      security_policy = "projects/p/global/securityPolicies/armor"
    }
    """
)

# check id -> resources expected to fail / pass
EXPECTED = {
    "CKV_TODO_GCP_1": (
        {"google_cloud_run_v2_service.bad", "google_cloud_run_v2_service.bad_defaults"},
        {"google_cloud_run_v2_service.good"},
    ),
    "CKV_TODO_GCP_2": (
        {"google_cloud_run_v2_service.bad", "google_cloud_run_v2_service.bad_defaults", "google_cloud_run_v2_job.bad"},
        {"google_cloud_run_v2_service.good", "google_cloud_run_v2_job.good"},
    ),
    "CKV_TODO_GCP_3": (
        {"google_cloud_run_v2_service.bad"},
        {"google_cloud_run_v2_service.good", "google_cloud_run_v2_service.bad_defaults"},
    ),
    "CKV_TODO_GCP_4": (
        {"google_cloud_run_v2_service.bad", "google_cloud_run_v2_service.bad_defaults", "google_cloud_run_v2_job.bad"},
        {"google_cloud_run_v2_service.good", "google_cloud_run_v2_job.good"},
    ),
    "CKV_TODO_GCP_5": (
        {"google_cloud_run_v2_service.bad", "google_cloud_run_v2_service.bad_defaults"},
        {"google_cloud_run_v2_service.good"},
    ),
    "CKV_TODO_GCP_6": (
        {"google_compute_backend_service.bad", "google_compute_backend_service.bad_no_logs"},
        {"google_compute_backend_service.good"},
    ),
}


def defined_check_ids() -> set[str]:
    ids: set[str] = set()
    for path in CHECKS_DIR.glob("gcp_*.py"):
        ids |= set(re.findall(r'id="(CKV_TODO_GCP_\d+)"', path.read_text()))
    return ids


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict[str, str]]:
    checkov = shutil.which("checkov")
    if checkov is None:
        pytest.skip("checkov is not on PATH (scripts/check-deploy puts .venv-deploy/bin there)")
    directory = tmp_path_factory.mktemp("checkov-fixture")
    (directory / "main.tf").write_text(FIXTURE)
    env = dict(
        os.environ,
        BC_SKIP_MAPPING="TRUE",
        SKIP_CHECKOV_VERSION_CHECK="1",
        CHECKOV_ALLOW_DOWNLOAD_EXTERNAL_MODULES="false",
        CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false",
    )
    proc = subprocess.run(
        [
            checkov, "--directory", str(directory), "--framework", "terraform",
            "--external-checks-dir", str(CHECKS_DIR), "--check", ",".join(sorted(defined_check_ids())),
            "--skip-download", "--output", "json",
        ],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    out: dict[str, dict[str, str]] = {}
    for status, key in (("PASSED", "passed_checks"), ("FAILED", "failed_checks")):
        for item in report["results"][key]:
            out.setdefault(item["check_id"], {})[item["resource"]] = status
    return out


def test_every_custom_check_is_exercised():
    assert defined_check_ids() == set(EXPECTED)


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_custom_check_fails_bad_and_passes_good(results, check_id):
    must_fail, must_pass = EXPECTED[check_id]
    got = results.get(check_id, {})
    for resource in sorted(must_fail):
        assert got.get(resource) == "FAILED", f"{check_id} should fail {resource}, got {got.get(resource)}"
    for resource in sorted(must_pass):
        assert got.get(resource) == "PASSED", f"{check_id} should pass {resource}, got {got.get(resource)}"


def test_every_skip_in_deploy_gcp_has_a_reason():
    skips = []
    for path in sorted((DEPLOY / "gcp").rglob("*.tf")):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                m = re.fullmatch(r"\s*#checkov:skip=(CKV2?_[A-Z]+_\d+):(.{30,})", line)
                assert m, f"{path.name}: a skip needs an id and a written reason: {line.strip()}"
                assert not m.group(1).startswith("CKV_TODO"), "our own checks are never skipped"
                skips.append(m.group(1))
    assert skips, "the known skips (CKV_GCP_79, CKV_GCP_6) are written inline"
