"""The test plugin removes what each test's services declared on the shared broker (see
``sambang_runtime.testing._delete_broker_objects`` for why a run must not pile up queues)."""

from __future__ import annotations

from pathlib import Path

import aio_pika
import aiormq
from sambang_runtime.bus.transport import parked_queue_name, retry_queue_name
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import _DECLARED_BY_TEST, Servers, _delete_broker_objects, isolated_settings


async def exists(settings: RuntimeSettings, kind: str, name: str) -> bool:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        try:
            if kind == "queue":
                await channel.declare_queue(name, passive=True)
            else:
                await channel.get_exchange(name, ensure=True)
        except (aiormq.exceptions.ChannelNotFoundEntity, aio_pika.exceptions.ChannelClosed):
            return False
        return True


async def test_queues_and_exchange_a_test_declared_are_deleted_and_deleting_twice_is_no_error(
    servers: Servers, tmp_path: Path
) -> None:
    settings = isolated_settings(servers, tmp_path, "cleanup", uniq="cleanup-" + servers.run_id)
    assert _DECLARED_BY_TEST[-1] is settings  # listed for the end of this test
    queues = [settings.queue_name, retry_queue_name(settings.queue_name), parked_queue_name(settings.queue_name)]
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        for name in queues:
            await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    assert all([await exists(settings, "queue", q) for q in queues])

    await _delete_broker_objects([settings])
    assert not any([await exists(settings, "queue", q) for q in queues])
    assert not await exists(settings, "exchange", settings.exchange)
    await _delete_broker_objects([settings])  # again, as the plugin will at the end of this test


def test_sqlite_and_memory_settings_are_not_listed(servers: Servers, tmp_path: Path) -> None:
    before = len(_DECLARED_BY_TEST)
    isolated_settings(servers, tmp_path, "cleanup", "sqlite+memory", uniq="mem")
    assert len(_DECLARED_BY_TEST) == before
