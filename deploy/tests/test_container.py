"""The container image rules, read from the Dockerfile and .dockerignore (no Docker engine here).

hadolint and checkov (deploy/container/check) lint the Dockerfile; these tests hold it to this
project's own contract: the distroless runtime, the non-root user, the liveness HEALTHCHECK, the
entrypoint, and the one release build command that CI reuses to build and start the binary.
"""

from __future__ import annotations

import fnmatch
import json
import pathlib
import re
import shlex
import tomllib

import pytest
from dockerfile_parse import DockerfileParser

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET = "x86_64-unknown-linux-gnu"
RUNTIME_IMAGE = "gcr.io/distroless/cc-debian12:nonroot"
BINARY = "/usr/local/bin/todo-api"


@pytest.fixture(scope="module")
def instructions() -> list[dict]:
    return DockerfileParser(str(REPO / "Dockerfile")).structure


def stages(instructions: list[dict]) -> list[list[dict]]:
    """The instructions grouped by build stage (each list starts with its FROM)."""
    out: list[list[dict]] = []
    for ins in instructions:
        if ins["instruction"] == "FROM":
            out.append([])
        if out and ins["instruction"] != "COMMENT":
            out[-1].append(ins)
    return out


def stage_names(instructions: list[dict]) -> set[str]:
    names = set()
    for stage in stages(instructions):
        words = stage[0]["value"].split()
        if len(words) == 3 and words[1].upper() == "AS":
            names.add(words[2])
    return names


def of(stage: list[dict], kind: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == kind]


def release_build_command() -> str:
    text = (REPO / "Dockerfile").read_text()
    lines = re.findall(r"^# release-build: (.+)$", text, flags=re.M)
    assert len(lines) == 1, "exactly one `# release-build:` line documents the build command"
    return lines[0].strip()


def test_external_base_images_are_pinned_by_tag(instructions):
    internal = stage_names(instructions)
    for stage in stages(instructions):
        image = stage[0]["value"].split()[0]
        if image in internal:
            continue
        name, _, tag = image.rpartition(":")
        assert name and "/" not in tag, f"{image}: base image without a tag"
        assert tag != "latest", f"{image}: 'latest' is not a pin"


def test_builder_is_the_rust_toolchain_of_cargo_toml_on_bookworm(instructions):
    rust_version = tomllib.loads((REPO / "Cargo.toml").read_text())["package"]["rust-version"]
    first = stages(instructions)[0][0]["value"].split()[0]
    assert first == f"rust:{rust_version}-bookworm", "builder must match rust-version and Debian 12"


def test_runtime_is_distroless_cc_nonroot(instructions):
    final = stages(instructions)[-1]
    assert final[0]["value"].split()[0] == RUNTIME_IMAGE


def test_runtime_runs_as_the_nonroot_user(instructions):
    users = of(stages(instructions)[-1], "USER")
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user in {"65532", "nonroot"}, f"final USER {users[-1]} is not distroless nonroot"


def test_runtime_copies_only_the_binary_and_the_ca_folder(instructions):
    copies = of(stages(instructions)[-1], "COPY")
    assert len(copies) == 2
    assert "--from=builder" in copies[0] and copies[0].endswith(BINARY)
    # The database CA bundles (sslrootcert=/etc/todo-api/ca/...): a folder that always exists, so
    # a local build without the RDS bundle still works.
    assert copies[1].split()[-2:] == ["deploy/container/ca/", "/etc/todo-api/ca/"]
    assert (REPO / "deploy/container/ca/README.md").is_file()


def test_rds_bundle_pin_and_the_fetch_that_refuses_a_mismatch(tmp_path):
    import subprocess

    pin = (REPO / "deploy/container/ca/rds-global-bundle.pem.sha256").read_text()
    assert re.fullmatch(r"[0-9a-f]{64}  rds-global-bundle\.pem\n", pin)
    script = REPO / "deploy/aws/pipeline/fetch-rds-ca.sh"
    fake = tmp_path / "bundle.pem"
    fake.write_text("-----BEGIN CERTIFICATE-----\nnot the RDS bundle\n-----END CERTIFICATE-----\n")
    result = subprocess.run(["bash", str(script)], env={"PATH": "/usr/bin:/bin", "RDS_CA_BUNDLE_URL": fake.as_uri()},
                            capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "does not match the pinned SHA-256" in result.stderr
    assert not (REPO / "deploy/container/ca/rds-global-bundle.pem").exists(), "a refused bundle is removed"
    buildspec = (REPO / "deploy/aws/pipeline/buildspec.yml").read_text()
    assert buildspec.index("fetch-rds-ca.sh") < buildspec.index("docker build"), "checked before the image is built"


def test_entrypoint_cmd_and_port(instructions):
    final = stages(instructions)[-1]
    assert json.loads(of(final, "ENTRYPOINT")[-1]) == [BINARY]
    assert json.loads(of(final, "CMD")[-1]) == ["serve"]
    assert of(final, "EXPOSE") == ["8000"], "only the API port; metrics (9000) stay unexposed"
    env = " ".join(of(final, "ENV"))
    assert "PORT=8000" in env.split() and "LOG_FORMAT=json" in env.split()


def test_healthcheck_is_liveness_with_timings(instructions):
    checks = of(stages(instructions)[-1], "HEALTHCHECK")
    assert len(checks) == 1
    options, _, command = checks[0].partition("CMD")
    assert json.loads(command.strip()) == [BINARY, "healthcheck"], "liveness (/livez), no --ready"
    for option in ("--interval=", "--timeout=", "--retries=", "--start-period="):
        assert option in options, f"HEALTHCHECK sets {option}"


def test_release_build_is_the_documented_command(instructions):
    documented = shlex.split(release_build_command())
    assert documented[:2] == ["cargo", "build"]
    for flag in ("--release", "--locked", f"--target={TARGET}", "--bin=todo-api"):
        name, _, value = flag.partition("=")
        assert name in documented and (not value or documented[documented.index(name) + 1] == value)
    runs = [shlex.split(v.split("&&")[0]) for v in of(stages(instructions)[-2], "RUN")]
    assert documented in runs, "the builder's RUN is the documented release-build command"


def test_dependency_layer_is_cooked_with_the_same_flags(instructions):
    builder = of(stages(instructions)[-2], "RUN")
    cook = [shlex.split(v) for v in builder if v.startswith("cargo chef cook")]
    assert len(cook) == 1
    flags = cook[0][3:]
    recipe = flags.index("--recipe-path")
    del flags[recipe : recipe + 2]
    assert flags == shlex.split(release_build_command())[2:]


def test_cargo_chef_is_pinned(instructions):
    installs = [v for v in of(stages(instructions)[0], "RUN") if "cargo install" in v]
    assert installs and re.search(r"cargo-chef@\d+\.\d+\.\d+ --locked", installs[0])


def test_no_build_flag_overrides(instructions):
    """The release profile belongs to Cargo.toml; RUSTFLAGS would make CI's binary differ."""
    for ins in instructions:
        if ins["instruction"] in {"ENV", "ARG"}:
            assert "RUSTFLAGS" not in ins["value"]
            assert "CARGO_PROFILE_RELEASE" not in ins["value"]


# --- .dockerignore -------------------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern:
    parts = []
    for piece in re.split(r"(\*\*/?)", pattern):
        if piece.startswith("**"):
            parts.append("(?:.*/)?" if piece.endswith("/") else ".*")
        else:
            parts.append(fnmatch.translate(piece)[4:-3].replace(".*", "[^/]*"))
    return re.compile("".join(parts) + r"\Z")


def excluded(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern also matches a path's parents."""
    result = False
    segments = path.split("/")
    prefixes = ["/".join(segments[: i + 1]) for i in range(len(segments))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern.lstrip("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            result = not negate
    return result


@pytest.mark.parametrize(
    "path",
    ["Cargo.toml", "Cargo.lock", "src/main.rs", "src/http/mod.rs", "migrations/postgres/x.sql"],
)
def test_build_inputs_are_in_the_context(path):
    assert not excluded(path, dockerignore_patterns())


@pytest.mark.parametrize(
    "path",
    [
        "target/release/todo-api",
        ".git/config",
        ".venv-deploy/bin/checkov",
        "deploy/aws/main.tf",
        "docs/container.md",
        "todo.db",
        "src/todo.db",
        "sql_app.db",
        ".env",
        "tests/api/main.rs",
    ],
)
def test_everything_else_stays_out_of_the_context(path):
    assert excluded(path, dockerignore_patterns())


def test_every_copied_source_exists_and_is_sent(instructions):
    for stage in stages(instructions):
        for value in of(stage, "COPY"):
            words = value.split()
            if any(w.startswith("--from=") for w in words):
                continue
            for source in [w for w in words if not w.startswith("--")][:-1]:
                assert (REPO / source).exists(), f"COPY {source}: no such path"
                assert not excluded(source, dockerignore_patterns()), f"COPY {source}: ignored"


def test_cargo_target_paths_are_sent():
    """Every target Cargo.toml declares must reach the build context: cargo reads the whole
    manifest even for `--bin todo-api`, and a declared target whose file is missing fails it."""
    manifest = tomllib.loads((REPO / "Cargo.toml").read_text())
    paths = [manifest.get("lib", {}).get("path", "src/lib.rs")]
    paths += [b.get("path", "src/main.rs") for b in manifest.get("bin", [])]
    for kind, folder in (("test", "tests"), ("bench", "benches"), ("example", "examples")):
        paths += [t.get("path", f"{folder}/{t['name']}.rs") for t in manifest.get(kind, [])]
    build = manifest["package"].get("build")
    if isinstance(build, str):
        paths.append(build)
    elif (REPO / "build.rs").exists() and build is not False:
        paths.append("build.rs")
    for path in paths:
        assert not excluded(path, dockerignore_patterns()), f"{path} is not in the build context"
