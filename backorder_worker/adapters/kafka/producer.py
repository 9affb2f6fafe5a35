"""The publisher of output events: `KafkaPublisher`, one idempotent `KafkaProducer`.

The producer is idempotent with `acks="all"`; both are set explicitly, so a conflicting option
raises instead of silently turning idempotence off (DEVSTACK.md). A producer whose id the
broker no longer knows (after a broker restart: `UnknownProducerIdError`, then a fatal state
on Tansu, whose `InitProducerId` epoch bump fails) is replaced by a new one, once per call,
and the failed records are sent again. Delivery stays at least once: a record whose
acknowledgement was lost may be written twice; subscribers dedupe by CloudEvents id.

Thread-safe: the worker and the outbox sweeper may publish through one instance.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kafka import KafkaProducer
from kafka.errors import (
    InvalidProducerEpochError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumberError,
    UnknownProducerIdError,
)

from backorder_worker.service_layer.ports import OutboxRow
from backorder_worker.settings import KafkaSettings, kafka_client_kwargs

log = logging.getLogger(__name__)

# Producer-state errors: the broker has forgotten (or disowns) this producer id.
_STALE_PRODUCER = (UnknownProducerIdError, OutOfOrderSequenceNumberError, InvalidProducerEpochError)


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    """Where a record landed."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int


class PublishError(RuntimeError):
    """`send_raw` could not deliver its record."""


BATCH_BYTES = 256 * 1024


def producer_config(
    settings: KafkaSettings,
    *,
    client_id: str | None = None,
    linger_ms: int = 5,
    batch_bytes: int = BATCH_BYTES,
    compression_type: str | None = None,
    delivery_timeout_ms: int = 30_000,
    max_block_ms: int = 5_000,
) -> dict[str, Any]:
    """The `KafkaProducer` keywords of the publisher. `max_block_ms` bounds how long `send`
    blocks for a topic's metadata (kafka-python's default, 60 s, would stall the worker)."""
    config: dict[str, Any] = {
        "acks": "all",
        "enable_idempotence": True,  # explicit: a conflicting option raises, never disables
        "linger_ms": linger_ms,
        # A release burst hands the relay thousands of records at once; kafka-python's 16 KiB
        # batches made ~1,000 produce requests of 10,000 released events, five in flight at
        # a time. 256 KiB batches: 0.97 → 0.49 s for 10,000 records of 1.2 KB on Tansu
        # (docs/performance.md). Below `max_request_size` (1 MiB) and Kafka's default
        # `message.max.bytes`; a small batch is sent at `flush()` as before.
        "batch_size": batch_bytes,
        "compression_type": compression_type,
        "delivery_timeout_ms": delivery_timeout_ms,
        "max_block_ms": max_block_ms,
        "request_timeout_ms": min(30_000, delivery_timeout_ms - linger_ms),
        **kafka_client_kwargs(settings),
    }
    if client_id is not None:
        config["client_id"] = client_id
    return config


class KafkaPublisher:
    """Sends outbox rows and single records; see the module docstring for the guarantees."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        client_id: str | None = None,
        linger_ms: int = 5,
        batch_bytes: int = BATCH_BYTES,
        compression_type: str | None = None,
        delivery_timeout_ms: int = 30_000,
        max_block_ms: int = 5_000,
    ) -> None:
        """Connects at once (raises `KafkaTimeoutError` when no broker answers within the
        settings' `connect_timeout_s`).
        `compression_type`: None, "gzip", "snappy", "lz4" or "zstd" (the codec's library
        must be installed)."""
        self._config = producer_config(
            settings,
            client_id=client_id,
            linger_ms=linger_ms,
            batch_bytes=batch_bytes,
            compression_type=compression_type,
            delivery_timeout_ms=delivery_timeout_ms,
            max_block_ms=max_block_ms,
        )
        self._lock = threading.Lock()
        self._closed = False
        self._producer = KafkaProducer(**self._config)

    def publish(self, rows: Sequence[OutboxRow], timeout_s: float = 10.0) -> list[int]:
        """Sends every row (topic, key, value, headers) in the given order, waits up to
        `timeout_s` for the acknowledgements, and returns the ids of the rows the broker
        acknowledged, in row order. A row that failed (or was not acknowledged in time) is
        logged with its id and event id and left out; this never raises for one row.
        After a stale-producer error the producer is replaced and the failed rows sent once
        more, so a call may take up to twice `timeout_s`."""
        self._ensure_open()
        if not rows:
            return []
        producer = self._producer
        sent, failed = self._send_rows(producer, rows, timeout_s)
        if failed and self._is_stale(producer, [exc for _, exc in failed]):
            log.warning("producer is stale (%s); replacing it and resending", failed[0][1])
            try:
                fresh = self._replace(producer)
            except KafkaError as error:  # no broker to bootstrap from: the next call retries
                log.error("could not replace the stale producer: %s", error)
            else:
                sent_again, failed = self._send_rows(fresh, [r for r, _ in failed], timeout_s)
                sent |= sent_again
        for row, reason in failed:
            log.error(
                "outbox row %s (event %s) to %s not published: %s: %s",
                row.id,
                row.event_id,
                row.topic,
                type(reason).__name__,
                reason,
            )
        return [row.id for row in rows if row.id in sent]

    def send_raw(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]] = (),
        timeout_s: float = 10.0,
    ) -> PublishedRecord:
        """Sends one record and waits for its acknowledgement (the CLI `publish` command).
        Raises `PublishError` when it was not acknowledged within `timeout_s` (replacing a
        stale producer once first)."""
        self._ensure_open()
        producer = self._producer
        try:
            return _send_one(producer, topic, key, value, headers, timeout_s)
        except Exception as exc:
            if not self._is_stale(producer, [exc]):
                raise PublishError(f"record to {topic} not published: {exc!r}") from exc
            log.warning("producer is stale (%r); replacing it and resending", exc)
        try:
            return _send_one(self._replace(producer), topic, key, value, headers, timeout_s)
        except Exception as exc:
            raise PublishError(f"record to {topic} not published: {exc!r}") from exc

    def close(self, timeout_s: float = 5.0) -> None:
        """Flushes what is buffered (up to `timeout_s`) and closes. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _close_quietly(self._producer, timeout_s)

    def _send_rows(
        self, producer: Any, rows: Sequence[OutboxRow], timeout_s: float
    ) -> tuple[set[int], list[tuple[OutboxRow, BaseException]]]:
        """Sends, flushes, and sorts the rows into acknowledged ids and failures (row order)."""
        outcomes: list[tuple[OutboxRow, Any]] = []  # a future, or the exception send raised
        unreachable: dict[str, BaseException] = {}
        for row in rows:
            if row.topic in unreachable:  # its metadata timed out: do not block again
                outcomes.append((row, unreachable[row.topic]))
                continue
            try:
                headers = _header_list(row.headers)
                future = producer.send(row.topic, key=row.key, value=row.value, headers=headers)
            # One bad row (too large, invalid topic name) must not stop the others.
            except Exception as exc:
                if isinstance(exc, KafkaTimeoutError):
                    unreachable[row.topic] = exc
                outcomes.append((row, exc))
                continue
            outcomes.append((row, future))
        deadline = time.monotonic() + timeout_s
        try:
            producer.flush(timeout=timeout_s)
        except KafkaTimeoutError:
            log.warning("flush did not complete within %.1f s", timeout_s)
        sent: set[int] = set()
        failed: list[tuple[OutboxRow, BaseException]] = []
        for row, outcome in outcomes:
            if isinstance(outcome, BaseException):
                failed.append((row, outcome))
                continue
            if not outcome.is_done:
                # flush() may return a moment before callbacks land; wait out the deadline.
                with contextlib.suppress(Exception):  # the outcome is read from the future
                    outcome.get(timeout=max(0.0, deadline - time.monotonic()))
            if outcome.succeeded():
                sent.add(row.id)
            else:
                failed.append((row, outcome.exception or KafkaTimeoutError("not acknowledged")))
        return sent, failed

    def _is_stale(self, producer: Any, errors: Sequence[BaseException]) -> bool:
        if producer is not self._producer:  # another thread replaced (and closed) it meanwhile
            return True
        if any(isinstance(exc, _STALE_PRODUCER) for exc in errors):
            return True
        # After a failed epoch bump kafka-python fails every send with a plain KafkaError;
        # only its (private) transaction manager tells that state apart.
        manager = getattr(producer, "_transaction_manager", None)
        has_fatal_error = getattr(manager, "has_fatal_error", None)
        return bool(has_fatal_error()) if callable(has_fatal_error) else False

    def _replace(self, stale: Any) -> Any:
        """A fresh producer instead of `stale`, unless another thread already replaced it."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the publisher is closed")
            if self._producer is stale:
                self._producer = KafkaProducer(**self._config)
                log.info("replaced the Kafka producer")
            current = self._producer
        _close_quietly(stale, 1.0)
        return current

    def _ensure_open(self) -> None:
        if self._closed:
            raise RuntimeError("the publisher is closed")


def _send_one(
    producer: Any,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    timeout_s: float,
) -> PublishedRecord:
    future = producer.send(topic, key=key, value=value, headers=_header_list(headers))
    metadata = future.get(timeout=timeout_s)
    return PublishedRecord(metadata.topic, metadata.partition, metadata.offset, metadata.timestamp)


def _header_list(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    # kafka-python insists on a list of (str, bytes) tuples.
    return [(name, bytes(value)) for name, value in headers]


def _close_quietly(producer: Any, timeout_s: float) -> None:
    try:
        producer.close(timeout=timeout_s)
    except Exception:  # closing is best effort: unsent records are the outbox's to resend
        log.warning("closing the Kafka producer failed", exc_info=True)
