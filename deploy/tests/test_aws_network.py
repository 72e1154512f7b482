"""The deployment requirements' network: CIDRs, zones, NAT per environment, flow logs, and the security group chain
ALB (80/443 from anywhere) -> ECS (8000 from the ALB's group only) -> RDS (5432 from ECS's group
only, no egress)."""

from __future__ import annotations

import ipaddress

import pytest

from conftest import attr, blocks
from test_aws_common import ENVS, MODULES, ROOT, effective, value_in

NET = MODULES["network"]


@pytest.mark.parametrize("env", ENVS)
def test_vpc_and_subnet_cidrs_are_the_designs(env):
    assert effective("network", "vpc_cidr", env) == "10.0.0.0/16"
    assert effective("network", "availability_zones", env) == ["ap-northeast-1a", "ap-northeast-1c"]
    assert effective("network", "public_subnet_cidrs", env) == ["10.0.1.0/24", "10.0.2.0/24"]
    assert effective("network", "private_subnet_cidrs", env) == ["10.0.10.0/24", "10.0.20.0/24"]


def test_resources_use_the_cidr_variables():
    assert attr(NET.resource("aws_vpc", "this"), "cidr_block") == "${var.vpc_cidr}"
    public = NET.resource("aws_subnet", "public")
    private = NET.resource("aws_subnet", "private")
    assert attr(public, "cidr_block") == "${var.public_subnet_cidrs[count.index]}"
    assert attr(private, "cidr_block") == "${var.private_subnet_cidrs[count.index]}"
    for subnet in (public, private):
        assert attr(subnet, "count") == 2
        assert attr(subnet, "availability_zone") == "${var.availability_zones[count.index]}"
    assert attr(public, "map_public_ip_on_launch") is False


@pytest.mark.parametrize("env", ENVS)
def test_subnets_fit_the_vpc_without_overlap(env):
    vpc = ipaddress.ip_network(effective("network", "vpc_cidr", env))
    subnets = [ipaddress.ip_network(c) for c in effective("network", "public_subnet_cidrs", env) + effective("network", "private_subnet_cidrs", env)]
    for s in subnets:
        assert s.subnet_of(vpc)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1 :]:
            assert not a.overlaps(b), f"{a} overlaps {b}"


def test_internet_gateway_and_nat_routes():
    public_rt = NET.resource("aws_route_table", "public")
    (route,) = blocks(public_rt, "route")
    assert attr(route, "cidr_block") == "0.0.0.0/0"
    assert attr(route, "gateway_id") == "${aws_internet_gateway.this.id}"
    private_rt = NET.resource("aws_route_table", "private")
    assert attr(private_rt, "count") == 2
    (route,) = blocks(private_rt, "route")
    assert attr(route, "cidr_block") == "0.0.0.0/0"
    assert "aws_nat_gateway.this[" in attr(route, "nat_gateway_id")
    nat = NET.resource("aws_nat_gateway", "this")
    assert attr(nat, "count") == "${var.nat_gateway_count}"
    assert attr(nat, "subnet_id") == "${aws_subnet.public[count.index].id}"


def test_one_nat_gateway_in_dev_one_per_zone_in_prod():
    assert effective("network", "nat_gateway_count", "dev") == 1
    assert effective("network", "nat_gateway_count", "prod") == 2


def test_flow_logs_record_all_traffic_of_the_vpc():
    flow = NET.resource("aws_flow_log", "this")
    assert attr(flow, "vpc_id") == "${aws_vpc.this.id}"
    assert attr(flow, "traffic_type") == "ALL"
    group = NET.resource("aws_cloudwatch_log_group", "flow_logs")
    assert attr(group, "kms_key_id") == "${var.logs_kms_key_arn}"


def test_default_security_group_is_closed():
    sg = NET.resource("aws_default_security_group", "this")
    assert "ingress" not in sg and "egress" not in sg


# --- the security group chain ------------------------------------------------------------

SG_REF = {
    "${aws_security_group.alb.id}": "alb",
    "${aws_security_group.ecs.id}": "ecs",
    "${aws_security_group.db.id}": "db",
}


def _rules(kind: str, env: str) -> dict[str, list[tuple]]:
    """Rules of one direction per group: (from_port, to_port, source) with ports resolved."""
    by_group: dict[str, list[tuple]] = {"alb": [], "ecs": [], "db": []}
    for name, rule in NET.resources.get(f"aws_vpc_security_group_{kind}_rule", {}).items():
        group = SG_REF[attr(rule, "security_group_id")]
        assert attr(rule, "ip_protocol") == "tcp", f"{name}: not TCP"
        ports = (value_in("network", attr(rule, "from_port"), env), value_in("network", attr(rule, "to_port"), env))
        if "referenced_security_group_id" in rule:
            assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
            source = "sg:" + SG_REF[attr(rule, "referenced_security_group_id")]
        elif "for_each" in rule:
            source = "each:" + attr(rule, "for_each")
        else:
            assert "cidr_ipv6" not in rule, f"{name}: unexpected IPv6 range"
            source = attr(rule, "cidr_ipv4")
        by_group[group].append((*ports, source))
    return {g: sorted(r, key=str) for g, r in by_group.items()}


def test_security_groups_have_no_inline_rules():
    for name, sg in NET.resources["aws_security_group"].items():
        assert "ingress" not in sg and "egress" not in sg, f"{name}: inline rules bypass the chain"
    assert set(NET.resources["aws_security_group"]) == {"alb", "ecs", "db"}


@pytest.mark.parametrize("env", ENVS)
def test_ingress_chain_is_exact(env):
    ingress = _rules("ingress", env)
    test_port = effective("network", "test_listener_port", env)
    assert ingress["alb"] == sorted(
        [(80, 80, "0.0.0.0/0"), (443, 443, "0.0.0.0/0"), (test_port, test_port, "each:${toset(var.test_listener_cidr_blocks)}")], key=str
    )
    assert ingress["ecs"] == [(8000, 8000, "sg:alb")]
    assert ingress["db"] == [(5432, 5432, "sg:ecs")]


@pytest.mark.parametrize("env", ENVS)
def test_egress_chain_is_exact(env):
    egress = _rules("egress", env)
    assert egress["alb"] == [(8000, 8000, "sg:ecs")]
    # 5432 to the database; 443 to AWS APIs (ECR, Secrets Manager, logs, X-Ray) via NAT.
    assert egress["ecs"] == sorted([(5432, 5432, "sg:db"), (443, 443, "0.0.0.0/0")], key=str)
    assert egress["db"] == [], "the database has no egress"


@pytest.mark.parametrize("env", ENVS)
def test_test_listener_is_closed_by_default_and_never_public(env):
    assert effective("network", "test_listener_cidr_blocks", env) == []
    (validation,) = blocks(NET.variables["test_listener_cidr_blocks"], "validation")
    assert 'c != "0.0.0.0/0"' in attr(validation, "condition")


def test_groups_are_attached_where_the_chain_says():
    """The wiring checkov cannot follow across modules (hence its CKV2_AWS_5 skips)."""
    assert attr(ROOT.modules["alb"], "security_group_id") == "${module.network.alb_security_group_id}"
    assert attr(ROOT.modules["ecs"], "security_group_id") == "${module.network.ecs_security_group_id}"
    assert attr(ROOT.modules["database"], "security_group_id") == "${module.network.db_security_group_id}"
    assert attr(ROOT.modules["pipeline"], "ecs_security_group_id") == "${module.network.ecs_security_group_id}"
    assert NET.outputs["alb_security_group_id"]["value"] == ["${aws_security_group.alb.id}"]
    assert NET.outputs["ecs_security_group_id"]["value"] == ["${aws_security_group.ecs.id}"]
    assert NET.outputs["db_security_group_id"]["value"] == ["${aws_security_group.db.id}"]
    lb = MODULES["alb"].resource("aws_lb", "this")
    assert attr(lb, "security_groups") == ["${var.security_group_id}"]
    service = MODULES["ecs"].resource("aws_ecs_service", "app")
    (net,) = blocks(service, "network_configuration")
    assert attr(net, "security_groups") == ["${var.security_group_id}"]
    assert attr(net, "assign_public_ip") is False
    for name in ("primary", "replica"):
        db = MODULES["database"].resource("aws_db_instance", name)
        assert attr(db, "vpc_security_group_ids") == ["${var.security_group_id}"]
