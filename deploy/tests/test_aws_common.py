"""Shared helpers for the AWS tests, and the root configuration's own checks.

Terraform cannot be initialised here (no provider registry), so besides the deployment requirements' numbers these
tests do part of what `terraform validate` would: every module input exists, every required input
is passed, every `var.`, `local.` and `module.x.y` reference resolves.

`effective(module, variable, env)` answers "what value does this module variable get in that
environment": the literal or `var.x` the root passes (resolved through dev.tfvars / prod.tfvars and
the root's defaults), else the module variable's default.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest

from conftest import DEPLOY, attr, load_module, load_tfvars

AWS = DEPLOY / "aws"
ENVS = ("dev", "prod")
MODULE_NAMES = ("kms", "network", "alb", "waf", "ecr", "database", "ecs", "observability", "pipeline")

ROOT = load_module("aws")
MODULES = {name: load_module(f"aws/modules/{name}") for name in MODULE_NAMES}
TFVARS = {env: load_tfvars(f"aws/{env}.tfvars") for env in ENVS}

_VAR_ONLY = re.compile(r"^\$\{var\.(\w+)\}$")
_NOT_VAR = re.compile(r"^\$\{!var\.(\w+)\}$")
_MISSING = object()


def root_value(name: str, env: str) -> Any:
    """A root variable's value in an environment: the tfvars value, else the root default."""
    if name in TFVARS[env]:
        return TFVARS[env][name]
    assert name in ROOT.variables, f"root has no variable {name}"
    assert "default" in ROOT.variables[name], f"root variable {name} has no default and {env}.tfvars does not set it"
    return ROOT.default(name)


def resolve_root_expr(value: Any, env: str) -> Any:
    """Resolves `${var.x}` and `${!var.x}` written in the root; other values are returned as is."""
    if isinstance(value, str):
        if m := _VAR_ONLY.match(value):
            return root_value(m.group(1), env)
        if m := _NOT_VAR.match(value):
            return not root_value(m.group(1), env)
    return value


def effective(module: str, variable: str, env: str) -> Any:
    """The value a module variable gets in an environment (root argument, else default)."""
    mod = MODULES[module]
    assert variable in mod.variables, f"module {module} has no variable {variable}"
    call = ROOT.modules[module]
    if variable in call:
        return resolve_root_expr(attr(call, variable), env)
    assert "default" in mod.variables[variable], f"{module}.{variable} is required but the root does not pass it"
    return mod.default(variable)


def var_ref(value: Any) -> str | None:
    """The variable name when a value is exactly `${var.name}`."""
    if isinstance(value, str) and (m := _VAR_ONLY.match(value)):
        return m.group(1)
    return None


def value_in(module: str, value: Any, env: str) -> Any:
    """A module attribute's value in an environment when it is a literal or exactly `var.x`."""
    name = var_ref(value)
    return effective(module, name, env) if name else value


def tf_text(directory: pathlib.Path) -> str:
    return "\n".join(p.read_text() for p in sorted(directory.glob("*.tf")))


def strip_comments(text: str) -> str:
    """Drops `#` and `//` comments (outside strings, good enough for our code)."""
    out = []
    for line in text.splitlines():
        in_str = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            elif not in_str and (ch == "#" or line.startswith("//", i)):
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


# --- the root ----------------------------------------------------------------------------


def test_region_is_tokyo():
    assert ROOT.default("aws_region") == "ap-northeast-1"
    for env in ENVS:
        assert root_value("aws_region", env) == "ap-northeast-1"


def test_tfvars_name_their_environment_and_only_known_variables():
    for env in ENVS:
        assert TFVARS[env]["environment"] == env
        unknown = set(TFVARS[env]) - set(ROOT.variables)
        assert not unknown, f"{env}.tfvars sets undeclared variables {unknown}"
        required = {n for n, v in ROOT.variables.items() if "default" not in v}
        missing = required - set(TFVARS[env])
        assert not missing, f"{env}.tfvars misses required variables {missing}"


def test_every_variable_has_a_type_and_a_description():
    for label, mod in [("root", ROOT), *MODULES.items()]:
        for name, body in mod.variables.items():
            assert attr(body, "description", "").strip(), f"{label}: variable {name} has no description"
            assert "type" in body, f"{label}: variable {name} has no type"


def test_every_output_has_a_description():
    for label, mod in [("root", ROOT), *MODULES.items()]:
        for name, body in mod.outputs.items():
            assert attr(body, "description", "").strip(), f"{label}: output {name} has no description"


def test_versions_are_pinned_in_the_root_and_every_module():
    for directory in [AWS, *(AWS / "modules" / n for n in MODULE_NAMES)]:
        text = tf_text(directory)
        assert re.search(r'required_version\s*=\s*">=\s*1\.11', text), f"{directory}: required_version"
        assert re.search(r'source\s*=\s*"hashicorp/aws"\s*\n\s*version\s*=\s*">= 6\.0, < 7\.0"', text), f"{directory}: aws provider constraint"


def test_required_outputs_exist():
    for name in ("alb_dns_name", "ecr_repository_url", "db_endpoint", "log_group_name"):
        assert name in ROOT.outputs, f"root output {name} missing"
    assert ROOT.outputs["log_group_name"]["value"] == ["${module.ecs.log_group_name}"]


def test_module_calls_match_module_interfaces():
    assert set(ROOT.modules) == set(MODULE_NAMES)
    meta = {"source", "depends_on", "count", "for_each", "providers"}
    for name, call in ROOT.modules.items():
        assert attr(call, "source") == f"./modules/{name}"
        mod = MODULES[name]
        args = {k for k in call if not k.startswith("__")} - meta
        unknown = args - set(mod.variables)
        assert not unknown, f"module {name}: unknown inputs {unknown}"
        required = {v for v, body in mod.variables.items() if "default" not in body}
        assert required <= args, f"module {name}: required inputs not passed: {required - args}"


def test_references_resolve():
    """`var.x`, `local.x` and `module.m.o` must name something declared (what validate would do)."""
    for label, mod, directory in [("root", ROOT, AWS), *((n, MODULES[n], AWS / "modules" / n) for n in MODULE_NAMES)]:
        text = strip_comments(tf_text(directory))
        for name in set(re.findall(r"\bvar\.(\w+)", text)):
            assert name in mod.variables, f"{label}: var.{name} is not declared"
        for name in set(re.findall(r"\blocal\.(\w+)", text)):
            assert name in mod.locals, f"{label}: local.{name} is not declared"
        for m_name, output in set(re.findall(r"\bmodule\.(\w+)\.(\w+)", text)):
            assert m_name in MODULES, f"{label}: module.{m_name} does not exist"
            assert output in MODULES[m_name].outputs, f"{label}: module.{m_name}.{output} is not an output"
        for prefix, rtype, rname in set(re.findall(r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([a-z0-9_]+)\b", text)):
            declared = mod.data if prefix else mod.resources
            kind = "data source" if prefix else "resource"
            assert rname in declared.get(rtype, {}), f"{label}: {kind} {rtype}.{rname} is referenced but not declared"


def test_checkov_skips_carry_a_reason():
    pattern = re.compile(r"#checkov:skip=([A-Z0-9_]+)(:(.*))?")
    found = 0
    for path in sorted(AWS.rglob("*.tf")):
        for line in path.read_text().splitlines():
            if "checkov:skip" not in line:
                continue
            m = pattern.search(line)
            assert m, f"{path}: malformed skip: {line.strip()}"
            found += 1
            reason = (m.group(3) or "").strip()
            assert len(reason) >= 40, f"{path}: skip {m.group(1)} needs a written reason, got {reason!r}"
    assert found > 0


def test_no_registry_modules():
    for path in sorted(AWS.rglob("*.tf")):
        for source in re.findall(r'^\s*source\s*=\s*"([^"]+)"', path.read_text(), re.M):
            if source.startswith("hashicorp/"):
                continue  # provider sources
            assert source.startswith("./"), f"{path}: module source {source} is not local"


def test_prod_is_the_protected_environment():
    assert root_value("deletion_protection", "prod") is True
    assert root_value("deletion_protection", "dev") is False
    assert root_value("require_approval", "prod") is True


@pytest.mark.parametrize("env", ENVS)
def test_log_retention_is_at_least_a_year(env):
    assert root_value("log_retention_days", env) >= 365
    for module in ("network", "waf", "database", "ecs", "pipeline"):
        assert effective(module, "log_retention_days", env) >= 365


def test_effective_helper_sees_overrides():
    """The helper itself: a root argument wins over the module default."""
    assert effective("network", "nat_gateway_count", "prod") == 2
    assert effective("network", "nat_gateway_count", "dev") == 1
    assert effective("alb", "deletion_protection", "prod") is True
    assert effective("ecr", "force_delete", "prod") is False  # `!var.deletion_protection`
    with pytest.raises(AssertionError):
        effective("network", "no_such_variable", "dev")
