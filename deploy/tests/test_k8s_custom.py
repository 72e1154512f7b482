"""The custom resources of deploy/k8s (cr-*.yaml), which kubernetes-validate has no schema for.

Each is checked for its API group/version, kind, required fields and the values this deployment
depends on: GKE's BackendConfig health check (/health-check on 8000) and Cloud Armor policy, the
FrontendConfig redirect, the ManagedCertificate's domain, and the SecretProviderClasses that
produce exactly the Secrets and keys the workloads reference.
"""

from __future__ import annotations

import re

import pytest
import yaml
from test_k8s import CLOUDS, Manifests, container, pod_spec, secret_refs


@pytest.fixture(scope="module")
def gke() -> Manifests:
    return Manifests("gke")


def _required(doc: dict, *paths: str) -> None:
    for path in paths:
        node = doc
        for key in path.split("."):
            assert isinstance(node, dict) and key in node, f"{doc['kind']}: missing {path}"
            node = node[key]


# --- GKE: BackendConfig, FrontendConfig, ManagedCertificate -----------------------------------


def test_backend_config_health_check(gke):
    (bc,) = gke.all("BackendConfig")
    assert bc["apiVersion"] == "cloud.google.com/v1"
    _required(bc, "metadata.name", "metadata.namespace", "spec.healthCheck", "spec.securityPolicy.name")
    hc = bc["spec"]["healthCheck"]
    assert hc["type"] == "HTTP"
    assert hc["requestPath"] == "/health-check", "GKE would otherwise probe /"
    ports = {p["name"]: p["containerPort"] for p in container(gke.deployment)["ports"]}
    assert hc["port"] == ports["http"] == 8000
    assert hc["timeoutSec"] <= hc["checkIntervalSec"]
    assert hc["healthyThreshold"] >= 1 and hc["unhealthyThreshold"] >= 2


def test_backend_config_attaches_the_cloud_armor_policy(gke):
    (bc,) = gke.all("BackendConfig")
    # deploy/gcp names the policy "<name>-<environment>-armor" (load_balancer module).
    assert bc["spec"]["securityPolicy"]["name"] == "todo-api-prod-armor"


def test_backend_config_timeouts(gke):
    (bc,) = gke.all("BackendConfig")
    spec = bc["spec"]
    assert spec["timeoutSec"] > int(gke.config["REQUEST_TIMEOUT"]), "the app times out first"
    pre_stop = container(gke.deployment)["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["connectionDraining"]["drainingTimeoutSec"] >= pre_stop
    assert spec["logging"]["enable"] is True


def test_frontend_config_redirects_to_https(gke):
    (fc,) = gke.all("FrontendConfig")
    assert fc["apiVersion"] == "networking.gke.io/v1beta1"
    _required(fc, "metadata.name", "spec.redirectToHttps.enabled", "spec.sslPolicy")
    assert fc["spec"]["redirectToHttps"]["enabled"] is True
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", fc["spec"]["sslPolicy"])


def test_managed_certificate_covers_the_ingress_host(gke):
    (cert,) = gke.all("ManagedCertificate")
    assert cert["apiVersion"] == "networking.gke.io/v1"
    _required(cert, "metadata.name", "spec.domains")
    hosts = [r["host"] for r in gke.one("Ingress", "todo-api")["spec"]["rules"]]
    assert cert["spec"]["domains"] == hosts
    assert all("*" not in d for d in cert["spec"]["domains"]), "managed certificates take no wildcards"


# --- SecretProviderClass (both clouds) ---------------------------------------------------------


def _synced(spc: dict) -> dict[str, set[str]]:
    """Secret name -> keys that a SecretProviderClass syncs."""
    return {s["secretName"]: {d["key"] for d in s["data"]} for s in spc["spec"]["secretObjects"]}


def _objects(spc: dict) -> set[str]:
    """The object names a SecretProviderClass mounts (what secretObjects may sync)."""
    params = spc["spec"]["parameters"]
    if spc["spec"]["provider"] == "aws":
        names = set()
        for obj in yaml.safe_load(params["objects"]):
            assert obj["objectType"] == "secretsmanager"
            names |= {j["objectAlias"] for j in obj.get("jmesPath", [])}
            if "objectAlias" in obj:  # a plain-string secret, mounted whole
                names.add(obj["objectAlias"])
        return names
    return {s["path"] for s in yaml.safe_load(params["secrets"])}


@pytest.mark.parametrize("cloud", CLOUDS)
def test_secret_provider_classes_are_well_formed(cloud):
    m = Manifests(cloud)
    for spc in m.all("SecretProviderClass"):
        assert spc["apiVersion"] == "secrets-store.csi.x-k8s.io/v1"
        _required(spc, "metadata.name", "metadata.namespace", "spec.provider", "spec.parameters", "spec.secretObjects")
        assert spc["spec"]["provider"] == {"eks": "aws", "gke": "gcp"}[cloud]
        for secret in spc["spec"]["secretObjects"]:
            assert secret["type"] == "Opaque"
            for item in secret["data"]:
                assert item["objectName"] in _objects(spc), f"{item['objectName']} is not mounted"


@pytest.mark.parametrize("cloud", CLOUDS)
@pytest.mark.parametrize("workload", ["deployment", "job", "cronjob"])
def test_every_referenced_secret_key_is_synced_by_the_mounted_class(cloud, workload):
    """A workload's env can only read a Secret that a class it mounts syncs (the CSI driver
    creates the Secret while it mounts the volume)."""
    m = Manifests(cloud)
    w = getattr(m, workload)
    mounted = [v["csi"]["volumeAttributes"]["secretProviderClass"] for v in pod_spec(w)["volumes"] if "csi" in v]
    assert len(mounted) == 1
    assert pod_spec(w)["volumes"][0]["csi"]["driver"] == "secrets-store.csi.k8s.io"
    synced = _synced(m.one("SecretProviderClass", mounted[0]))
    mounts = {vm["name"] for vm in container(w)["volumeMounts"]}
    assert pod_spec(w)["volumes"][0]["name"] in mounts, "the CSI volume must be mounted to sync"
    for var, (secret, key, optional) in secret_refs(w).items():
        if optional:
            continue
        assert key in synced.get(secret, set()), f"{workload}: {var} <- {secret}/{key} is never synced"


def test_the_service_secret_holds_the_password_and_the_pepper():
    for cloud in CLOUDS:
        synced = _synced(Manifests(cloud).one("SecretProviderClass", "todo-api"))
        assert synced == {"todo-api-secrets": {"DATABASE_PASSWORD", "TOKEN_PEPPER"}}
        migrate = _synced(Manifests(cloud).one("SecretProviderClass", "todo-api-migrate"))
        assert migrate == {"todo-api-migrate-secrets": {"DATABASE_PASSWORD", "BOOTSTRAP_ADMIN_TOKEN"}}


def test_eks_reads_the_json_keys_of_the_ecs_secrets():
    m = Manifests("eks")
    objects = yaml.safe_load(m.one("SecretProviderClass", "todo-api")["spec"]["parameters"]["objects"])
    by_alias = {j["objectAlias"]: (o["objectName"], j["path"]) for o in objects for j in o["jmesPath"]}
    arn = r"arn:aws:secretsmanager:ap-northeast-1:\d{12}:secret:"
    assert re.fullmatch(arn + r"todo-api-prod/db-app-user-\w{6}", by_alias["DATABASE_PASSWORD"][0])
    assert by_alias["DATABASE_PASSWORD"][1] == "password"
    assert re.fullmatch(arn + r"todo-api-prod/token-pepper-\w{6}", by_alias["TOKEN_PEPPER"][0])
    assert by_alias["TOKEN_PEPPER"][1] == "current"
    migrate = yaml.safe_load(m.one("SecretProviderClass", "todo-api-migrate")["spec"]["parameters"]["objects"])
    assert re.fullmatch(arn + r"rds!db-[0-9a-f-]{36}-\w{6}", migrate[0]["objectName"]), "RDS-managed master secret"
    assert re.fullmatch(arn + r"todo-api-prod/bootstrap-admin-token-\w{6}", migrate[1]["objectName"])
    assert migrate[1]["objectAlias"] == "BOOTSTRAP_ADMIN_TOKEN"


def test_gke_reads_pinned_versions_of_the_secret_manager_secrets(gke):
    secrets = yaml.safe_load(gke.one("SecretProviderClass", "todo-api")["spec"]["parameters"]["secrets"])
    by_path = {s["path"]: s["resourceName"] for s in secrets}
    name = r"projects/[a-z][-a-z0-9]{4,28}[a-z0-9]/secrets/todo-api-prod-%s/versions/\d+"
    assert re.fullmatch(name % "database-password", by_path["DATABASE_PASSWORD"])
    assert re.fullmatch(name % "token-pepper", by_path["TOKEN_PEPPER"])
    assert re.fullmatch(name % "database-server-ca", by_path["server-ca.pem"]), "the sslrootcert file"
    migrate = yaml.safe_load(gke.one("SecretProviderClass", "todo-api-migrate")["spec"]["parameters"]["secrets"])
    by_path = {s["path"]: s["resourceName"] for s in migrate}
    assert re.fullmatch(name % "database-owner-password", by_path["DATABASE_PASSWORD"]), "the owner's, as the Cloud Run jobs"
    assert re.fullmatch(name % "bootstrap-admin-token", by_path["BOOTSTRAP_ADMIN_TOKEN"])
