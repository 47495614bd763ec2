# waymark-mapping: 1
# source: excelicare
# message-types: RAS^O17
# version: 1.0.0
# profile: hjmd-bundle
#
# Medication given in custody (RAS^O17 pharmacy administration, HL7 v2.5.1; `.message` is the
# HL7 tree) becomes one bundle:
#   - Patient (identity, N): as excelicare/adt-registration
#   - one MedicationStatement (medication, R) per RXA: the drug (RXA-5, ExceliCare drug code and
#     name), its class (ConceptMap excelicare-drug-to-medication-class; unlisted drugs `other`),
#     when given (RXA-3), the dose (RXA-6/RXA-7) and route (RXR-1); RXA-20 CP/PA completed,
#     RE/NA not-taken
#   - Bundle.meta.tag hjmd-source-event: medication.opiate-substitution when an opiate
#     substitute was given, else record.updated
# ORC and ZCU are not carried. The runner adds the Provenance.

def id_system($name): "https://fhir.waymark.org.uk/Id/" + $name;
def code_system($name): "https://fhir.waymark.org.uk/CodeSystem/" + $name;

# Quarantine what the adapter flagged (its error code is a fixed vocabulary, checked here).
def refuse_flawed:
  if .context.error == null then .
  else (.context.error.code
        | if type == "string" and test("^[a-z][a-z0-9.-]*$") then . else "unrecognised" end
        | error("the adapter kept this message for review: " + .))
  end;

# The HL7 tree of the message (the map stage parses the ER7 payload into it).
def hl7:
  .message
  | if type == "object" and (.segments | type) == "array" then .
    else error("the message is not an HL7 v2 tree") end;

def gender:
  {"M": "male", "F": "female", "O": "other", "U": "unknown"}[. // "U"] // "unknown";

# HL7 table 0200 name type to FHIR name use: legal, alias, nickname, maiden.
def name_use:
  {"L": "official", "A": "old", "N": "nickname", "M": "old", "D": "usual"}[. // "L"] // "usual";

# PID-3 repetitions with a usable identifier: the local record number (PI or MR) and a valid
# NHS number (NH). An NHS number failing its check is left out, never passed on.
def identifiers:
  [ range(1; wm_hl7_count("PID-3") + 1) as $i
    | {value: wm_hl7("PID-3[\($i)].1"), type: wm_hl7("PID-3[\($i)].5")}
    | if .type == "NH" then
        (.value | wm_nhs_number) as $nhs
        | if $nhs == null then empty
          else {system: id_system("nhs-number"), value: $nhs} end
      elif (.type == "PI" or .type == "MR") and .value != null then
        {system: id_system("excelicare-local-id"), value: .value}
      else empty end ];

def names:
  [ range(1; wm_hl7_count("PID-5") + 1) as $i
    | { use: (wm_hl7("PID-5[\($i)].7") | name_use),
        family: wm_hl7("PID-5[\($i)].1"),
        given: [wm_hl7("PID-5[\($i)].2"), wm_hl7("PID-5[\($i)].3")] | map(select(. != null)) }
    | select(.family != null or (.given | length) > 0) ];

# The ExceliCare record number (PID-3 type PI or MR): what the Patient id is derived from.
def local_id:
  [ range(1; wm_hl7_count("PID-3") + 1) as $i
    | select(wm_hl7("PID-3[\($i)].5") == "PI" or wm_hl7("PID-3[\($i)].5") == "MR")
    | wm_hl7("PID-3[\($i)].1") | select(. != null) ]
  | first // error("PID-3 holds no ExceliCare record number (type PI or MR)");

def patient_id: wm_uuid(["excelicare", "patient", local_id]);

# The Patient every ExceliCare bundle opens with (same id for every message about the record).
def patient:
  identifiers as $ids
  | names as $names
  | if ($names | length) == 0 then error("PID-5 holds no name") else . end
  | { resourceType: "Patient",
      id: patient_id,
      meta: {security: wm_security("identity"; "N")},
      identifier: $ids,
      name: $names,
      gender: (wm_hl7("PID-8") | gender),
      birthDate: (wm_hl7("PID-7") | if . == null then null else wm_hl7_date end),
      address: [ { use: "home",
                   line: [wm_hl7("PID-11.1"), wm_hl7("PID-11.2")],
                   city: wm_hl7("PID-11.3"),
                   postalCode: wm_hl7("PID-11.5"),
                   country: wm_hl7("PID-11.6") } ] };

def bundle($event; $entries):
  { resourceType: "Bundle",
    type: "collection",
    meta: {tag: [{system: code_system("hjmd-source-event"), code: $event}]},
    entry: $entries | map(wm_compact | wm_entry) };

def admin_status:
  {"CP": "completed", "PA": "completed", "RE": "not-taken", "NA": "not-taken"}[. // "CP"]
  // "unknown";

def statement($pid; $key; $route):
  wm_hl7("RXA-5.1") as $drug
  | if $drug == null then error("an RXA names no drug") else . end
  | (wm_hl7("RXA-3") | wm_hl7_date // error("an RXA has no valid administration time")) as $when
  | ($drug | wm_translate("excelicare-drug-to-medication-class")) as $class
  | { resourceType: "MedicationStatement",
      id: wm_uuid(["excelicare", "medication", $key, $drug, $when]),
      meta: {security: wm_security("medication")},
      status: (wm_hl7("RXA-20") | admin_status),
      category: {coding: [{system: code_system("hjmd-medication-class"), code: $class}]},
      medicationCodeableConcept: {
        coding: [{system: code_system("excelicare-drug"), code: $drug, display: wm_hl7("RXA-5.2")}],
        text: wm_hl7("RXA-5.2") },
      subject: wm_ref($pid),
      effectiveDateTime: $when,
      dateAsserted: $when,
      dosage: [{ route: (if $route == null then null
                         else {coding: [{system: "http://terminology.hl7.org/CodeSystem/v2-0162",
                                         code: $route}]} end),
                 doseAndRate: [{ doseQuantity: {
                   value: (wm_hl7("RXA-6") | tonumber? // null),
                   unit: wm_hl7("RXA-7.1"),
                   system: (if wm_hl7("RXA-7.1") == null then null
                            else "http://unitsofmeasure.org" end),
                   code: wm_hl7("RXA-7.1") } }] }] };

refuse_flawed
| hl7
| if (wm_hl7_count("PID")) == 0 then error("the message has no PID segment") else . end
| if (wm_hl7_count("RXA")) == 0 then error("the administration has no RXA segment") else . end
| patient as $patient
| (wm_hl7("ORC-3") // wm_hl7("ORC-2") // wm_hl7("MSH-10")
   // error("the administration has no filler, placer or control id")) as $key
| wm_hl7("RXR-1") as $route
| [wm_hl7_segments("RXA")[] | statement($patient.id; $key; $route)] as $given
| (if any($given[]; .category.coding[0].code == "opiate-substitution")
   then "medication.opiate-substitution" else "record.updated" end) as $event
| bundle($event; [$patient] + $given)
