"""deploy/k8s's KEDA objects: valid against KEDA's documented fields, an HPA behaviour
Kubernetes accepts, and scaling from one replica to the partition count on the worker's
own consumer group, input topics and Kafka security.
"""

import json
from pathlib import Path

import pytest

from backorder_worker.bootstrap import input_topics
from tests.deploy.k8s import (
    KEDA_KINDS,
    OLDEST_KUBERNETES,
    PARTITIONS,
    configmap_settings,
    deployment,
    kubernetes_errors,
)
from tests.deploy.support import (
    SCHEMAS,
    k8s_object,
    k8s_objects,
    require_module,
)


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
