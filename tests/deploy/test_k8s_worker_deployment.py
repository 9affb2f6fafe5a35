"""deploy/k8s's worker Deployment against the worker's code: the ConfigMap it loads, how
it runs (replicas, non-root, read-only root, sized for its resident memory), the probes and
scrape port the health server answers, a grace period that outlasts a batch, the selectors,
and the migrate Job and example secrets with the least-privileged roles.
"""

from pathlib import Path

from backorder_worker.entrypoints.commands.run import command as run_command
from backorder_worker.observability.http import HealthServer
from backorder_worker.observability.metrics import Metrics
from backorder_worker.settings import Settings
from tests.deploy.k8s import configmap_settings, deployment, worker_container
from tests.deploy.support import (
    K8S,
    k8s_object,
    load_yaml_documents,
    longest_batch_s,
)

EXPECTED_RSS_MB = 300  # a replica under load, resident


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
