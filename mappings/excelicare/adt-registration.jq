# waymark-mapping: 1
# source: excelicare
# message-types: ADT^A04, ADT^A08
# version: 1.0.0
# profile: hjmd-bundle
#
# ExceliCare registration (ADT^A04: the person is registered with custody healthcare) and
# update (ADT^A08: their details changed), HL7 v2.5.1, as the HL7 tree of the message
# (`.message`, see waymark_mapping::hl7), becomes one bundle:
#   - Patient (identity, N): PID-3 ExceliCare record number (type PI/MR) and NHS number (type
#     NH, only when it passes its check), PID-5 every name repetition (L official, A alias ->
#     old, N known-as -> nickname), PID-7 birth date, PID-8 sex, PID-11 home address
#   - Bundle.meta.tag hjmd-source-event: record.updated
# EVN, PV1 and the ZCU custody segment are not carried. A message the adapter flagged
# (`.context.error`) is refused with its code. The runner adds the Provenance.

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

refuse_flawed
| hl7
| if (wm_hl7_count("PID")) == 0 then error("the message has no PID segment") else . end
| bundle("record.updated"; [patient])
