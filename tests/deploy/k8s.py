"""What the deploy/k8s tests share: the Kubernetes releases the manifests are validated
against (strictly: an unknown field is an error), the numbers the manifests must agree
with, and the worker's Deployment, container and ConfigMap settings as read from them.
"""

from pathlib import Path
from typing import Any

from backorder_worker.settings import Settings, load_settings
from tests.deploy.support import k8s_object, require_module

# The oldest Kubernetes release the manifests are meant for, and the newest the validator
# knows. Both strictly: an unknown field is an error.
OLDEST_KUBERNETES = "1.29"
PARTITIONS = 4  # per input topic: deploy/compose.yaml's `topics`, and production's
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
NAMESPACE = "backorder"


def kubernetes_errors(obj: dict[str, Any], version: str) -> str | None:
    kubernetes_validate = require_module("kubernetes_validate", "kubernetes-validate")
    try:
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return f"{'.'.join(map(str, error.path))}: {error.message}"
    return None


def latest_kubernetes() -> str:
    utils = require_module("kubernetes_validate.utils", "kubernetes-validate")
    version: str = utils.latest_version()
    return version


def deployment() -> dict[str, Any]:
    return k8s_object("Deployment", "backorder-worker")


def worker_container() -> dict[str, Any]:
    (container,) = deployment()["spec"]["template"]["spec"]["containers"]
    assert isinstance(container, dict)
    return container


def configmap_settings(tmp_path: Path) -> Settings:
    configmap = k8s_object("ConfigMap", "backorder-worker-config")
    path = tmp_path / "backorder.toml"
    path.write_text(configmap["data"]["backorder.toml"], encoding="utf-8")
    return load_settings(str(path), env={})
