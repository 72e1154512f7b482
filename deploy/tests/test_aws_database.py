"""RDS PostgreSQL 15: class per environment, Multi-AZ and a read replica in prod, 7-day backups,
KMS encryption, deletion protection and final snapshot in prod, SSL forced, managed credentials."""

from __future__ import annotations

import pytest

from conftest import attr
from test_aws_common import ENVS, MODULES, effective, value_in

DB = MODULES["database"]
PRIMARY = DB.resource("aws_db_instance", "primary")
REPLICA = DB.resource("aws_db_instance", "replica")


@pytest.mark.parametrize("env", ENVS)
def test_postgresql_15(env):
    assert attr(PRIMARY, "engine") == "postgres"
    assert value_in("database", attr(PRIMARY, "engine_version"), env) == "15"
    family = attr(DB.resource("aws_db_parameter_group", "this"), "family")
    assert family == "postgres15"


@pytest.mark.parametrize(("env", "instance_class", "multi_az", "replica"), [("dev", "db.t3.micro", False, False), ("prod", "db.r5.large", True, True)])
def test_class_multi_az_and_replica_per_environment(env, instance_class, multi_az, replica):
    assert value_in("database", attr(PRIMARY, "instance_class"), env) == instance_class
    assert value_in("database", attr(PRIMARY, "multi_az"), env) is multi_az
    assert effective("database", "read_replica", env) is replica
    assert attr(REPLICA, "count") == "${var.read_replica ? 1 : 0}"


@pytest.mark.parametrize("env", ENVS)
def test_seven_days_of_automated_backups(env):
    assert value_in("database", attr(PRIMARY, "backup_retention_period"), env) == 7
    assert attr(PRIMARY, "delete_automated_backups") is False
    assert attr(PRIMARY, "copy_tags_to_snapshot") is True


def test_storage_and_insights_are_encrypted_with_kms():
    for instance in (PRIMARY, REPLICA):
        assert attr(instance, "storage_encrypted") is True
        assert attr(instance, "kms_key_id") == "${var.kms_key_arn}"
        assert attr(instance, "performance_insights_enabled") is True
        assert attr(instance, "performance_insights_kms_key_id") == "${var.kms_key_arn}"
        assert attr(instance, "publicly_accessible") is False
    assert attr(PRIMARY, "master_user_secret_kms_key_id") == "${var.kms_key_arn}"


@pytest.mark.parametrize(("env", "protected"), [("dev", False), ("prod", True)])
def test_deletion_protection_and_final_snapshot_in_prod(env, protected):
    assert value_in("database", attr(PRIMARY, "deletion_protection"), env) is protected
    assert attr(PRIMARY, "skip_final_snapshot") == "${!var.deletion_protection}"
    assert "var.deletion_protection ?" in attr(PRIMARY, "final_snapshot_identifier")
    assert value_in("database", attr(REPLICA, "deletion_protection"), env) is protected


def test_credentials_are_managed_by_rds_in_secrets_manager():
    assert attr(PRIMARY, "manage_master_user_password") is True
    assert "password" not in PRIMARY
    assert DB.outputs["master_secret_arn"]["value"] == ["${aws_db_instance.primary.master_user_secret[0].secret_arn}"]


def test_parameter_group_forces_ssl_and_logs_slow_queries():
    params = {attr(p, "name"): attr(p, "value") for p in DB.resource("aws_db_parameter_group", "this")["parameter"]}
    assert params["rds.force_ssl"] == "1"
    assert int(params["log_min_duration_statement"]) > 0
    # "ddl" would log ALTER ROLE ... PASSWORD from the db-setup task in plain text.
    assert params["log_statement"] == "none"
    for instance in (PRIMARY, REPLICA):
        assert attr(instance, "parameter_group_name") == "${aws_db_parameter_group.this.name}"


def test_replica_follows_the_primary():
    assert attr(REPLICA, "replicate_source_db") == "${aws_db_instance.primary.identifier}"
    assert attr(REPLICA, "instance_class") == "${var.instance_class}"
    assert "username" not in REPLICA and "manage_master_user_password" not in REPLICA


def test_postgresql_logs_are_exported_to_retained_groups():
    assert attr(PRIMARY, "enabled_cloudwatch_logs_exports") == ["postgresql", "upgrade"]
    group = DB.resource("aws_cloudwatch_log_group", "postgresql")
    assert attr(group, "retention_in_days") == "${var.log_retention_days}"
    assert attr(group, "kms_key_id") == "${var.logs_kms_key_arn}"
    assert "/aws/rds/instance/" in DB.locals["exported_logs"]


def test_iam_authentication_is_available():
    assert attr(PRIMARY, "iam_database_authentication_enabled") == "${var.iam_database_authentication}"
    assert DB.default("iam_database_authentication") is True
