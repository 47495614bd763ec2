"""Shared by the Python peers: fixtures, the NOMIS -> FHIR mapping (a port of the parts of
mappings/nomis/*.jq the peers need) and Standard Webhooks signing."""
import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

SYS = "https://fhir.waymark.org.uk"
CLASS = f"{SYS}/CodeSystem/hjmd-data-class"
CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ALERT_CLASS = {"H": "risk-self", "V": "safeguarding", "M": "physical-summary", "R": "risk-others", "T": "risk-others"}
GENDER = {"Male": "male", "Female": "female", "Not Known": "unknown", "Not Specified": "unknown"}
RECIPIENTS = [
    {"id": "hmp-healthcare", "classes": ["identity", "detention", "risk-self", "safeguarding", "physical-summary", "risk-others"]},
    {"id": "probation-yorkshire", "classes": ["identity", "detention", "risk-others", "safeguarding"]},
]


def lines(directory, name):
    return [l for l in Path(directory, name).read_text().split("\n") if l.strip()]


def uuid5(name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def labels(cls, conf):
    return {"security": [{"system": CLASS, "code": cls}, {"system": CONF, "code": conf}]}


def map_event(ev):
    """One fixture event -> a collection Bundle (Patient, Encounter, Flags, Provenance)."""
    p = (ev.get("context") or {}).get("prisoner") or {}
    if not p.get("nomsId") or not p.get("dateOfBirth"):
        raise ValueError("no prisoner")
    pid = uuid5(f"patient|{p['nomsId']}")
    names = [{"use": "official", "family": p.get("lastName"),
              "given": [g for g in (p.get("givenName1"), p.get("givenName2")) if g]}]
    if p.get("requestedName"):
        names.append({"use": "usual", "family": p.get("lastName"), "given": [p["requestedName"]]})
    resources = [{"resourceType": "Patient", "id": pid, "meta": labels("identity", "N"),
                  "identifier": [{"system": f"{SYS}/Id/nomis-prison-number", "value": p["nomsId"]},
                                 {"system": f"{SYS}/Id/nomis-booking-id", "value": str(p.get("bookingId"))}],
                  "name": names, "gender": GENDER.get(p.get("gender"), "unknown"), "birthDate": p["dateOfBirth"]}]
    if p.get("bookingId") and p.get("establishmentCode"):
        resources.append({"resourceType": "Encounter", "id": uuid5(f"encounter|{p['bookingId']}"),
                          "meta": labels("detention", "N"),
                          "status": "in-progress" if str(p.get("communityStatus", "")).startswith("ACTIVE") else "finished",
                          "class": {"system": f"{SYS}/CodeSystem/hjmd-episode-class", "code": "prison", "display": "Prison stay"},
                          "identifier": [{"system": f"{SYS}/Id/nomis-booking-id", "value": str(p["bookingId"])}],
                          "subject": {"reference": f"urn:uuid:{pid}"},
                          "period": {"start": p.get("bookingBeginDate") or p.get("admissionDate")},
                          "location": [{"location": {"identifier": {"system": f"{SYS}/Id/prison-establishment",
                                                                    "value": p["establishmentCode"]}}, "status": "active"}]})
    for a in (ev.get("context") or {}).get("alerts") or []:
        period = {"start": a.get("dateCreated")}
        if a.get("dateExpires"):
            period["end"] = a["dateExpires"]
        resources.append({"resourceType": "Flag", "id": uuid5(f"flag|{a.get('bookingId')}/{a.get('alertId')}"),
                          "meta": labels(ALERT_CLASS.get(a.get("alertType"), "risk-others"), "R"),
                          "identifier": [{"system": f"{SYS}/Id/nomis-alert", "value": f"{a.get('bookingId')}/{a.get('alertId')}"}],
                          "status": "active" if a.get("active") else "inactive",
                          "category": [{"coding": [{"system": f"{SYS}/CodeSystem/nomis-alert-type", "code": a.get("alertType"),
                                                    "display": a.get("alertTypeDescription")}], "text": a.get("alertTypeDescription")}],
                          "code": {"coding": [{"system": f"{SYS}/CodeSystem/nomis-alert-code", "code": a.get("alertCode"),
                                               "display": a.get("alertCodeDescription")}], "text": a.get("alertCodeDescription")},
                          "subject": {"reference": f"urn:uuid:{pid}"}, "period": period})
    provenance = {"resourceType": "Provenance", "id": uuid5(f"provenance|{ev['id']}"),
                  "target": [{"reference": f"urn:uuid:{r['id']}"} for r in resources],
                  "recorded": datetime.now(timezone.utc).isoformat(),
                  "agent": [{"who": {"identifier": {"system": f"{SYS}/Id/source-system", "value": "nomis"}}}],
                  "entity": [{"role": "source", "what": {"identifier": {"system": f"{SYS}/Id/envelope", "value": ev["id"]}}}]}
    if ev.get("eventTime"):
        provenance["occurredDateTime"] = ev["eventTime"]
    resources.append(provenance)
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources]}


def sign(secret, body):
    """Standard Webhooks headers for `body` (bytes) signed with `whsec_<base64>`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg_id = f"msg_{uuid.uuid4()}"
    ts = str(int(time.time()))
    sig = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": f"v1,{sig}",
            "content-type": "application/fhir+json"}


def dumps(value):
    return json.dumps(value, separators=(",", ":")).encode()
