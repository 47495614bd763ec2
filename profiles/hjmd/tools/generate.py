#!/usr/bin/env python3
"""Writes the HJMD FHIR package JSON (profiles/hjmd/*.json) from items.py and terminology.py.

Run from anywhere: `python3 profiles/hjmd/tools/generate.py`. The JSON is committed; the
validator reads the JSON, never this script. role-policy.json is not touched. topics.json (the
event topics of dataset.md section 4, read by waymark-record) is not a FHIR resource and not part
of the package's profiles.
"""
import json
import pathlib

from items import GROUPS, ITEMS
from terminology import B, CODE_SYSTEMS, VALUE_SETS

OUT = pathlib.Path(__file__).resolve().parent.parent
VERSION = "0.1.0"
UKCORE = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
CORE = "http://hl7.org/fhir/StructureDefinition/"
LABELS = B + "StructureDefinition/hjmd-labels"
AS_OF = B + "StructureDefinition/hjmd-as-of"
ITEM_CS = B + "CodeSystem/hjmd-item"
# files in profiles/hjmd/ that are edited by hand, never written or deleted here
HAND_WRITTEN = {"role-policy.json", "derived-alerts.json"}
INTERPRETER = "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSCommunication"

# data class -> (minimum confidentiality, required HL7 sensitivity codes)
CLASS_LABELS = {
    "identity": ("N", []), "identity-clinical": ("R", []), "contact": ("N", []),
    "safeguarding": ("N", []), "physical-summary": ("N", []), "physical-clinical": ("R", []),
    "mh-summary": ("R", []), "mh-clinical": ("V", ["PSY"]), "risk-self": ("N", []),
    "substance": ("R", ["ETH"]), "medication": ("R", []), "risk-others": ("N", []),
    "agencies": ("N", []), "detention": ("N", []), "consent": ("N", []),
}


def write(name, resource):
    (OUT / name).write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n")


def vs(id_):
    return B + "ValueSet/" + id_


def labels_ext(data_class, inline=None):
    conf, sens = CLASS_LABELS[data_class]
    ext = [{"url": "dataClass", "valueCode": data_class}, {"url": "confidentiality", "valueCode": conf}]
    ext += [{"url": "sensitivity", "valueCode": s} for s in sens]
    return {"url": LABELS, "extension": ext}


def el(path, min_=None, max_=None, *, id_=None, as_of=False, label=None, **kw):
    e = {"id": id_ or path, "path": path}
    if min_ is not None:
        e["min"] = min_
    if max_ is not None:
        e["max"] = max_
    if as_of:
        e.setdefault("extension", []).append({"url": AS_OF, "valueBoolean": True})
    if label:
        e.setdefault("extension", []).append(labels_ext(label))
    e.update(kw)
    return e


def bind(strength, vs_id, description):
    return {"strength": strength, "valueSet": vs(vs_id), "description": description}


def sd(id_, rtype, base, title, description, data_class, elements, select=None):
    res = {
        "resourceType": "StructureDefinition", "id": id_, "url": B + "StructureDefinition/" + id_,
        "version": VERSION, "name": "".join(p.capitalize() for p in id_.split("-")), "title": title,
        "status": "draft", "publisher": "Waymark", "description": description, "fhirVersion": "4.0.1",
        "kind": "resource", "abstract": False, "type": rtype, "baseDefinition": base,
        "derivation": "constraint", "differential": {"element": [el(rtype)] + elements},
    }
    if data_class:
        res["extension"] = [labels_ext(data_class)]
    PROFILES.append((id_, rtype, data_class, select))
    write(f"StructureDefinition-{id_}.json", res)


PROFILES = []


def status_el(rtype, vs_id):
    return el(f"{rtype}.status", 1, "1", binding=bind("required", vs_id, "FHIR status codes"))


def subject_el(rtype, name="subject"):
    return el(f"{rtype}.{name}", 1, "1", type=[{"code": "Reference", "targetProfile": [B + "StructureDefinition/hjmd-patient"]}])


def obs_profile(code, display, group, vs_id, source):
    data_class = GROUPS[group][0]
    value = el("Observation.value[x]", 0, "1", type=[{"code": "string" if vs_id == "string" else "CodeableConcept"}])
    if vs_id != "string":
        value["binding"] = bind("required", vs_id, "The item's answers")
    sd(f"hjmd-obs-{code}", "Observation", CORE + "Observation", display,
       f"HJMD item '{display}' ({GROUPS[group][1]}). Source {source}. Data class `{data_class}`.",
       data_class, [
           status_el("Observation", "hjmd-observation-status"),
           el("Observation.code", 1, "1", patternCodeableConcept={"coding": [{"system": ITEM_CS, "code": code}]}),
           subject_el("Observation"),
           el("Observation.effective[x]", 1, "1", as_of=True, short="As of: when the answer was true"),
           value,
           el("Observation.note", 0, "*", short="Details (short free text)"),
       ], select={"resourceType": "Observation", "where": {"path": "code.coding.code", "code": code}})


def flag_profile(id_, data_class, title):
    sd(id_, "Flag", CORE + "Flag", title,
       f"An alert of data class `{data_class}` (e.g. a NOMIS alert mapped by ConceptMap nomis-alert-type-to-data-class). Flag.code carries the source's alert code; a derived alert carries plain-language text only.",
       data_class, [status_el("Flag", "hjmd-flag-status"), el("Flag.code", 1, "1"), subject_el("Flag"), el("Flag.period", 0, "1")],
       select={"resourceType": "Flag", "dataClass": data_class})


def code_systems():
    items = [{"code": c, "display": d, "definition": f"{d} ({GROUPS[g][1]}; source {src}).",
              "property": [{"code": "group", "valueString": g}, {"code": "profile", "valueString": p if p != "obs" else f"hjmd-obs-{c}"},
                           {"code": "path", "valueString": path}] + ([{"code": "valueSet", "valueString": v}] if v else [])
                           + ([{"code": "dataClass", "valueString": item_class(c, g)}] if item_class(c, g) else [])}
             for c, d, g, p, path, v, src in ITEMS]
    systems = dict(CODE_SYSTEMS)
    for id_, (title, desc, concepts) in systems.items():
        concept = [{"code": c, "display": d} for c, d in concepts]
        write(f"CodeSystem-{id_}.json", cs(id_, title, desc, concept))
    write("CodeSystem-hjmd-item.json", cs("hjmd-item", "HJMD item", "Every item of the Health & Justice Minimum Dataset (dataset.md section 1), with its group, profile, FHIR path and value set.", items, [
        {"code": p, "type": "string"} for p in ["group", "profile", "path", "valueSet", "dataClass"]]))
    for id_, (title, desc, include) in VALUE_SETS.items():
        write(f"ValueSet-{id_}.json", {"resourceType": "ValueSet", "id": id_, "url": vs(id_), "version": VERSION,
                                        "name": "".join(p.capitalize() for p in id_.split("-")), "title": title,
                                        "status": "draft", "description": desc, "compose": {"include": include}})


def item_class(code, group):
    return {"local-clinical-id": "identity-clinical", "hospital-discharge": "physical-clinical"}.get(code, GROUPS[group][0])


def cs(id_, title, desc, concept, props=None):
    res = {"resourceType": "CodeSystem", "id": id_, "url": B + "CodeSystem/" + id_, "version": VERSION,
           "name": "".join(p.capitalize() for p in id_.split("-")), "title": title, "status": "draft",
           "description": desc, "caseSensitive": True, "content": "complete", "concept": concept}
    if props:
        res["property"] = props
    return res


def naming_systems():
    checks = [("nhs-number", "https://fhir.nhs.uk/Id/nhs-number", "nhs-number", "NHS number (10 digits, modulus 11)"),
              ("pnc-id", B + "Id/pnc-id", "pnc-id", "PNC ID (YYYY/NNNNNNNA or YY/NNNNNNNA, mod-23 check letter)"),
              ("cro-number", B + "Id/cro-number", "cro-number", "CRO number (NNNNNN/YYL, mod-23 check letter)"),
              ("nomis-prison-number", B + "Id/nomis-prison-number", "prison-number", "NOMIS prison number ([A-Z][0-9]{4}[A-Z]{2})"),
              ("nomis-booking-id", B + "Id/nomis-booking-id", "digits", "NOMIS booking id (digits)"),
              ("custody-record-number", B + "Id/custody-record-number", None, "Custody record number (force-specific format, not checked)"),
              ("local-clinical-id", B + "Id/local-clinical-id", None, "Local clinical id (trust-specific, e.g. ePEX; data class identity-clinical)")]
    for id_, uri, check, desc in checks:
        res = {"resourceType": "NamingSystem", "id": id_, "name": id_.replace("-", "_"), "status": "draft",
               "kind": "identifier", "date": "2026-11-21", "description": desc, "uniqueId": [{"type": "uri", "value": uri, "preferred": True}]}
        if check:
            res["extension"] = [{"url": B + "StructureDefinition/hjmd-identifier-check", "valueCode": check}]
        write(f"NamingSystem-{id_}.json", res)


def profiles():
    P, E = "Patient", "Encounter"
    sd("hjmd-bundle", "Bundle", CORE + "Bundle", "HJMD canonical bundle",
       "The map stage's output: a collection about one person, tagged with the source event.", None, [
           el("Bundle.type", 1, "1", fixedCode="collection"),
           el("Bundle.meta.tag", 1, "*", binding=bind("extensible", "hjmd-source-event", "What the source said happened")),
           el("Bundle.entry", 1, "*")], select={"resourceType": "Bundle"})
    sd("hjmd-patient", P, UKCORE + "Patient", "HJMD person (identity and contact)",
       "Identity: names and aliases (HumanName use `old`; `nickname` for known-as), date of birth, sex, the justice identifiers (NHS number, PNC ID, CRO number, NOMIS prison number, custody record / booking numbers) and local clinical ids (inline label identity-clinical); contact: addresses, language and interpreter (UK Core). UK Core constraints relied on: NHS number system https://fhir.nhs.uk/Id/nhs-number; interpreter required in Extension-UKCore-NHSCommunication.",
       "identity", [
           el(f"{P}.identifier", 1, "*", short="Justice and NHS identifiers; formats checked by NamingSystem"),
           el(f"{P}.identifier.system", 1, "1"), el(f"{P}.identifier.value", 1, "1"),
           el(f"{P}.name", 1, "*", short="Names and aliases (many)"),
           el(f"{P}.name.use", 1, "1", binding=bind("required", "hjmd-name-use", "official, usual, old (alias), nickname (known-as)")),
           el(f"{P}.gender", 0, "1", binding=bind("required", "hjmd-administrative-gender", "Sex")),
           el(f"{P}.birthDate", 0, "1"),
           el(f"{P}.address", 0, "*", label="contact", short="Last known (home) and directed (temp) address"),
           el(f"{P}.communication", 0, "*", label="contact", short="Language spoken"),
           el(f"{P}.extension:interpreterRequired", 0, "1", id_=f"{P}.extension:interpreterRequired", sliceName="interpreterRequired",
              type=[{"code": "Extension", "profile": [INTERPRETER]}], label="contact", short="Interpreter needed (UK Core)")],
       select={"resourceType": P})
    for id_, cls, title in [("hjmd-related-person", "contact", "Family / preferred contact"),
                            ("hjmd-appropriate-adult-person", "safeguarding", "Appropriate adult (significant other)")]:
        sd(id_, "RelatedPerson", UKCORE + "RelatedPerson", title, f"{title}; data class `{cls}`.", cls, [
            subject_el("RelatedPerson", "patient"), el("RelatedPerson.name", 1, "*"), el("RelatedPerson.telecom", 0, "*"),
            el("RelatedPerson.relationship", 0, "*", binding=bind("extensible", "hjmd-relationship", "Relationship"))],
           select={"resourceType": "RelatedPerson", "dataClass": cls})
    for id_, cls, title in [("hjmd-health-contact", "contact", "Main health professional contact"),
                            ("hjmd-agency-contact", "agencies", "Named agency worker")]:
        sd(id_, "PractitionerRole", UKCORE + "PractitionerRole", title, f"{title}; data class `{cls}`.", cls, [
            el("PractitionerRole.telecom", 1, "*")], select={"resourceType": "PractitionerRole", "dataClass": cls})
    for id_, cls, title in [("hjmd-safeguarding-flag", "safeguarding", "Safeguarding alert (appropriate adult, vulnerability)"),
                            ("hjmd-physical-flag", "physical-summary", "Physical health alert"),
                            ("hjmd-risk-self-flag", "risk-self", "Self-harm / suicide risk alert"),
                            ("hjmd-substance-flag", "substance", "Substance misuse alert"),
                            ("hjmd-risk-others-flag", "risk-others", "Violence / public protection alert")]:
        flag_profile(id_, cls, title)
    for id_, cls, title in [("hjmd-ae-attendance", "physical-summary", "A&E attendance"),
                            ("hjmd-hospital-discharge", "physical-clinical", "Hospital discharge (e.g. after overdose)")]:
        sd(id_, E, UKCORE + "Encounter", title, f"{title} [000:951-964]; data class `{cls}`.", cls, [
            status_el(E, "hjmd-encounter-status"), subject_el(E), el(f"{E}.period", 1, "1", as_of=True)],
           select={"resourceType": E, "dataClass": cls})
    episode = lambda kind: el(f"{E}.class", 1, "1", patternCoding={"system": B + "CodeSystem/hjmd-episode-class", "code": kind})
    sd("hjmd-custody-episode", E, UKCORE + "Encounter", "Police custody episode",
       "Arrival time (period.start), custody suite (location), reason for arrest / interview (reasonCode, text), release time (period.end). Fit decisions and risk assessment answers are Observations.",
       "detention", [status_el(E, "hjmd-encounter-status"), episode("custody"), subject_el(E), el(f"{E}.period.start", 1, "1"),
                     el(f"{E}.location", 1, "*"), el(f"{E}.reasonCode", 0, "*")],
       select={"resourceType": E, "where": {"path": "class.code", "code": "custody"}})
    sd("hjmd-prison-episode", E, UKCORE + "Encounter", "Prison episode",
       "Reception date (period.start), establishment (location, active), transfers (earlier locations, completed), legal status (type), expected release date and destination (extensions), release (period.end, status finished).",
       "detention", [status_el(E, "hjmd-encounter-status"), episode("prison"), subject_el(E),
                     el(f"{E}.type", 0, "*", binding=bind("extensible", "hjmd-legal-status", "Legal status")),
                     el(f"{E}.location.location.identifier.system", 0, "1", fixedUri=B + "Id/prison-establishment"),
                     el(f"{E}.extension:expectedReleaseDate", 0, "1", sliceName="expectedReleaseDate",
                        type=[{"code": "Extension", "profile": [B + "StructureDefinition/expected-release-date"]}]),
                     el(f"{E}.extension:releaseDestination", 0, "1", sliceName="releaseDestination",
                        type=[{"code": "Extension", "profile": [B + "StructureDefinition/expected-release-destination"]}])],
       select={"resourceType": E, "where": {"path": "class.code", "code": "prison"}})
    sd("hjmd-mh-diagnosis", "Condition", UKCORE + "Condition", "Mental health diagnosis",
       "Primary or secondary mental health diagnosis (category), coded from the nine MAIS values or `other` with the diagnosis in code.text [001:3841-3879].",
       "mh-clinical", [el("Condition.category", 1, "1", binding=bind("required", "hjmd-diagnosis-rank", "Primary or secondary")),
                       el("Condition.code", 1, "1", binding=bind("required", "hjmd-mh-diagnosis", "The diagnosis")),
                       subject_el("Condition"), el("Condition.recordedDate", 1, "1", as_of=True)],
       select={"resourceType": "Condition", "dataClass": "mh-clinical"})
    sd("hjmd-medication-statement", "MedicationStatement", UKCORE + "MedicationStatement", "Medication (with as-of date)",
       "Medication on the day of release or current medication: class (category), details (medication text / dosage), and the date the list was true on (dateAsserted, required) [001:3924-3946].",
       "medication", [status_el("MedicationStatement", "hjmd-medication-statement-status"),
                      el("MedicationStatement.category", 1, "1", binding=bind("required", "hjmd-medication-class", "Medication class")),
                      el("MedicationStatement.medication[x]", 1, "1"), subject_el("MedicationStatement"),
                      el("MedicationStatement.dateAsserted", 1, "1", as_of=True)],
       select={"resourceType": "MedicationStatement"})
    for id_, cls, title in [("hjmd-mh-care-team", "mh-summary", "Mental health services (care co-ordinator, CPA)"),
                            ("hjmd-agency-team", "agencies", "Agencies involved")]:
        role = el("CareTeam.participant.role", 1, "*", binding=bind("required", "hjmd-agency-type", "Agency type")) if cls == "agencies" else el("CareTeam.participant.role", 0, "*")
        sd(id_, "CareTeam", CORE + "CareTeam", title, f"{title}; data class `{cls}`.", cls, [
            subject_el("CareTeam"), el("CareTeam.participant", 1, "*"), role], select={"resourceType": "CareTeam", "dataClass": cls})
    sd("hjmd-agency-organization", "Organization", UKCORE + "Organization", "Agency details",
       "Agency name, address, telephone, out-of-hours contact (contact with purpose out-of-hours) [001:4088-4094].", "agencies", [
           el("Organization.name", 1, "1"), el("Organization.contact.purpose", 0, "1", binding=bind("extensible", "hjmd-contact-purpose", "Out of hours"))],
       select={"resourceType": "Organization"})
    sd("hjmd-consent", "Consent", CORE + "Consent", "Consent or refusal",
       "To whom (provision.actor), which data classes (provision.securityLabel), purpose, period; withdrawal is status `inactive` (dataset.md section 3).", "consent", [
           el("Consent.status", 1, "1", binding=bind("required", "hjmd-consent-state", "Consent state")),
           el("Consent.patient", 1, "1"), el("Consent.dateTime", 1, "1", as_of=True), el("Consent.provision", 1, "1"),
           el("Consent.provision.type", 1, "1", binding=bind("required", "hjmd-consent-provision-type", "permit or deny")),
           el("Consent.provision.securityLabel", 0, "*", binding=bind("required", "hjmd-data-class", "Data classes"))],
       select={"resourceType": "Consent"})
    sd("hjmd-provenance", "Provenance", CORE + "Provenance", "Provenance",
       "Source system (agent.who.identifier), source event time (occurredDateTime), envelope (entity), mapping (policy).", None, [
           el("Provenance.agent", 1, "*"), el("Provenance.agent.who", 1, "1"), el("Provenance.entity", 1, "*"),
           el("Provenance.policy", 1, "*")], select={"resourceType": "Provenance"})
    sd("hjmd-custody-risk-assessment", "Observation", CORE + "Observation", "Custody risk assessment answer",
       "One answer of the custody risk assessment (question in code.text, answer in value).", "detention", [
           status_el("Observation", "hjmd-observation-status"), el("Observation.code", 1, "1"), subject_el("Observation"),
           el("Observation.effective[x]", 1, "1", as_of=True)], select={"resourceType": "Observation", "dataClass": "detention"})
    sd("hjmd-observation", "Observation", CORE + "Observation", "HJMD observation (any item)",
       "Every HJMD observation: status, item code, subject, as-of date (effective), details (note). Applies when no item profile does.", None, [
           status_el("Observation", "hjmd-observation-status"), el("Observation.code", 1, "1"), subject_el("Observation"),
           el("Observation.effective[x]", 1, "1", as_of=True), el("Observation.note", 0, "*")], select={"resourceType": "Observation"})
    for c, d, g, p, _path, v, src in ITEMS:
        if p == "obs":
            obs_profile(c, d, g, v, src)


def extensions():
    for id_, title, ty in [("expected-release-date", "Expected release date", "date"),
                           ("expected-release-destination", "Expected release destination", "string")]:
        write(f"StructureDefinition-{id_}.json", {
            "resourceType": "StructureDefinition", "id": id_, "url": B + "StructureDefinition/" + id_, "version": VERSION,
            "name": "".join(p.capitalize() for p in id_.split("-")), "title": title, "status": "draft",
            "description": f"{title} of a prison episode [000:1293-1295] (local extension).", "fhirVersion": "4.0.1",
            "kind": "complex-type", "abstract": False, "context": [{"type": "element", "expression": "Encounter"}],
            "type": "Extension", "baseDefinition": CORE + "Extension", "derivation": "constraint",
            "differential": {"element": [el("Extension"), el("Extension.url", fixedUri=B + "StructureDefinition/" + id_),
                                         el("Extension.value[x]", 1, "1", type=[{"code": ty}])]}})


def concept_maps():
    pairs = [("REMAND", "remand", "equivalent"), ("SENTENCED", "sentenced", "equivalent"), ("RECALL", "sentenced", "wider"),
             ("INDETERMINATE_SENTENCE", "sentenced", "wider"), ("CONVICTED_UNSENTENCED", "remand", "wider")]
    write("ConceptMap-nomis-legal-status-to-hjmd.json", {
        "resourceType": "ConceptMap", "id": "nomis-legal-status-to-hjmd", "url": B + "ConceptMap/nomis-legal-status-to-hjmd",
        "version": VERSION, "name": "NomisLegalStatusToHjmd", "status": "draft",
        "description": "NOMIS legal status to the HJMD remand / sentenced distinction; other statuses are unmapped.",
        "sourceUri": vs("hjmd-legal-status"), "targetUri": vs("hjmd-legal-status"),
        "group": [{"source": B + "CodeSystem/nomis-legal-status", "target": B + "CodeSystem/hjmd-legal-status",
                   "element": [{"code": s, "target": [{"code": t, "equivalence": e}]} for s, t, e in pairs]}]})


# --- topics (dataset.md section 4): topics.json, read by waymark-record -------------------------
TOPIC_BASE = B + "SubscriptionTopic/"
EPISODE_CLASS = "class.code"
ERD_URL = B + "StructureDefinition/expected-release-date"
DEST_URL = B + "StructureDefinition/expected-release-destination"
IN_PRISON = ["arrived", "in-progress"]


def trigger(change, **kw):
    """One trigger rule: the keys are the topics.json field names (see TOPICS_HOW_TO_READ)."""
    t = {"change": change}
    t.update(kw)
    return t


def episode(kind):
    return [{"path": EPISODE_CLASS, "in": [kind]}]


RISK_CLASSES = ["risk-self", "risk-others"]
# code -> (title, raised when, typical subscribers, triggers); order as dataset.md section 4
TOPICS = [
    ("custody.arrival", "Arrival in police custody", "A person known to the hub arrives in police custody.",
     ["custody healthcare", "liaison and diversion"], [
         trigger(["added"], resourceType=["Encounter"], where=episode("custody"), field="status", to=IN_PRISON),
         trigger(["changed"], resourceType=["Encounter"], where=episode("custody"), field="status", **{"from": ["planned"]}, to=IN_PRISON)]),
    ("custody.fit-decision", "Fit decision", "A fit to detain / interview / release decision is recorded.",
     ["liaison and diversion", "custody healthcare"], [
         trigger(["added", "changed"], item=["fit-to-detain", "fit-to-interview", "fit-to-release"])]),
    ("custody.release", "Release from police custody", "The person is released from police custody.",
     ["liaison and diversion", "GP (with consent)"], [
         trigger(["added", "changed", "ended"], resourceType=["Encounter"], where=episode("custody"), field="status", to=["finished"])]),
    ("court.warning", "Court warning", "A court raises a self-harm / mental health warning (a risk Flag the source tags as a court warning).",
     ["prison reception", "prison healthcare"], [
         trigger(["added", "changed"], resourceType=["Flag"], dataClass=["risk-self", "mh-summary", "mh-clinical", "safeguarding"],
                 where=[{"path": "status", "in": ["active"]}], sourceEvent=["court.warning"])]),
    ("prison.reception", "Prison reception", "The person is received into prison (a prison episode becomes known in progress, or re-opens).",
     ["prison healthcare", "probation"], [
         trigger(["added"], resourceType=["Encounter"], where=episode("prison"), field="status", to=IN_PRISON),
         trigger(["changed"], resourceType=["Encounter"], where=episode("prison"), field="status",
                 **{"from": ["planned", "finished", "cancelled"]}, to=IN_PRISON)]),
    ("prison.transfer", "Prison transfer", "The person is transferred between establishments (the active establishment of a prison episode changes).",
     ["receiving prison healthcare"], [
         trigger(["changed"], resourceType=["Encounter"], where=episode("prison") + [{"path": "status", "in": IN_PRISON}],
                 field="location[status=active].location.identifier.value"),
         trigger(["added"], resourceType=["Encounter"], where=episode("prison") + [{"path": "status", "in": IN_PRISON}],
                 sourceEvent=["prison.transfer"])]),
    ("prison.release-planned", "Release planned", "An expected release date or release destination becomes known or changes.",
     ["RECONNECT", "community mental health", "GP"], [
         trigger(["added", "changed"], item=["expected-release-date"], field=f"extension[url={ERD_URL}].valueDate"),
         trigger(["added", "changed"], item=["release-destination"], field=f"extension[url={DEST_URL}].valueString")]),
    ("prison.release", "Prison release", "The person is released from prison (a prison episode finishes).",
     ["probation", "community services", "GP (with consent)"], [
         trigger(["added", "changed", "ended"], resourceType=["Encounter"], where=episode("prison"), field="status", to=["finished"])]),
    ("risk.flag-raised", "Risk flag raised", "A self-harm, suicide or violence marker is added (or made active again).",
     ["custody", "prison"], [
         trigger(["added", "changed"], resourceType=["Flag"], dataClass=RISK_CLASSES, field="status", to=["active"])]),
    ("risk.flag-ended", "Risk flag ended", "A self-harm, suicide or violence marker is reviewed off (made inactive or entered in error).",
     ["custody", "prison"], [
         trigger(["ended"], resourceType=["Flag"], dataClass=RISK_CLASSES)]),
    ("medication.opiate-substitution", "Opiate substitution therapy", "Opiate substitution therapy is started or changed.",
     ["custody healthcare", "prison healthcare"], [
         trigger(["added", "changed"], item=["ost-current"], field="valueCodeableConcept.coding.code", to=["Y"]),
         trigger(["added", "changed", "ended"], resourceType=["MedicationStatement"],
                 where=[{"path": "category.coding.code", "in": ["opiate-substitution"]}])]),
    ("health.discharge-after-overdose", "Discharge after overdose", "A hospital discharge following an overdose (SNOMED CT 55680006 |Drug overdose| or 'overdose' in the reason text).",
     ["custody healthcare"], [
         trigger(["added", "changed", "ended"], resourceType=["Encounter"], dataClass=["physical-clinical"],
                 where=[{"path": "reasonCode.coding.code", "in": ["55680006"]}], field="status", to=["finished"]),
         trigger(["added", "changed", "ended"], resourceType=["Encounter"], dataClass=["physical-clinical"],
                 where=[{"path": "reasonCode.text", "contains": "overdose"}], field="status", to=["finished"])]),
    ("record.updated", "Record updated", "Any change to a person's dataset (an item added, changed or ended; a repeat of what the record holds is not a change).",
     ["pull-based subscribers"], [trigger(["added", "changed", "ended"])]),
    ("consent.changed", "Consent changed", "Consent given, narrowed or withdrawn.",
     ["every past recipient of that person"], []),
]

TOPICS_HOW_TO_READ = [
    "One entry per topic of dataset.md section 4 (ops.feed-quiet is raised by the feed-health board, not from a record change). 'url' is the topic's canonical URL (R4 Subscriptions Backport: topics are canonical URLs).",
    "A topic fires for a change to the person record when any of its 'triggers' matches one changed item; one event per topic per message, naming every matching item. A repeat of what the record already holds (same value, newer message) never fires.",
    "Trigger fields, all optional but 'change', all of which must hold: 'change' (added: first known from that source; changed: a different value; ended: was live, now inactive / finished / stopped / cleared), 'item' (item key names: an HJMD item code such as fit-to-detain, or a kind such as prison-episode, flag, medication), 'resourceType', 'dataClass' (the item's data-class label), 'sourceEvent' (the bundle's hjmd-source-event tag: a hint, never enough alone), 'where' (conditions on the new value: every condition's dotted 'path' has a value 'in' the list, or a text that 'contains' the string, case-insensitive).",
    "'field' (a dotted path): the values at that path must differ before and after the change and be present after (so 'known or changed', never 'cleared'); 'from' / 'to' further require a value before / after in the list. A path segment 'name[key=value]' keeps only the array items whose 'key' is 'value'.",
    "'raisedElsewhere' names the component that raises a topic with no triggers (consent.changed: the consent path of the release stage).",
]


def topics():
    out = []
    for code, title, when, subscribers, triggers in TOPICS:
        topic = {"code": code, "url": TOPIC_BASE + code.replace(".", "-"), "title": title, "description": when,
                 "subscribers": subscribers, "triggers": triggers}
        if code == "consent.changed":
            topic["raisedElsewhere"] = "the consent path (waymark-store put_consent / withdraw_consent, raised by the release stage)"
        out.append(topic)
    write("topics.json", {"version": 1, "name": "hjmd-topics",
                          "source": "shared/design/dataset.md section 4 (events)", "how-to-read": TOPICS_HOW_TO_READ,
                          "topics": out})


def main():
    for old in OUT.glob("*-*.json"):
        if old.name not in HAND_WRITTEN:
            old.unlink()
    code_systems()
    naming_systems()
    profiles()
    extensions()
    concept_maps()
    topics()
    write("selection.json", {"version": 1, "how-to-read": "Which profile applies to a resource without meta.profile: the first rule whose resourceType, dataClass (the resource's data-class label) and where (a dotted path having that code) all match.",
                             "rules": [dict(profile=B + "StructureDefinition/" + p, **s) for p, _t, _c, s in sorted(PROFILES, key=rule_order) if s]})
    write("package.json", {"name": "uk.waymark.hjmd", "version": VERSION, "fhirVersions": ["4.0.1"], "type": "fhir.ig",
                           "canonical": B.rstrip("/"), "title": "Health & Justice Minimum Dataset",
                           "description": "FHIR R4 profiles, value sets and security labels of the Waymark Health & Justice Minimum Dataset.",
                           "author": "Waymark", "license": "Apache-2.0",
                           "dependencies": {"hl7.fhir.r4.core": "4.0.1", "fhir.r4.ukcore.stu3.currentbuild": "0.0.x"}})


def rule_order(p):
    sel = p[3] or {}
    return (0 if "where" in sel else 1 if "dataClass" in sel else 2, p[0])


if __name__ == "__main__":
    main()
