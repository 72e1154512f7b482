"""CI/CD: ECR (scan on push, immutable tags), CodeBuild buildspec (tests, build, push, blue/green
artifacts), the migrate step before CodeDeploy, the appspec matching the task definition, and the
CodeDeploy deployment group (two target groups, test listener, rollback on alarms)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, attr, blocks
from test_aws_common import AWS, ENVS, MODULES, effective

PIPE = MODULES["pipeline"]
ECS = MODULES["ecs"]
SPECS = AWS / "pipeline"
BUILDSPEC = yaml.safe_load((SPECS / "buildspec.yml").read_text())
MIGRATE_SPEC = yaml.safe_load((SPECS / "buildspec-migrate.yml").read_text())
APPSPEC = yaml.safe_load((SPECS / "appspec.yaml").read_text())


def _commands(spec: dict) -> str:
    return "\n".join(c for phase in spec["phases"].values() for c in phase.get("commands", []))


def test_ecr_scans_on_push_with_immutable_tags():
    ecr = MODULES["ecr"]
    repo = ecr.resource("aws_ecr_repository", "this")
    assert attr(repo, "image_tag_mutability") == "IMMUTABLE"
    (scan,) = blocks(repo, "image_scanning_configuration")
    assert attr(scan, "scan_on_push") is True
    (enc,) = blocks(repo, "encryption_configuration")
    assert attr(enc, "encryption_type") == "KMS"
    policy = attr(ecr.resource("aws_ecr_lifecycle_policy", "this"), "policy")
    assert "'tagStatus': 'untagged'" in policy and "imageCountMoreThan" in policy
    assert ecr.default("keep_tagged_images") >= 5


def test_buildspec_version_and_artifacts():
    assert str(BUILDSPEC["version"]) == "0.2"
    assert sorted(BUILDSPEC["artifacts"]["files"]) == ["appspec.yaml", "imageDetail.json", "taskdef.json"]
    for phase in ("pre_build", "build", "post_build"):
        assert BUILDSPEC["phases"][phase].get("on-failure") == "ABORT", f"{phase} must stop the build on failure"


def test_buildspec_tests_builds_pushes_and_writes_the_deploy_files():
    commands = _commands(BUILDSPEC)
    assert "cargo test --locked" in commands
    assert "docker build" in commands and "docker push" in commands
    assert commands.index("cargo test") < commands.index("docker build") < commands.index("docker push")
    assert "> imageDetail.json" in commands and '"ImageURI"' in commands
    assert "taskdef.jq" in commands and "> taskdef.json" in commands
    assert "cp deploy/aws/pipeline/appspec.yaml appspec.yaml" in commands


def test_codebuild_projects_point_at_the_spec_files():
    for project, spec in (("build", "buildspec.yml"), ("migrate", "buildspec-migrate.yml")):
        (source,) = blocks(PIPE.resource("aws_codebuild_project", project), "source")
        path = attr(source, "buildspec")
        assert path == f"deploy/aws/pipeline/{spec}"
        assert (REPO / path).is_file()


def test_appspec_matches_the_task_definition():
    assert str(APPSPEC["version"]) == "0.0"
    (resource,) = APPSPEC["Resources"]
    props = resource["TargetService"]["Properties"]
    assert resource["TargetService"]["Type"] == "AWS::ECS::Service"
    assert props["TaskDefinition"] == "<TASK_DEFINITION>"
    info = props["LoadBalancerInfo"]
    assert info["ContainerPort"] == 8000
    assert info["ContainerPort"] == ECS.locals["app_container"]["portMappings"][0]["containerPort"]
    assert info["ContainerName"] == ECS.default("container_name")
    assert ECS.locals["app_container"]["name"] == "${var.container_name}"


def test_stages_migrate_before_deploy():
    text = (AWS / "modules" / "pipeline" / "codepipeline.tf").read_text()
    order = [text.index(s) for s in ('name = "Source"', 'name = "Build"', 'name = "Approve"', 'name = "Migrate"', 'name = "Deploy"')]
    assert order == sorted(order)
    pipeline = PIPE.resource("aws_codepipeline", "this")
    stages = {attr(s, "name"): blocks(s, "action")[0] for s in blocks(pipeline, "stage")}
    assert list(stages) == ["Source", "Build", "Migrate", "Deploy"]
    assert attr(stages["Source"], "provider") == "CodeStarSourceConnection"
    assert attr(stages["Migrate"], "input_artifacts") == ["SourceOutput", "BuildOutput"]
    deploy = stages["Deploy"]
    assert attr(deploy, "provider") == "CodeDeployToECS"
    config = attr(deploy, "configuration")
    assert config["TaskDefinitionTemplatePath"] == "taskdef.json"
    assert config["AppSpecTemplatePath"] == "appspec.yaml"
    assert config["Image1ContainerName"] == "IMAGE1_NAME"


def test_migrate_step_waits_for_exit_code_zero():
    assert "migrate.sh" in _commands(MIGRATE_SPEC)
    script = (SPECS / "migrate.sh").read_text()
    assert "aws ecs run-task" in script and "aws ecs wait tasks-stopped" in script
    assert script.rstrip().endswith("[[ $status == STOPPED && $code == 0 ]]")


def test_deployment_group_is_blue_green_with_alarm_rollback():
    group = PIPE.resource("aws_codedeploy_deployment_group", "this")
    (style,) = blocks(group, "deployment_style")
    assert (attr(style, "deployment_type"), attr(style, "deployment_option")) == ("BLUE_GREEN", "WITH_TRAFFIC_CONTROL")
    (rollback,) = blocks(group, "auto_rollback_configuration")
    assert attr(rollback, "enabled") is True
    assert set(attr(rollback, "events")) == {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"}
    (alarms,) = blocks(group, "alarm_configuration")
    assert attr(alarms, "enabled") is True and attr(alarms, "alarms") == "${var.deployment_alarm_names}"
    (lb,) = blocks(group, "load_balancer_info")
    (pair,) = blocks(lb, "target_group_pair_info")
    assert [attr(t, "name") for t in blocks(pair, "target_group")] == ['${var.target_group_names["blue"]}', '${var.target_group_names["green"]}']
    assert attr(blocks(pair, "test_traffic_route")[0], "listener_arns") == ["${var.test_listener_arn}"]
    assert attr(blocks(pair, "prod_traffic_route")[0], "listener_arns") == ["${var.https_listener_arn}"]


@pytest.mark.parametrize(
    ("env", "config", "approval"),
    [("dev", "CodeDeployDefault.ECSAllAtOnce", False), ("prod", "CodeDeployDefault.ECSCanary10Percent5Minutes", True)],
)
def test_traffic_shifting_per_environment(env, config, approval):
    assert effective("pipeline", "deployment_config_name", env) == config
    assert effective("pipeline", "require_approval", env) is approval
    assert effective("pipeline", "termination_wait_minutes", env) >= 5


def test_artifacts_are_encrypted():
    pipeline = PIPE.resource("aws_codepipeline", "this")
    (store,) = blocks(pipeline, "artifact_store")
    (key,) = blocks(store, "encryption_key")
    assert (attr(key, "type"), attr(key, "id")) == ("KMS", "${var.data_kms_key_arn}")
    for project in ("build", "migrate"):
        assert attr(PIPE.resource("aws_codebuild_project", project), "encryption_key") == "${var.data_kms_key_arn}"


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq not installed")
def test_taskdef_filter_swaps_only_the_app_image():
    described = {
        "taskDefinitionArn": "arn:aws:ecs:ap-northeast-1:1:task-definition/todo-api-prod:3",
        "revision": 3,
        "status": "ACTIVE",
        "requiresAttributes": [],
        "compatibilities": ["FARGATE"],
        "registeredAt": "2025-01-01T00:00:00Z",
        "registeredBy": "arn",
        "family": "todo-api-prod",
        "cpu": "512",
        "containerDefinitions": [{"name": "todo-api", "image": "repo:bootstrap"}, {"name": "aws-otel-collector", "image": "adot"}],
    }

    def run(*args: str) -> dict:
        out = subprocess.run(
            ["jq", "--arg", "name", "todo-api", *args, "-f", str(SPECS / "taskdef.jq")],
            input=json.dumps(described),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(out.stdout)

    placeholder = run()
    assert set(placeholder) == {"family", "cpu", "containerDefinitions"}
    assert [c["image"] for c in placeholder["containerDefinitions"]] == ["<IMAGE1_NAME>", "adot"]
    pinned = run("--arg", "image", "repo:git-abc")
    assert [c["image"] for c in pinned["containerDefinitions"]] == ["repo:git-abc", "adot"]


@pytest.mark.parametrize("env", ENVS)
def test_pipeline_builds_the_configured_branch(env):
    assert effective("pipeline", "branch", env) == "main"
