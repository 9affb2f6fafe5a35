"""The service fixtures give real services, and the embedded stack cleans up after itself."""

import socket
import time
from collections.abc import Callable

import psutil
import pytest
import redis
import sqlalchemy as sa
from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord

from backorder_worker.devstack import tansu
from backorder_worker.devstack.embedded_stack import EmbeddedStack, is_alive
from tests.kafka_settings import FAST_GROUP_SETTINGS


def test_postgres_answers_a_query_and_reports_version_15_or_newer(pg_engine: sa.Engine) -> None:
    with pg_engine.connect() as connection:
        assert connection.execute(sa.text("select 1")).scalar_one() == 1
        version = connection.execute(sa.text("show server_version_num")).scalar_one()
    assert int(version) >= 150000


def test_redis_client_starts_on_an_empty_database_and_round_trips_a_value(
    redis_client: redis.Redis,
) -> None:
    assert redis_client.dbsize() == 0
    redis_client.set("sku:42", "reserved")
    assert redis_client.get("sku:42") == b"reserved"


def _consume(consumer: KafkaConsumer, count: int, timeout_s: float = 8.0) -> list[ConsumerRecord]:
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    return records


def _consumer(bootstrap: str, topic: str, group: str) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **FAST_GROUP_SETTINGS,
    )


def _produce(bootstrap: str, topic: str, keys: list[str]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for key in keys:
        headers = [("event_id", f"evt-{key}".encode())]
        producer.send(topic, key=key.encode(), value=f"payload {key}".encode(), headers=headers)
    producer.flush()
    producer.close()


def test_broker_delivers_keyed_messages_with_headers_and_a_group_resumes_after_its_commit(
    kafka_bootstrap: str, unique_name: Callable[[str], str]
) -> None:
    topic, group = unique_name("orders"), unique_name("group")
    _produce(kafka_bootstrap, topic, ["a", "b", "c"])

    first = _consumer(kafka_bootstrap, topic, group)
    received = _consume(first, 3)
    first.commit()
    first.close()

    assert sorted(record.key for record in received) == [b"a", b"b", b"c"]
    for record in received:
        assert record.value == b"payload " + record.key
        assert record.headers == [("event_id", b"evt-" + record.key)]

    _produce(kafka_bootstrap, topic, ["d", "e"])
    second = _consumer(kafka_bootstrap, topic, group)
    resumed = _consume(second, 2)
    resumed += _consume(second, 1, timeout_s=0.5)  # anything already committed would show here
    second.close()

    assert sorted(record.key for record in resumed) == [b"d", b"e"]


def test_embedded_stack_serves_all_three_services_and_leaves_no_process_behind() -> None:
    with EmbeddedStack() as stack:
        pids = set(stack.pids.values())
        pids |= {child.pid for child in psutil.Process(stack.pids["postgres"]).children()}
        base_dir = stack.base_dir
        with redis.Redis.from_url(stack.redis_url) as client:
            assert client.ping()
        engine = sa.create_engine(stack.database_url)
        with engine.connect() as connection:
            assert connection.execute(sa.text("select 1")).scalar_one() == 1
        engine.dispose()
        host, port = stack.bootstrap_servers.split(":")
        socket.create_connection((host, int(port)), timeout=1).close()

    assert len(pids) > 3
    assert [pid for pid in pids if is_alive(pid)] == []
    assert base_dir is not None and not base_dir.exists()


def test_broker_moves_to_another_port_when_its_first_choice_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        choices = iter([taken, tansu.free_port()])
        monkeypatch.setattr(tansu, "free_port", lambda host="127.0.0.1": next(choices))

        with tansu.TansuBroker() as broker:
            assert broker.port != taken
            assert broker.is_running()
        assert not broker.is_running()


def test_broker_on_an_explicit_port_that_is_taken_fails_to_start() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        with pytest.raises(tansu.BrokerStartError, match="Address in use"):
            tansu.TansuBroker(port=squatter.getsockname()[1]).start()
