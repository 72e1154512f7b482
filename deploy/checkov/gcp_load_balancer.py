"""Custom checkov check: an internet-facing backend service has Cloud Armor and request logs."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


def _first(value: Any) -> Any:
    while isinstance(value, list) and len(value) == 1:
        value = value[0]
    return value


class ExternalBackendServiceArmorAndLogging(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Ensure external backend services have a Cloud Armor policy and request logging",
            id="CKV_TODO_GCP_6",
            categories=(CheckCategories.APPLICATION_SECURITY,),
            supported_resources=("google_compute_backend_service",),
        )

    def scan_resource_conf(self, conf: dict[str, list[Any]]) -> CheckResult:
        # The provider default scheme is EXTERNAL (classic Application Load Balancer).
        scheme = _first(conf.get("load_balancing_scheme")) or "EXTERNAL"
        if scheme not in ("EXTERNAL", "EXTERNAL_MANAGED"):
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["security_policy", "log_config"]
        policy = _first(conf.get("security_policy"))
        if not isinstance(policy, str) or not policy.strip():
            return CheckResult.FAILED
        log_config = _first(conf.get("log_config"))
        if not isinstance(log_config, dict) or _first(log_config.get("enable")) is not True:
            return CheckResult.FAILED
        return CheckResult.PASSED


check = ExternalBackendServiceArmorAndLogging()
