"""Shared helpers for the offline tests of the deployment code.

The HCL parser is `hcl2` from bc-python-hcl2 (pinned through checkov in deploy/requirements.txt).
Its output wraps every attribute value in a one-element list (`cidr_block = "x"` parses as
`{"cidr_block": ["x"]}`) and every block as a list of dicts; `attr` and `blocks` hide that.
"""

from __future__ import annotations

import pathlib
from typing import Any

import hcl2
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


class TfModule:
    """All `.tf` files of one directory, merged by block kind and name."""

    def __init__(self, directory: pathlib.Path):
        self.dir = directory
        self.resources: dict[str, dict[str, dict]] = {}
        self.data: dict[str, dict[str, dict]] = {}
        self.ephemeral: dict[str, dict[str, dict]] = {}
        self.variables: dict[str, dict] = {}
        self.outputs: dict[str, dict] = {}
        self.modules: dict[str, dict] = {}
        self.locals: dict[str, Any] = {}
        files = sorted(directory.glob("*.tf"))
        assert files, f"no .tf files in {directory}"
        for path in files:
            with path.open() as fh:
                doc = hcl2.load(fh)
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    self.resources.setdefault(rtype, {}).update(named)
            for block in doc.get("data", []):
                for dtype, named in block.items():
                    self.data.setdefault(dtype, {}).update(named)
            for block in doc.get("ephemeral", []):
                for etype, named in block.items():
                    self.ephemeral.setdefault(etype, {}).update(named)
            for block in doc.get("variable", []):
                self.variables.update(block)
            for block in doc.get("output", []):
                self.outputs.update(block)
            for block in doc.get("module", []):
                self.modules.update(block)
            for block in doc.get("locals", []):
                self.locals.update({k: attr(block, k) for k in block if not k.startswith("__")})

    def resource(self, rtype: str, name: str) -> dict:
        assert rtype in self.resources, f"{self.dir.name}: no {rtype} resources"
        assert name in self.resources[rtype], f"{self.dir.name}: no {rtype}.{name}"
        return self.resources[rtype][name]

    def default(self, variable: str) -> Any:
        assert variable in self.variables, f"{self.dir.name}: no variable {variable}"
        return attr(self.variables[variable], "default")


def load_module(path: str | pathlib.Path) -> TfModule:
    """Parse a Terraform directory given relative to deploy/ (or absolute)."""
    p = pathlib.Path(path)
    return TfModule(p if p.is_absolute() else DEPLOY / p)


def load_tfvars(path: str | pathlib.Path) -> dict[str, Any]:
    """A `.tfvars` file as a plain dict (values unwrapped)."""
    p = pathlib.Path(path)
    p = p if p.is_absolute() else DEPLOY / p
    with p.open() as fh:
        doc = hcl2.load(fh)
    return {k: v[0] for k, v in doc.items() if not k.startswith("__")}


def attr(body: dict, key: str, default: Any = None) -> Any:
    """The value of attribute `key` of a parsed block (unwrapped), or `default`."""
    if key not in body:
        return default
    value = body[key]
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def blocks(body: dict, key: str) -> list[dict]:
    """The nested blocks named `key` of a parsed block (dynamic blocks not expanded)."""
    return list(body.get(key, []))


@pytest.fixture(scope="session")
def repo() -> pathlib.Path:
    return REPO
