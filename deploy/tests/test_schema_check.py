"""deploy/schema/check.py, the offline provider-schema check, catches what `terraform validate`
would: proven on a deliberately broken fixture, and run on the repository's own Terraform.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import textwrap

import pytest

from conftest import DEPLOY, REPO

CHECK = DEPLOY / "schema" / "check.py"
SCHEMAS = json.loads((DEPLOY / "schema" / "providers.json").read_text())

BROKEN = textwrap.dedent(
    """
    resource "aws_secretsmanager_secret_version" "unknown_argument" {
      secret_id        = "x"
      secret_string_wo = "y"
      secret_strnig    = "typo"
    }

    resource "aws_secretsmanager_secret_version" "missing_required" {
      secret_string = "no secret_id"
    }

    resource "aws_ecs_service" "typoed_block" {
      name = "x"
      network_configration {
        subnets = ["a"]
      }
    }

    resource "aws_ecs_service" "nested_missing_required" {
      name = "x"
      network_configuration {
        assign_public_ip = false
      }
    }

    resource "aws_iam_role_policy" "dynamic_typo" {
      role   = "r"
      policy = "{}"
      dynamic "statment" {
        for_each = []
        content {}
      }
    }

    resource "aws_no_such_thing" "unknown_type" {}

    data "aws_iam_policy_document" "bad_nested" {
      statement {
        actions   = ["s3:*"]
        resourcez = ["*"]
      }
    }

    ephemeral "random_password" "ephemeral_keepers" {
      length  = 10
      keepers = {}
    }

    ephemeral "random_password" "ephemeral_missing_length" {
      special = false
    }

    resource "google_project_service_identity" "beta_only" {
      provider = google-beta
      service  = "run.googleapis.com"
      bogus    = 1
    }
    """
)

GOOD = textwrap.dedent(
    """
    resource "aws_secretsmanager_secret_version" "ok" {
      count                    = 1
      secret_id                = "x"
      secret_string_wo         = ephemeral.random_password.p.result
      secret_string_wo_version = 1
      depends_on               = []
      lifecycle {
        ignore_changes = [secret_id]
      }
    }

    resource "aws_ecs_service" "ok" {
      for_each = toset(["a"])
      name     = each.key
      network_configuration {
        subnets = ["a"]
      }
      dynamic "load_balancer" {
        for_each = []
        content {
          container_name = "c"
          container_port = 8000
        }
      }
    }

    ephemeral "random_password" "p" {
      length           = 24
      lower            = false
      upper            = false
      numeric          = true
      special          = true
      override_special = "abcdef"
    }

    resource "google_project_service_identity" "ok" {
      provider = google-beta
      service  = "run.googleapis.com"
    }
    """
)


def run(path: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), str(path)], capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def broken(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("broken") / "main.tf"
    path.write_text(BROKEN)
    result = run(path)
    assert result.returncode == 1, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "expected",
    [
        '"unknown_argument": unknown argument or block \'secret_strnig\' (did you mean \'secret_string\'?)',
        '"missing_required": missing required argument \'secret_id\'',
        '"typoed_block": unknown argument or block \'network_configration\'',
        '"nested_missing_required" > network_configuration: missing required argument \'subnets\'',
        '"dynamic_typo": dynamic "statment": no such block',
        "aws_no_such_thing",
        '"bad_nested" > statement: unknown argument or block \'resourcez\'',
        '"ephemeral_keepers": unknown argument or block \'keepers\'',
        '"ephemeral_missing_length": missing required argument \'length\'',
        '"beta_only": unknown argument or block \'bogus\'',
    ],
)
def test_broken_fixture_is_refused(broken, expected):
    assert expected in broken, broken


def test_good_fixture_passes(tmp_path):
    path = tmp_path / "main.tf"
    path.write_text(GOOD)
    result = run(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_repository_passes():
    result = run(DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schemas_are_the_pinned_provider_versions():
    """The roots pin aws >= 6.0 < 7, google ~> 6.27, random ~> 3.7: the subset was extracted from
    provider versions inside those ranges, and it knows the write-only arguments we rely on."""
    providers = SCHEMAS["providers"]
    assert providers["aws"]["provider_version"].startswith("6.")
    assert providers["google"]["provider_version"].startswith("6.")
    major, minor, _ = (int(x) for x in providers["google"]["provider_version"].split("."))
    assert (major, minor) >= (6, 27)
    assert providers["random"]["provider_version"].startswith("3.")
    aws = providers["aws"]["resource"]["aws_secretsmanager_secret_version"]["attributes"]
    assert {"secret_string_wo", "secret_string_wo_version"} <= set(aws)
    google = providers["google"]["resource"]
    assert {"secret_data_wo", "secret_data_wo_version"} <= set(google["google_secret_manager_secret_version"]["attributes"])
    assert {"password_wo", "password_wo_version"} <= set(google["google_sql_user"]["attributes"])
    assert "random_password" in providers["random"]["ephemeral"], "written by hand: cdktf has no ephemeral types"


def test_every_used_type_is_in_the_subset():
    """A new resource type needs `extract.py` to be run again (the check would refuse it)."""
    import hcl2

    for path in sorted(DEPLOY.rglob("*.tf")):
        doc = hcl2.loads(path.read_text())
        for kind in ("resource", "data", "ephemeral"):
            for group in doc.get(kind, []):
                for rtype, named in group.items():
                    for body in named.values():
                        provider = str(body["provider"][0]).strip("${}") if "provider" in body else rtype.split("_")[0]
                        assert rtype in SCHEMAS["providers"][provider][kind], f"{path}: {kind} {rtype}"
