# waymark-mapping: 1
# source: excelicare
# message-types: REF^I12
# version: 1.0.0
# profile: hjmd-bundle
#
# A referral from custody healthcare (REF^I12, HL7 v2.5.1; `.message` is the HL7 tree), in
# practice to liaison and diversion, becomes one bundle:
#   - Patient (identity, N): as excelicare/adt-registration
#   - CareTeam (agencies, N): the agency referred to, its type from RF1-3 by ConceptMap
#     excelicare-referral-type-to-agency-type (LD -> cjlt), its name from PRD-2 (role RT, the
#     referred-to provider), status from RF1-1 (P proposed, A active, R/E/C inactive), from
#     RF1-7 (effective date); id from RF1-6 (the referral id)
#   - Bundle.meta.tag hjmd-source-event: record.updated
# The ZCU custody segment is not carried. The runner adds the Provenance.

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

def team_status:
  {"P": "proposed", "A": "active", "R": "inactive", "E": "inactive", "C": "inactive"}[. // "P"]
  // "proposed";

# The referred-to provider (PRD-1 role RT), else the first PRD.
def provider_name:
  [wm_hl7_segments("PRD")[] | select(wm_hl7("PRD-1") == "RT") | wm_hl7("PRD-2")]
  | first // null;

refuse_flawed
| hl7
| if (wm_hl7_count("PID")) == 0 then error("the message has no PID segment") else . end
| if (wm_hl7_count("RF1")) == 0 then error("the referral has no RF1 segment") else . end
| patient as $patient
| (wm_hl7("RF1-6") // wm_hl7("MSH-10") // error("the referral has no referral id")) as $ref
| (wm_hl7("RF1-3") | wm_translate("excelicare-referral-type-to-agency-type")
   // error("the referral type (RF1-3) is not one the hub maps")) as $agency
| (provider_name // ([wm_hl7_segments("PRD")[] | wm_hl7("PRD-2")] | first)) as $name
| { resourceType: "CareTeam",
    id: wm_uuid(["excelicare", "referral", $ref]),
    meta: {security: wm_security("agencies"; "N")},
    identifier: [{system: id_system("excelicare-referral"), value: $ref}],
    status: (wm_hl7("RF1-1") | team_status),
    name: $name,
    subject: wm_ref($patient.id),
    period: {start: (wm_hl7("RF1-7") | if . == null then null else wm_hl7_date end)},
    participant: [{ role: [{ coding: [{system: code_system("hjmd-agency-type"), code: $agency}],
                             text: wm_hl7("RF1-3.2") }] }] } as $team
| bundle("record.updated"; [$patient, $team])
