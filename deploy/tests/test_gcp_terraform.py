"""The GCP Terraform (deploy/gcp) holds the numbers of the deployment requirements.

Parsed offline with python-hcl2 (no provider, no plan): these tests read the configuration as
written and assert the required values, the secure defaults and the wiring between modules.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

import pytest

from conftest import DEPLOY, attr, blocks, load_module, load_tfvars

GCP = DEPLOY / "gcp"
MODULES = sorted(p.name for p in (GCP / "modules").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def root():
    return load_module("gcp")


def module(name: str):
    return load_module(f"gcp/modules/{name}")


def by_env(expr: Any) -> dict[str, Any]:
    """Evaluate a root `var.environment == "prod" ? <prod> : <dev>` setting for both environments."""
    assert isinstance(expr, str), expr
    m = re.fullmatch(r'\$\{var\.environment == "prod"(?: \? (.+) : (.+))?\}', expr)
    assert m, f"not a per-environment expression: {expr}"
    if m.group(1) is None:
        return {"prod": True, "dev": False}

    def literal(text: str) -> Any:
        text = text.strip()
        if text.startswith('"'):
            return text.strip('"')
        if text in ("true", "false"):
            return text == "true"
        return int(text)

    return {"prod": literal(m.group(1)), "dev": literal(m.group(2))}


def single(body: dict, key: str) -> dict:
    found = blocks(body, key)
    assert len(found) == 1, f"expected one {key} block, found {len(found)}"
    return found[0]


# --- layout and versions -------------------------------------------------------------------


def test_root_uses_only_local_modules(root):
    assert set(root.modules) == {
        "kms", "network", "secrets", "database", "registry", "cloud_run", "load_balancer", "monitoring", "build",
    }
    for name, call in root.modules.items():
        assert attr(call, "source") == f"./modules/{name}", name


@pytest.mark.parametrize("directory", ["."] + [f"modules/{m}" for m in MODULES])
def test_every_root_and_module_pins_terraform_and_providers(directory):
    import hcl2

    with (GCP / directory / "versions.tf").open() as fh:
        doc = hcl2.load(fh)
    terraform = doc["terraform"][0]
    assert attr(terraform, "required_version").startswith(">= 1.11")
    providers = attr(terraform, "required_providers")
    assert providers, directory
    for name, spec in providers.items():
        spec = attr({"spec": spec}, "spec")
        assert spec["version"], f"{directory}: provider {name} has no version constraint"
        assert spec["source"].startswith("hashicorp/"), name


def test_backend_is_a_partial_gcs_block():
    text = (GCP / "versions.tf").read_text()
    assert re.search(r'backend "gcs" \{\}', text), "the GCS backend is left partial (bucket via -backend-config)"


@pytest.mark.parametrize("directory", ["."] + [f"modules/{m}" for m in MODULES])
def test_every_variable_has_a_type_and_a_description(directory):
    mod = load_module(GCP / directory)
    for name, var in mod.variables.items():
        assert attr(var, "description"), f"{directory}: variable {name} has no description"
        assert "type" in var, f"{directory}: variable {name} has no type"


# --- environments --------------------------------------------------------------------------


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_tfvars_name_their_environment_and_set_every_required_variable(root, env):
    tfvars = load_tfvars(f"gcp/{env}.tfvars")
    assert tfvars["environment"] == env
    required = {name for name, var in root.variables.items() if "default" not in var}
    assert required <= set(tfvars), f"{env}.tfvars misses {sorted(required - set(tfvars))}"
    assert set(tfvars) <= set(root.variables), f"{env}.tfvars sets unknown {sorted(set(tfvars) - set(root.variables))}"


def test_environment_variable_accepts_only_dev_and_prod(root):
    validation = single(root.variables["environment"], "validation")
    condition = attr(validation, "condition").replace("'", '"').replace(" ", "")
    assert condition == '${contains(["dev","prod"],var.environment)}'


def test_database_tier_per_environment_with_the_seed_name_beside_it(root):
    tier = by_env(root.locals["env"]["database_tier"])
    assert tier == {"prod": "db-custom-2-7680", "dev": "db-f1-micro"}
    # The requirements name db-n1-standard-2; the configuration must say which tier stands for it.
    text = (GCP / "main.tf").read_text()
    before = text[: text.index('database_tier              = var.environment == "prod"')]
    assert "db-n1-standard-2" in before.splitlines()[-2] + before.splitlines()[-3]


def test_prod_is_regional_protected_and_replicated(root):
    env = root.locals["env"]
    assert by_env(env["database_availability_type"]) == {"prod": "REGIONAL", "dev": "ZONAL"}
    assert by_env(env["deletion_protection"]) == {"prod": True, "dev": False}
    assert by_env(env["database_read_replica"]) == {"prod": True, "dev": False}
    assert by_env(env["log_retention_days"]) == {"prod": 365, "dev": 30}
    assert by_env(env["build_requires_approval"]) == {"prod": True, "dev": False}


def test_connection_pool_fits_the_database_at_max_instances(root):
    pool = by_env(root.locals["env"]["database_max_connections"])
    max_instances = root.locals["cloud_run"]["max_instances"]
    # db-f1-micro accepts 25 connections (3 kept for superusers).
    assert pool["dev"] * max_instances <= 22
    assert pool["prod"] * max_instances <= 200


def test_environment_settings_reach_the_modules(root):
    db = root.modules["database"]
    assert attr(db, "tier") == "${local.env.database_tier}"
    assert attr(db, "availability_type") == "${local.env.database_availability_type}"
    assert attr(db, "deletion_protection") == "${local.env.deletion_protection}"
    assert attr(db, "read_replica") == "${local.env.database_read_replica}"
    assert attr(root.modules["cloud_run"], "deletion_protection") == "${local.env.deletion_protection}"
    assert attr(root.modules["monitoring"], "log_retention_days") == "${local.env.log_retention_days}"


# --- network -------------------------------------------------------------------------------


def test_subnets_are_the_seeds_tokyo_and_osaka(root):
    assert root.locals["subnets"] == {
        "tokyo": {"region": "asia-northeast1", "cidr": "10.0.1.0/24"},
        "osaka": {"region": "asia-northeast2", "cidr": "10.0.2.0/24"},
    }
    call = root.modules["network"]
    assert attr(call, "subnets") == "${local.subnets}"
    assert attr(call, "run_subnet") == "tokyo"
    assert root.locals["region"] == "asia-northeast1"


def test_vpc_is_custom_mode_with_private_google_access_and_flow_logs():
    net = module("network")
    assert attr(net.resource("google_compute_network", "vpc"), "auto_create_subnetworks") is False
    subnet = net.resource("google_compute_subnetwork", "subnet")
    assert attr(subnet, "for_each") == "${var.subnets}"
    assert attr(subnet, "private_ip_google_access") is True
    assert blocks(subnet, "log_config"), "VPC flow logs"


def test_cloud_router_and_nat_in_every_subnet_region():
    net = module("network")
    router = net.resource("google_compute_router", "router")
    assert "s.region" in attr(router, "for_each")
    nat = net.resource("google_compute_router_nat", "nat")
    assert attr(nat, "for_each") == "${google_compute_router.router}"
    assert attr(nat, "source_subnetwork_ip_ranges_to_nat") == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    assert attr(single(nat, "log_config"), "enable") is True


def test_firewall_rules():
    net = module("network")
    lb_ranges = net.locals["google_lb_ranges"]
    assert sorted(lb_ranges) == ["130.211.0.0/22", "35.191.0.0/16"]

    https = net.resource("google_compute_firewall", "allow_https_http")
    assert attr(https, "direction") == "INGRESS"
    assert attr(single(https, "allow"), "ports") == ["80", "443"]
    assert attr(https, "source_ranges") == "${local.google_lb_ranges}"
    assert attr(https, "target_tags") == ["${var.http_target_tag}"]
    assert net.default("http_target_tag") == "http-server"

    app = net.resource("google_compute_firewall", "allow_lb_to_app")
    assert attr(single(app, "allow"), "ports") == ["8080"]
    assert attr(app, "source_ranges") == "${local.google_lb_ranges}"

    deny = net.resource("google_compute_firewall", "deny_all_ingress")
    assert attr(deny, "direction") == "INGRESS"
    assert attr(single(deny, "deny"), "protocol") == "all"
    assert attr(deny, "source_ranges") == ["0.0.0.0/0"]
    assert blocks(deny, "log_config"), "the default deny is logged"
    assert attr(deny, "priority") > attr(https, "priority")

    # Every rule logs.
    for name, rule in net.resources["google_compute_firewall"].items():
        assert blocks(rule, "log_config"), name


def test_private_services_access_for_cloud_sql(root):
    net = module("network")
    address = net.resource("google_compute_global_address", "private_services")
    assert attr(address, "purpose") == "VPC_PEERING"
    conn = net.resource("google_service_networking_connection", "private_services")
    assert attr(conn, "service") == "servicenetworking.googleapis.com"
    reserved = ipaddress.ip_network(net.default("private_service_range"))
    for subnet in root.locals["subnets"].values():
        assert not reserved.overlaps(ipaddress.ip_network(subnet["cidr"]))
    # Cloud SQL gets the network only through the output that waits for the peering.
    assert attr(root.modules["database"], "network_id") == "${module.network.private_services_network_id}"
    out = net.outputs["private_services_network_id"]
    assert attr(out, "depends_on") == ["${google_service_networking_connection.private_services}"]
