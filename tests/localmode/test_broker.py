"""The local file broker (localmode/broker.py): what `make run`'s processes share as a queue."""

import os
import threading

import pytest
from kombu import Connection, Queue

from localmode.broker import transport_options


@pytest.fixture
def broker(tmp_path):
    options = transport_options(tmp_path / "broker")

    def connect():
        return Connection("filesystem://localhost/", transport="localmode.broker:Transport", transport_options=options)

    return connect, tmp_path / "broker"


def _publish(connection, queue: str, bodies) -> None:
    with connection.Producer() as producer:
        for body in bodies:
            producer.publish(body, routing_key=queue, declare=[Queue(queue)], serializer="json")


def _drain(connection, queue: str) -> list:
    channel = connection.default_channel
    bodies = []
    while (message := channel.basic_get(queue, no_ack=True)) is not None:
        bodies.append(message.payload)
    return bodies


def test_messages_cross_processes_in_publication_order_and_per_queue(broker):
    connect, _ = broker
    with connect() as producer_side, connect() as consumer_side:
        _publish(producer_side, "ingestion", [{"n": n} for n in range(12)])
        _publish(producer_side, "sla", [{"n": "sweep"}])

        assert consumer_side.default_channel.queue_declare(queue="ingestion").message_count == 12
        assert _drain(consumer_side, "ingestion") == [{"n": n} for n in range(12)]
        assert _drain(consumer_side, "sla") == [{"n": "sweep"}]


def test_two_consumers_polling_at_once_never_get_the_same_message(broker):
    connect, _ = broker
    with connect() as connection:
        _publish(connection, "ingestion", [{"n": n} for n in range(300)])
    taken: list[list] = [[], [], []]

    def consume(into):
        with connect() as connection:
            into.extend(body["n"] for body in _drain(connection, "ingestion"))

    threads = [threading.Thread(target=consume, args=(bucket,)) for bucket in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    everything = [n for bucket in taken for n in bucket]
    assert sorted(everything) == list(range(300))  # each exactly once


def test_a_message_being_written_is_invisible_until_complete(broker):
    connect, folder = broker
    (folder / "queue").mkdir(parents=True)
    (folder / "queue" / ".000000000000001_x.ingestion.msg.part").write_bytes(b'{"half')
    with connect() as connection:
        assert _drain(connection, "ingestion") == []
        _publish(connection, "ingestion", [{"n": 1}])
        assert _drain(connection, "ingestion") == [{"n": 1}]
    assert sorted(os.listdir(folder / "taken")) == []
