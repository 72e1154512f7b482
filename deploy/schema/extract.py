#!/usr/bin/env python3
"""Regenerates deploy/schema/providers.json: the part of the providers' schemas that the offline
schema check (deploy/schema/check.py) needs, for exactly the resource and data source types the
repository's Terraform uses.

`terraform validate` needs the provider binaries, which cannot be downloaded offline. The cdktf
provider packages on npm are generated from the providers' schemas, so they carry the same
information: their `.jsii` file lists every argument and nested block of every resource and data
source (snake_case name in each property's registry link, `optional` absent = required), and each
resource's generated `index.js` says which struct-typed arguments are blocks (`isBlock: true`).
The packages are about 1 GB unpacked: install them outside the repository, run this once, commit
the small JSON it writes.

    npm --prefix /tmp/cdktf install --ignore-scripts --legacy-peer-deps --no-audit --no-fund \\
      @cdktf/provider-aws@21.22.1 @cdktf/provider-google@16.12.1 \\
      @cdktf/provider-google-beta@16.12.1 @cdktf/provider-random@12.0.1
    .venv-deploy/bin/python deploy/schema/extract.py /tmp/cdktf/node_modules

Bump a package when a root's provider constraint needs a newer provider (the package.json's
`cdktf.provider.version` names the provider version it was generated from); the `@cdktn/provider-*`
fork has newer ones. Ephemeral resources are not in cdktf at all: EPHEMERAL below is written by
hand from the provider documentation.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

import hcl2

REPO = pathlib.Path(__file__).resolve().parents[2]
OUT = REPO / "deploy" / "schema" / "providers.json"

PACKAGES = {
    "aws": "provider-aws",
    "google": "provider-google",
    "google-beta": "provider-google-beta",
    "random": "provider-random",
}

# cdktf generates no ephemeral resources, so their schema is written here by hand, from the
# hashicorp/random 3.7 documentation of `ephemeral "random_password"` (the only ephemeral type
# the repository uses). Unlike the managed random_password it has no `keepers` and no `number`.
EPHEMERAL = {
    "random": {
        "random_password": {
            "attributes": {
                "length": True,
                "lower": False,
                "min_lower": False,
                "min_numeric": False,
                "min_special": False,
                "min_upper": False,
                "numeric": False,
                "override_special": False,
                "special": False,
                "upper": False,
            },
            "blocks": {},
        }
    }
}

LINK_NAME = re.compile(r"\{@link https://registry\.terraform\.io/\S+#([a-z0-9_]+) ")
LINK_TYPE = re.compile(r"\{@link \S+/docs/(resources|data-sources)/\S+ ([a-z0-9_]+)\}")
IS_BLOCK = re.compile(r"\n\s*([a-z0-9_]+): \{\s*\n\s*value: [^\n]*\n\s*isBlock: (true|false),")


def used_types() -> dict[str, dict[str, set[str]]]:
    """provider -> kind (resource/data) -> types the repository's .tf files declare."""
    found: dict[str, dict[str, set[str]]] = {p: {"resource": set(), "data": set()} for p in PACKAGES}
    for path in sorted((REPO / "deploy").rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        doc = hcl2.loads(path.read_text())
        for kind in ("resource", "data"):
            for group in doc.get(kind, []):
                for rtype, named in group.items():
                    for body in named.values():
                        found[provider_of(rtype, body)][kind].add(rtype)
    return found


def provider_of(rtype: str, body: dict) -> str:
    """The provider a block belongs to: its `provider` meta-argument, else the type's prefix."""
    if "provider" in body:
        value = body["provider"][0]
        return value.strip("${}").split(".")[0]
    return rtype.split("_", 1)[0]


class Package:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.meta = json.loads((root / "package.json").read_text())
        self.types = json.loads((root / ".jsii").read_text())["types"]
        self.by_tf: dict[tuple[str, str], str] = {}
        for fqn, t in self.types.items():
            if t.get("kind") != "class" or t.get("base") not in ("cdktf.TerraformResource", "cdktf.TerraformDataSource"):
                continue
            m = LINK_TYPE.search(t.get("docs", {}).get("summary", ""))
            if m:
                kind = "resource" if m.group(1) == "resources" else "data"
                self.by_tf[(kind, m.group(2))] = fqn
        self._blocks: dict[str, set[str]] = {}

    def block_names(self, fqn: str) -> set[str]:
        """Snake names that the submodule's generated JS renders as blocks."""
        filename = self.types[fqn]["locationInModule"]["filename"]  # src/<dir>/index.ts
        js = self.root / "lib" / pathlib.Path(filename).relative_to("src").with_suffix(".js")
        if js not in self._blocks:
            text = js.read_text()
            self._blocks[js] = {m.group(1) for m in IS_BLOCK.finditer(text) if m.group(2) == "true"}
        return self._blocks[js]

    def schema(self, kind: str, tf_type: str) -> dict:
        fqn = self.by_tf.get((kind, tf_type))
        if fqn is None:
            raise SystemExit(f"{self.meta['name']}: no {kind} {tf_type}")
        # The constructor's `config` parameter names the Config struct (usually <Class>Config,
        # <Class>ConfigA where that name is taken by a nested struct of another resource).
        params = self.types[fqn]["initializer"]["parameters"]
        config = next(p["type"]["fqn"] for p in params if p["name"] == "config")
        return self.struct(config, self.block_names(fqn), set())

    def struct(self, fqn: str, blocks: set[str], seen: set[str]) -> dict:
        out = {"attributes": {}, "blocks": {}}
        if fqn in seen:  # recursive types (none known): stop, accept anything below
            return {"attributes": {}, "blocks": {}, "open": True}
        t = self.types[fqn]
        for prop in t.get("properties", []):
            docs = prop.get("docs", {})
            texts = [docs.get("summary", ""), docs.get("remarks", ""), *docs.get("custom", {}).values()]
            m = LINK_NAME.search(" ".join(texts) + " ")
            # Every property links its registry anchor; should one not, snake_case its name.
            name = m.group(1) if m else re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()
            required = not prop.get("optional", False)
            nested = struct_fqn(prop["type"])
            if nested and nested in self.types and self.types[nested].get("datatype") and name in blocks:
                out["blocks"][name] = {"required": required, **self.struct(nested, blocks, seen | {fqn})}
            else:
                out["attributes"][name] = required
        return out


def struct_fqn(type_ref: dict) -> str | None:
    """The struct a property's type refers to: X, list of X, or IResolvable | X / list of X."""
    if "fqn" in type_ref:
        return type_ref["fqn"]
    if "collection" in type_ref:
        return struct_fqn(type_ref["collection"]["elementtype"])
    if "union" in type_ref:
        for member in type_ref["union"]["types"]:
            if member.get("fqn") == "cdktf.IResolvable":
                continue
            found = struct_fqn(member)
            if found:
                return found
    return None


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    modules = pathlib.Path(sys.argv[1]) / "@cdktf"
    used = used_types()
    result: dict = {
        "_comment": "Generated by deploy/schema/extract.py from the cdktf provider packages; do not edit by hand "
        "(except 'ephemeral', which cdktf does not generate: see EPHEMERAL in extract.py).",
        "providers": {},
    }
    for provider, package_dir in PACKAGES.items():
        wanted = used[provider]
        ephemeral = EPHEMERAL.get(provider, {})
        if not (wanted["resource"] or wanted["data"] or ephemeral):
            continue
        pkg = Package(modules / package_dir)
        result["providers"][provider] = {
            "package": f"{pkg.meta['name']}@{pkg.meta['version']}",
            "provider_version": pkg.meta["cdktf"]["provider"]["version"],
            "resource": {t: pkg.schema("resource", t) for t in sorted(wanted["resource"])},
            "data": {t: pkg.schema("data", t) for t in sorted(wanted["data"])},
            "ephemeral": ephemeral,
        }
    OUT.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    counts = {p: (len(v["resource"]), len(v["data"]), len(v["ephemeral"])) for p, v in result["providers"].items()}
    print(f"wrote {OUT.relative_to(REPO)}: (resources, data sources, ephemeral) per provider {counts}")


if __name__ == "__main__":
    main()
