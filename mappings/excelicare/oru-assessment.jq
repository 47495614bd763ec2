# waymark-mapping: 1
# source: excelicare
# message-types: ORU^R01
# version: 1.0.0
# profile: hjmd-bundle
#
# An ExceliCare custody health assessment (ORU^R01, HL7 v2.5.1; `.message` is the HL7 tree)
# becomes one bundle:
#   - Patient (identity, N): as excelicare/adt-registration
#   - one Observation per OBX whose code (OBX-3, system EXC) is a dataset item, per
#     ConceptMap excelicare-obx-to-hjmd-item: epilepsy, diabetes, asthma, heart problems
#     (physical-summary), previous mental health problems, under mental health services
#     (mh-summary), substance type and alcohol withdrawal (substance, with ETH); the answer
#     (OBX-5, Y/N from table 0136, UNK) as a CodeableConcept, the substance mapped by
#     excelicare-substance-to-hjmd
#   - COWS and CIWA-Ar withdrawal scores (OBX NM) as Observations coded in ExceliCare's own
#     system, value a score (substance, with ETH)
#   - the mental health diagnosis (OBX MHDX, ICD-10) as a Condition (mh-clinical, V, with PSY),
#     its category by ConceptMap excelicare-icd10-to-mh-diagnosis, the diagnosis as text
#   - Bundle.meta.tag hjmd-source-event: record.updated
# Data classes come from ConceptMap excelicare-obx-to-data-class; OBX codes it does not list are
# not carried, nor are NTE notes (free text), PV1 and ZCU. OBX-11 gives the status; OBX-14 (else
# OBR-7, else MSH-7) the time. The runner adds the Provenance.

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

def sensitivity($class):
  {"substance": "ETH", "mh-clinical": "PSY"}[$class] as $code
  | if $code == null then []
    else [{system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: $code}] end;

def labels($class): wm_security($class) + sensitivity($class);

def obs_status:
  {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled", "D": "entered-in-error",
   "W": "entered-in-error", "R": "registered"}[. // "F"] // "unknown";

# A Y/N/UNK answer as the dataset codes it.
def ynu:
  if . == "Y" or . == "N" then
    {coding: [{system: "http://terminology.hl7.org/CodeSystem/v2-0136", code: .}]}
  elif . == "UNK" then
    {coding: [{system: "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", code: "UNK"}]}
  else error("an assessment answer is not Y, N or UNK") end;

def item_value($item):
  if $item == "substance-type" then
    { coding: [{ system: code_system("hjmd-substance-type"),
                 code: (wm_hl7("OBX-5.1") | wm_translate("excelicare-substance-to-hjmd")) }],
      text: wm_hl7("OBX-5.2") }
  else wm_hl7("OBX-5.1") | ynu end;

def item_obs($item; $class; $pid; $when; $key):
  { resourceType: "Observation",
    id: wm_uuid(["excelicare", "observation", $key, $item]),
    meta: {security: labels($class)},
    status: (wm_hl7("OBX-11") | obs_status),
    code: { coding: [{system: code_system("hjmd-item"), code: $item}],
            text: wm_hl7("OBX-3.2") },
    subject: wm_ref($pid),
    effectiveDateTime: $when,
    valueCodeableConcept: item_value($item) };

def score_obs($code; $class; $pid; $when; $key):
  (wm_hl7("OBX-5") | tonumber? // error("a withdrawal score is not a number")) as $score
  | { resourceType: "Observation",
      id: wm_uuid(["excelicare", "observation", $key, $code]),
      meta: {security: labels($class)},
      status: (wm_hl7("OBX-11") | obs_status),
      category: [{coding: [{system: "http://terminology.hl7.org/CodeSystem/observation-category",
                             code: "survey"}]}],
      code: { coding: [{system: code_system("excelicare-observation"), code: $code,
                        display: wm_hl7("OBX-3.2")}],
              text: wm_hl7("OBX-3.2") },
      subject: wm_ref($pid),
      effectiveDateTime: $when,
      valueQuantity: {value: $score, unit: "score", system: "http://unitsofmeasure.org",
                      code: "{score}"} };

def diagnosis($pid; $when; $key):
  wm_hl7("OBX-5.1") as $icd
  | { resourceType: "Condition",
      id: wm_uuid(["excelicare", "condition", $key, ($icd // "none")]),
      meta: {security: labels("mh-clinical")},
      category: [{coding: [{system: code_system("hjmd-diagnosis-rank"), code: "primary"}]}],
      code: { coding: [{ system: code_system("hjmd-mh-diagnosis"),
                         code: ($icd | wm_translate("excelicare-icd10-to-mh-diagnosis")) },
                       { system: "http://hl7.org/fhir/sid/icd-10", code: $icd,
                         display: wm_hl7("OBX-5.2") }],
              text: wm_hl7("OBX-5.2") },
      subject: wm_ref($pid),
      recordedDate: $when };

refuse_flawed
| hl7
| if (wm_hl7_count("PID")) == 0 then error("the message has no PID segment") else . end
| if (wm_hl7_count("OBX")) == 0 then error("the assessment has no OBX segment") else . end
| patient as $patient
| ($patient.id) as $pid
| (wm_hl7("OBR-3") // wm_hl7("OBR-2") // wm_hl7("MSH-10")
   // error("the assessment has no filler, placer or control id")) as $key
| (wm_hl7("OBR-7") // wm_hl7("MSH-7")) as $reported
| [ wm_hl7_segments("OBX")[]
    | wm_hl7("OBX-3.1") as $code
    | ($code | wm_translate("excelicare-obx-to-data-class")) as $class
    | select($class != null)
    | ((wm_hl7("OBX-14") // $reported) | wm_hl7_date
       // error("an OBX has no valid observation time")) as $when
    | if $code == "MHDX" then diagnosis($pid; $when; $key)
      elif ($code | wm_translate("excelicare-obx-to-hjmd-item")) != null then
        item_obs($code | wm_translate("excelicare-obx-to-hjmd-item"); $class; $pid; $when; $key)
      else score_obs($code; $class; $pid; $when; $key) end ] as $findings
| bundle("record.updated"; [$patient] + $findings)
