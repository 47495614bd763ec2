"""The Python peer pipeline: aio-pika (quorum queue, persistent, publisher confirms, prefetch)
-> mapping -> fhir.resources validation (R4B models) -> fhirpathpy redaction per recipient ->
asyncpg (one transaction per record, synchronous_commit=on) -> signed webhook POST with httpx
-> ack. Prints {"records_per_s", ...} as its last line. Environment: FIXTURES, AMQP_URL, PG_URL,
WEBHOOK_URL, WEBHOOK_SECRET, QUEUE."""
import asyncio
import json
import os
import time

import aio_pika
import asyncpg
import fhirpathpy
import httpx
from fhir.resources.R4B.bundle import Bundle

from common import RECIPIENTS, dumps, lines, map_event, sign

PREFETCH = 64
RELEASED = fhirpathpy.compile(
    "Bundle.entry.where(resource.meta.security.where(system = "
    "'https://fhir.waymark.org.uk/CodeSystem/hjmd-data-class').code.intersect(%allowed).exists())")


async def main():
    env = os.environ
    events = lines(env["FIXTURES"], "events.jsonl")
    pool = await asyncpg.create_pool(env["PG_URL"], min_size=2, max_size=8,
                                     server_settings={"synchronous_commit": "on"})
    await pool.execute("""CREATE TABLE IF NOT EXISTS entry (message_id text PRIMARY KEY, person text NOT NULL, bundle jsonb NOT NULL);
        CREATE TABLE IF NOT EXISTS person (prison_number text PRIMARY KEY, record jsonb NOT NULL, version int NOT NULL)""")
    http = httpx.AsyncClient(limits=httpx.Limits(max_connections=PREFETCH * 2))
    conn = await aio_pika.connect(env["AMQP_URL"])
    pub = await conn.channel(publisher_confirms=True)
    queue_name = env["QUEUE"]
    await pub.declare_queue(queue_name, durable=True, arguments={"x-queue-type": "quorum"})
    sub = await conn.channel()
    await sub.set_qos(prefetch_count=PREFETCH)
    queue = await sub.get_queue(queue_name)
    state = {"done": 0, "refused": 0, "posted": 0}
    finished = asyncio.get_running_loop().create_future()

    async def handle(ev):
        bundle = map_event(ev)
        Bundle.model_validate(bundle)
        pn = bundle["entry"][0]["resource"]["identifier"][0]["value"]
        async with pool.acquire() as c:
            async with c.transaction():
                await c.execute("INSERT INTO entry VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING",
                                ev["id"], pn, json.dumps(bundle))
                await c.execute("""INSERT INTO person VALUES ($1, $2::jsonb, 1) ON CONFLICT (prison_number)
                    DO UPDATE SET record = person.record || EXCLUDED.record, version = person.version + 1""",
                                pn, json.dumps({ev["id"]: ev.get("eventTime")}))

        async def post(r):
            entry = RELEASED(bundle, {"allowed": r["classes"]})
            body = dumps({"resourceType": "Bundle", "type": "collection", "entry": entry})
            res = await http.post(env["WEBHOOK_URL"], content=body, headers=sign(env["WEBHOOK_SECRET"], body))
            res.raise_for_status()
            state["posted"] += 1

        await asyncio.gather(*(post(r) for r in RECIPIENTS))

    async def on_message(message):
        try:
            await handle(json.loads(message.body))
        except Exception:
            state["refused"] += 1
        await message.ack()
        state["done"] += 1
        if state["done"] == len(events) and not finished.done():
            finished.set_result(None)

    await queue.consume(on_message)
    start = time.perf_counter()
    for i in range(0, len(events), 256):
        await asyncio.gather(*(pub.default_exchange.publish(
            aio_pika.Message(line.encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=queue_name)
            for line in events[i:i + 256]))
    await finished
    secs = time.perf_counter() - start
    await queue.delete(if_unused=False, if_empty=False)
    await conn.close()
    await http.aclose()
    await pool.close()
    print(json.dumps({"records_per_s": len(events) / secs, "records": len(events), "refused": state["refused"],
                      "webhooks_posted": state["posted"], "prefetch": PREFETCH, "pg_pool": 8}))


asyncio.run(main())
