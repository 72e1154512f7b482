"""Custom checkov checks for Cloud Run v2, which checkov 3 has no built-in checks for.

Each check reads the parsed HCL the way checkov hands it over: every attribute value wrapped in
a list, every nested block a list of dicts. A reference checkov could not resolve (for example
`google_service_account.run.email`) arrives as its expression text.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

SERVICE = "google_cloud_run_v2_service"
JOB = "google_cloud_run_v2_job"


def _first(value: Any) -> Any:
    """Unwrap checkov's one-element lists (repeatedly: blocks nest them)."""
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


def _blocks(body: Any, key: str) -> list[dict]:
    """Nested blocks `key` of a parsed block, as a list of dicts."""
    if not isinstance(body, dict):
        return []
    value = body.get(key) or []
    if isinstance(value, dict):
        return [value]
    out: list[dict] = []
    for item in value:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list):
            out.extend(i for i in item if isinstance(i, dict))
    return out


def revision_template(conf: dict, entity_type: str) -> dict | None:
    """The revision template: `template` of a service, `template.template` of a job."""
    templates = _blocks(conf, "template")
    if not templates:
        return None
    if entity_type == JOB:
        inner = _blocks(templates[0], "template")
        return inner[0] if inner else None
    return templates[0]


class CloudRunIngressLoadBalancerOnly(BaseResourceCheck):
    """The service must be reachable only through the external HTTPS load balancer (Cloud Armor)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure Cloud Run v2 service ingress is limited to internal traffic and Cloud Load Balancing",
            id="CKV_TODO_GCP_1",
            categories=(CheckCategories.NETWORKING,),
            supported_resources=(SERVICE,),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        self.evaluated_keys = ["ingress"]
        # Absent means the provider default INGRESS_TRAFFIC_ALL: the run.app URL is public.
        ingress = _first(conf.get("ingress"))
        if ingress == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER":
            return CheckResult.PASSED
        return CheckResult.FAILED


class CloudRunDedicatedServiceAccount(BaseResourceCheck):
    """Revisions and job tasks run as a dedicated service account, never a default one."""

    DEFAULT_SUFFIXES = ("-compute@developer.gserviceaccount.com", "@appspot.gserviceaccount.com")

    def __init__(self) -> None:
        super().__init__(
            name="Ensure Cloud Run v2 services and jobs run as a dedicated service account, not a default one",
            id="CKV_TODO_GCP_2",
            categories=(CheckCategories.IAM,),
            supported_resources=(SERVICE, JOB),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        template = revision_template(conf, self.entity_type)
        self.evaluated_keys = ["template"]
        if template is None:
            return CheckResult.FAILED
        # Absent means the Compute Engine default service account (an Editor of the project).
        account = _first(template.get("service_account"))
        if not isinstance(account, str) or not account.strip():
            return CheckResult.FAILED
        if account.endswith(self.DEFAULT_SUFFIXES):
            return CheckResult.FAILED
        return CheckResult.PASSED


class CloudRunNoReservedPortEnv(BaseResourceCheck):
    """PORT is reserved and injected by Cloud Run; setting it fails the deploy or shadows it."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure Cloud Run v2 containers do not set the reserved PORT environment variable",
            id="CKV_TODO_GCP_3",
            categories=(CheckCategories.CONVENTION,),
            supported_resources=(SERVICE,),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        template = revision_template(conf, self.entity_type)
        self.evaluated_keys = ["template"]
        for container in _blocks(template, "containers"):
            for env in _blocks(container, "env"):
                if _first(env.get("name")) == "PORT":
                    return CheckResult.FAILED
        return CheckResult.PASSED


class CloudRunCustomerManagedKey(BaseResourceCheck):
    """Images and data of the revision are encrypted with a customer-managed key (CMEK)."""

    def __init__(self) -> None:
        super().__init__(
            name="Ensure Cloud Run v2 services and jobs are encrypted with a customer-managed key",
            id="CKV_TODO_GCP_4",
            categories=(CheckCategories.ENCRYPTION,),
            supported_resources=(SERVICE, JOB),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        template = revision_template(conf, self.entity_type)
        self.evaluated_keys = ["template"]
        key = _first(template.get("encryption_key")) if template else None
        if isinstance(key, str) and key.strip():
            return CheckResult.PASSED
        return CheckResult.FAILED


class CloudRunIngressContainerProbes(BaseResourceCheck):
    """The serving container has a startup probe and a liveness probe.

    A serverless NEG takes no load balancer health check, so Cloud Run's probes are the only
    thing that keeps traffic away from an instance that is not ready or has hung.
    """

    def __init__(self) -> None:
        super().__init__(
            name="Ensure the serving container of a Cloud Run v2 service has startup and liveness probes",
            id="CKV_TODO_GCP_5",
            categories=(CheckCategories.GENERAL_SECURITY,),
            supported_resources=(SERVICE,),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        template = revision_template(conf, self.entity_type)
        self.evaluated_keys = ["template"]
        containers = _blocks(template, "containers")
        # The serving container is the one with a port (the only one if there is a single one).
        serving = [c for c in containers if _blocks(c, "ports")] or containers[:1]
        if not serving:
            return CheckResult.FAILED
        for container in serving:
            if not _blocks(container, "startup_probe") or not _blocks(container, "liveness_probe"):
                return CheckResult.FAILED
        return CheckResult.PASSED


check_ingress = CloudRunIngressLoadBalancerOnly()
check_service_account = CloudRunDedicatedServiceAccount()
check_port_env = CloudRunNoReservedPortEnv()
check_cmek = CloudRunCustomerManagedKey()
check_probes = CloudRunIngressContainerProbes()
