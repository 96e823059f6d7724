"""The webhook's batched Redis client against a real Redis."""
import asyncio

import pytest
import redis.asyncio as aredis
from redis.exceptions import ConnectionError, ResponseError

from core.autopipeline import AutoPipeline
from tests.conftest import TEST_REDIS_URL


def run(coro):
    return asyncio.run(coro)


async def _with_pipeline(work):
    client = aredis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    try:
        return await work(AutoPipeline(client, timeout=10), client)
    finally:
        await client.aclose()


def test_concurrent_commands_share_one_round_trip_and_keep_their_order():
    async def work(r, client):
        await client.delete("ap:list")
        replies = await asyncio.gather(*(r.execute("RPUSH", "ap:list", n) for n in range(50)))
        return replies, await client.lrange("ap:list", 0, -1), r._connection

    replies, stored, connection = run(_with_pipeline(work))
    assert replies == list(range(1, 51))  # raw replies, in the order the commands were issued
    assert stored == [str(n) for n in range(50)]
    assert connection is not None  # held for the next batch


def test_a_failing_command_fails_alone():
    async def work(r, client):
        await client.set("ap:str", "text")
        return await asyncio.gather(r.execute("SET", "ap:a", "1"), r.execute("LPUSH", "ap:str", "x"),
                                    r.execute("GET", "ap:a"), return_exceptions=True)

    ok, wrong_type, value = run(_with_pipeline(work))
    assert ok == "OK" and value == "1"
    assert isinstance(wrong_type, ResponseError) and "WRONGTYPE" in str(wrong_type)


def test_a_lost_connection_fails_its_batch_and_the_next_batch_reconnects():
    async def work(r, client):
        await r.execute("SET", "ap:b", "1")
        killed = await _client_id(client, r._connection)
        await client.execute_command("CLIENT", "KILL", "ID", killed)
        with pytest.raises(ConnectionError):
            await r.execute("GET", "ap:b")
        return killed, await r.execute("GET", "ap:b"), await _client_id(client, r._connection)

    killed, value, now = run(_with_pipeline(work))
    assert value == "1" and now != killed


async def _client_id(client, connection) -> int:
    """The server's id of `connection`, found by its local port."""
    port = connection._writer.get_extra_info("sockname")[1]
    for entry in await client.client_list():
        if entry["laddr"].endswith(f":{port}") or entry["addr"].endswith(f":{port}"):
            return int(entry["id"])
    raise AssertionError("connection not found in CLIENT LIST")


def test_a_command_sent_without_waiting_lands_in_order_and_its_failure_is_logged(caplog):
    async def work(r, client):
        await client.delete("ap:c")
        await client.set("ap:str", "text")
        r.send("SET", "ap:c", "queued")
        r.send("LPUSH", "ap:str", "x")  # WRONGTYPE: nobody waits for it, so it is logged
        return await r.execute("GET", "ap:c")  # queued after the sends: sees them done

    assert run(_with_pipeline(work)) == "queued"
    [failure] = [rec for rec in caplog.records if rec.getMessage() == "redis command failed"]
    assert failure.command == "LPUSH" and "WRONGTYPE" in failure.error
