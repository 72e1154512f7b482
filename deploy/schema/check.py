#!/usr/bin/env python3
"""Offline provider-schema check of the Terraform: the part of `terraform validate` that needs
the providers' schemas, which cannot be downloaded here.

    deploy/schema/check.py [DIR_OR_FILE ...]      (default: deploy)

Every `resource`, `data` and `ephemeral` block of every .tf file must be a type the provider
has (deploy/schema/providers.json, extracted from the cdktf packages by extract.py), use only
its arguments and nested blocks (recursively, through `dynamic` blocks too), and set every
required argument and block. Meta-arguments (count, for_each, depends_on, provider, lifecycle,
provisioner, connection) are understood; a block's `provider = google-beta` selects that
provider's schema. Exits 1 and lists every problem as file:line: message.

Not checked (no schema information offline or not a schema question): argument values and
types, enum values, ConflictsWith/ExactlyOneOf rules, references, module inputs (the pytest in
deploy/tests check those).
"""

from __future__ import annotations

import json
import pathlib
import sys

import hcl2

HERE = pathlib.Path(__file__).resolve().parent
SCHEMAS = HERE / "providers.json"

RESOURCE_META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}
LIFECYCLE = {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by",
             "precondition", "postcondition"}  # fmt: skip
DYNAMIC = {"for_each", "iterator", "labels", "content"}


class Checker:
    def __init__(self, schemas: dict):
        self.providers = schemas["providers"]
        self.errors: list[str] = []

    def error(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def check_file(self, path: pathlib.Path) -> None:
        try:
            doc = hcl2.loads(path.read_text())
        except Exception as exc:  # noqa: BLE001 - a parse error is a finding like any other
            self.error(str(path), f"cannot parse: {exc}")
            return
        for kind in ("resource", "data", "ephemeral"):
            for group in doc.get(kind, []):
                for rtype, named in group.items():
                    for name, body in named.items():
                        self.check_block(path, kind, rtype, name, body)

    def check_block(self, path: pathlib.Path, kind: str, rtype: str, name: str, body: dict) -> None:
        where = f"{path}:{body.get('__start_line__', '?')}"
        label = f'{kind} "{rtype}" "{name}"'
        provider = provider_of(rtype, body)
        schemas = self.providers.get(provider)
        if schemas is None:
            self.error(where, f"{label}: provider {provider!r} has no extracted schema (deploy/schema/extract.py)")
            return
        schema = schemas[kind].get(rtype)
        if schema is None:
            self.error(where, f"{label}: {schemas['package']} has no {kind} type {rtype!r}")
            return
        self.check_body(where, label, body, schema, top=True)

    def check_body(self, where: str, label: str, body: dict, schema: dict, top: bool = False) -> None:
        if schema.get("open"):
            return
        attributes, blocks = schema["attributes"], schema["blocks"]
        seen_blocks: set[str] = set()
        for key, value in body.items():
            if key.startswith("__"):
                continue
            if top and key in RESOURCE_META:
                if key == "lifecycle":
                    for item in value:
                        for unknown in sorted(set(item) - LIFECYCLE - {"__start_line__", "__end_line__"}):
                            self.error(where, f"{label}: lifecycle has no argument {unknown!r}")
                continue
            if key == "dynamic":
                for group in value:
                    for block_name, spec in group.items():
                        self.check_dynamic(where, label, block_name, spec, blocks)
                        seen_blocks.add(block_name)
                continue
            if key in attributes:
                continue
            if key in blocks:
                seen_blocks.add(key)
                for item in value:
                    if isinstance(item, dict):
                        self.check_body(item_where(where, item), f"{label} > {key}", item, blocks[key])
                continue
            self.error(where, f"{label}: unknown argument or block {key!r}{suggest(key, attributes, blocks)}")
        for key, required in sorted(attributes.items()):
            if required and key not in body:
                self.error(where, f"{label}: missing required argument {key!r}")
        for key, spec in sorted(blocks.items()):
            if spec.get("required") and key not in seen_blocks:
                self.error(where, f"{label}: missing required block {key!r}")

    def check_dynamic(self, where: str, label: str, name: str, spec: dict, blocks: dict) -> None:
        if name not in blocks:
            self.error(where, f'{label}: dynamic "{name}": no such block{suggest(name, {}, blocks)}')
            return
        for unknown in sorted(set(spec) - DYNAMIC - {"__start_line__", "__end_line__"}):
            self.error(where, f'{label}: dynamic "{name}" has no argument {unknown!r}')
        if "for_each" not in spec:
            self.error(where, f'{label}: dynamic "{name}" needs for_each')
        for content in spec.get("content", []):
            self.check_body(item_where(where, content), f'{label} > dynamic "{name}"', content, blocks[name])
        if not spec.get("content"):
            self.error(where, f'{label}: dynamic "{name}" needs a content block')


def provider_of(rtype: str, body: dict) -> str:
    if "provider" in body:
        value = body["provider"][0] if isinstance(body["provider"], list) else body["provider"]
        return str(value).strip("${}").split(".")[0]
    return rtype.split("_", 1)[0]


def item_where(where: str, item: dict) -> str:
    line = item.get("__start_line__")
    return f"{where.rsplit(':', 1)[0]}:{line}" if line else where


def suggest(key: str, attributes: dict, blocks: dict) -> str:
    import difflib

    close = difflib.get_close_matches(key, [*attributes, *blocks], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def tf_files(targets: list[str]) -> list[pathlib.Path]:
    files: list[pathlib.Path] = []
    for target in targets:
        p = pathlib.Path(target)
        if p.is_dir():
            files += [f for f in sorted(p.rglob("*.tf")) if ".terraform" not in f.parts]
        else:
            files.append(p)
    return files


def main(argv: list[str]) -> int:
    checker = Checker(json.loads(SCHEMAS.read_text()))
    files = tf_files(argv or ["deploy"])
    for path in files:
        checker.check_file(path)
    for line in checker.errors:
        print(line)
    versions = ", ".join(f"{p} {v['provider_version']}" for p, v in checker.providers.items())
    if checker.errors:
        print(f"schema check: {len(checker.errors)} problem(s) in {len(files)} files ({versions})", file=sys.stderr)
        return 1
    print(f"schema check: {len(files)} files valid against {versions}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
