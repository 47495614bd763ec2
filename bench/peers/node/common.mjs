// Shared by the Node.js peers: the fixtures, the NOMIS → FHIR mapping (a port of the parts of
// mappings/nomis/*.jq the peers need) and Standard Webhooks signing.
import { createHmac, randomUUID, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SYS = 'https://fhir.waymark.org.uk';
const CLASS = `${SYS}/CodeSystem/hjmd-data-class`;
const CONF = 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality';
const ALERT_CLASS = { H: 'risk-self', V: 'safeguarding', M: 'physical-summary', R: 'risk-others', T: 'risk-others' };

export function lines(dir, name) {
  return readFileSync(join(dir, name), 'utf8').split('\n').filter((l) => l.trim());
}

/** A deterministic UUID (name-based, SHA-1) like the hub's `wm_uuid`. */
export function uuid5(name) {
  const h = createHash('sha1').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const labels = (cls, conf) => ({ security: [{ system: CLASS, code: cls }, { system: CONF, code: conf }] });
const GENDER = { Male: 'male', Female: 'female', 'Not Known': 'unknown', 'Not Specified': 'unknown' };

/** One fixture event → a collection Bundle (Patient, Encounter, Flags, Provenance). */
export function mapEvent(ev) {
  const p = ev.context?.prisoner;
  if (!p?.nomsId || !p.dateOfBirth) throw new Error('no prisoner');
  const pid = uuid5(`patient|${p.nomsId}`);
  const resources = [];
  const names = [{ use: 'official', family: p.lastName, given: [p.givenName1, p.givenName2].filter(Boolean) }];
  if (p.requestedName) names.push({ use: 'usual', family: p.lastName, given: [p.requestedName] });
  resources.push({ resourceType: 'Patient', id: pid, meta: labels('identity', 'N'),
    identifier: [{ system: `${SYS}/Id/nomis-prison-number`, value: p.nomsId },
      { system: `${SYS}/Id/nomis-booking-id`, value: String(p.bookingId) }],
    name: names, gender: GENDER[p.gender] ?? 'unknown', birthDate: p.dateOfBirth });
  if (p.bookingId && p.establishmentCode) {
    resources.push({ resourceType: 'Encounter', id: uuid5(`encounter|${p.bookingId}`),
      meta: labels('detention', 'N'), status: p.communityStatus?.startsWith('ACTIVE') ? 'in-progress' : 'finished',
      class: { system: `${SYS}/CodeSystem/hjmd-episode-class`, code: 'prison', display: 'Prison stay' },
      identifier: [{ system: `${SYS}/Id/nomis-booking-id`, value: String(p.bookingId) }],
      subject: { reference: `urn:uuid:${pid}` },
      period: { start: p.bookingBeginDate ?? p.admissionDate },
      location: [{ location: { identifier: { system: `${SYS}/Id/prison-establishment`, value: p.establishmentCode } }, status: 'active' }] });
  }
  for (const a of ev.context?.alerts ?? []) {
    const period = { start: a.dateCreated };
    if (a.dateExpires) period.end = a.dateExpires;
    resources.push({ resourceType: 'Flag', id: uuid5(`flag|${a.bookingId}/${a.alertId}`),
      meta: labels(ALERT_CLASS[a.alertType] ?? 'risk-others', 'R'),
      identifier: [{ system: `${SYS}/Id/nomis-alert`, value: `${a.bookingId}/${a.alertId}` }],
      status: a.active ? 'active' : 'inactive',
      category: [{ coding: [{ system: `${SYS}/CodeSystem/nomis-alert-type`, code: a.alertType, display: a.alertTypeDescription }], text: a.alertTypeDescription }],
      code: { coding: [{ system: `${SYS}/CodeSystem/nomis-alert-code`, code: a.alertCode, display: a.alertCodeDescription }], text: a.alertCodeDescription },
      subject: { reference: `urn:uuid:${pid}` }, period });
  }
  resources.push({ resourceType: 'Provenance', id: uuid5(`provenance|${ev.id}`),
    target: resources.map((r) => ({ reference: `urn:uuid:${r.id}` })),
    recorded: new Date().toISOString(), occurredDateTime: ev.eventTime ?? undefined,
    agent: [{ who: { identifier: { system: `${SYS}/Id/source-system`, value: 'nomis' } } }],
    entity: [{ role: 'source', what: { identifier: { system: `${SYS}/Id/envelope`, value: ev.id } } }] });
  return { resourceType: 'Bundle', type: 'collection',
    entry: resources.map((r) => ({ fullUrl: `urn:uuid:${r.id}`, resource: r })) };
}

/** The two recipients of the hub's demo and the data classes the role policy grants each. */
export const RECIPIENTS = [
  { id: 'hmp-healthcare', classes: ['identity', 'detention', 'risk-self', 'safeguarding', 'physical-summary', 'risk-others'] },
  { id: 'probation-yorkshire', classes: ['identity', 'detention', 'risk-others', 'safeguarding'] },
];

/** Standard Webhooks headers for `body` signed with `whsec_<base64>`. */
export function sign(secret, body) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const id = `msg_${randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000).toString();
  const sig = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': `v1,${sig}`,
    'content-type': 'application/fhir+json' };
}
