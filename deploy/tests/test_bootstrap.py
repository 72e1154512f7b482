"""The bootstrap roots (deploy/aws/bootstrap, deploy/gcp/bootstrap): the state buckets the main
roots' backends name, with the protections a state bucket needs."""

from __future__ import annotations

from conftest import attr, blocks, load_module


def test_aws_state_bucket():
    m = load_module("aws/bootstrap")
    assert attr(blocks(m.resource("aws_s3_bucket_versioning", "state"), "versioning_configuration")[0], "status") == "Enabled"
    (rule,) = blocks(m.resource("aws_s3_bucket_server_side_encryption_configuration", "state"), "rule")
    (default,) = blocks(rule, "apply_server_side_encryption_by_default")
    assert attr(default, "sse_algorithm") == "aws:kms"
    assert attr(default, "kms_master_key_id") == "${aws_kms_key.state.arn}"
    assert attr(m.resource("aws_kms_key", "state"), "enable_key_rotation") is True
    block = m.resource("aws_s3_bucket_public_access_block", "state")
    for key in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert attr(block, key) is True, key
    (tls,) = blocks(m.data["aws_iam_policy_document"]["state"], "statement")
    assert attr(tls, "effect") == "Deny"
    assert attr(blocks(tls, "condition")[0], "variable") == "aws:SecureTransport"
    assert attr(m.resource("aws_s3_bucket_logging", "state"), "target_bucket") == "${aws_s3_bucket.logs.id}"
    assert "backend" not in (m.dir / "versions.tf").read_text().split("#")[0], "local state: it creates the bucket"


def test_aws_main_root_locks_with_s3_lock_files():
    text = (load_module("aws").dir / "versions.tf").read_text()
    assert "use_lockfile = true" in text


def test_gcp_state_bucket():
    m = load_module("gcp/bootstrap")
    bucket = m.resource("google_storage_bucket", "state")
    assert attr(bucket, "uniform_bucket_level_access") is True
    assert attr(bucket, "public_access_prevention") == "enforced"
    assert attr(blocks(bucket, "versioning")[0], "enabled") is True
    assert attr(blocks(bucket, "encryption")[0], "default_kms_key_name") == "${google_kms_crypto_key.state.id}"
    assert attr(bucket, "name") == "${var.project_id}-tfstate", "the name docs/deploy-gcp.md passes to init"
