"""Reads canonical events from a topic with Confluent's own Python client and Avro deserializer.

This is the interoperability check of the hub's wire format: nothing here was written for the
hub. The deserializer sees only the Confluent framing and asks the schema registry for the
writer's schema by id. Each decoded record is printed as one JSON line, with timestamps as epoch
milliseconds and dates as epoch days (the Avro encodings), so the caller can compare values
exactly.

usage: decode_with_confluent.py --bootstrap HOST:PORT --registry URL --topic T --count N
"""

import argparse
import datetime
import json
import sys

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(value):
    """Turns fastavro's logical-type objects back into their Avro numbers."""
    if isinstance(value, datetime.datetime):
        return (value - EPOCH) // datetime.timedelta(milliseconds=1)
    if isinstance(value, datetime.date):
        return (value - EPOCH.date()).days
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    deserializer = AvroDeserializer(SchemaRegistryClient({"url": args.registry}))
    consumer = Consumer(
        {
            "bootstrap.servers": args.bootstrap,
            "group.id": "interop-python-" + args.topic,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "broker.address.family": "v4",
            "isolation.level": "read_committed",
        }
    )
    consumer.subscribe([args.topic])
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=args.timeout)
    decoded = 0
    try:
        while decoded < args.count:
            if datetime.datetime.now() > deadline:
                print(f"timed out after {decoded} of {args.count} records", file=sys.stderr)
                return 1
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                print(f"consumer error: {message.error()}", file=sys.stderr)
                return 1
            context = SerializationContext(message.topic(), MessageField.VALUE)
            record = deserializer(message.value(), context)
            print(json.dumps(plain(record), ensure_ascii=False, sort_keys=True))
            decoded += 1
    finally:
        consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
