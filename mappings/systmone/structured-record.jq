# waymark-mapping: 1
# source: systmone
# message-types: gpc.getstructuredrecord
# version: 1.0.0
# profile: hjmd-bundle
#
# A GP Connect Access Record: Structured answer from SystmOne (prison healthcare): an STU3
# `collection` Bundle of CareConnect-GPC resources (`.message`, the provider's bytes, pulled by
# NHS number; `.context.pull` says why), converted to R4 and the HJMD:
#   - Patient             (identity, N): NHS number, SystmOne's patient id as local id, names,
#                         sex, date of birth, home addresses (STU3 and R4 agree on these)
#   - MedicationStatement (medication, R): one per STU3 MedicationStatement; medication from its
#                         Medication; class from ConceptMap systmone-medication-to-hjmd-class;
#                         status, effective period, dateAsserted (as-of; else the authorising
#                         MedicationRequest's authoredOn, else the list's date), dosage text; the
#                         last issue date (GP Connect extension, else the latest issue's
#                         authoredOn) as UK Core's MedicationStatementLastIssueDate extension.
#                         STU3 `taken: n` becomes status `not-taken`. MedicationRequests (plans
#                         and issues) only feed these dates: the dataset has no place for them.
#   - Condition           (mh-clinical, V, PSY): problems that are MAIS mental health diagnoses
#                         (ConceptMap systmone-problem-to-hjmd-mh-diagnosis); the first active
#                         one is `primary`, the others `secondary` (GP problem lists do not rank)
#   - Observation         (class from ConceptMap systmone-hjmd-item-to-data-class): problems that
#                         answer an HJMD history item yes (systmone-problem-to-hjmd-item:
#                         epilepsy, diabetes, asthma, brain injury, heart problems, substance
#                         misuse), one per item, as of the earliest such problem
#   - Observation         (physical-summary, R): every other problem, coded as recorded
#   - Flag                (physical-summary, R): one per allergy or intolerance (active, or
#                         resolved ones contained in the resolved-allergies list, `inactive`),
#                         as the SCR mapping does: the dataset has no AllergyIntolerance
#   - Bundle.meta.tag hjmd-source-event: record.updated (a snapshot cannot tell what started or
#     changed, and the profile allows one source-event tag)
# Only elements named here are carried: every other element and every extension (known or
# not, e.g. a supplier's own) is dropped; free-text notes are not carried.
# Quarantined: an answer the adapter marked with context.error (OperationOutcome errors such as
# PATIENT_NOT_FOUND, malformed bodies), anything but a Bundle, a Bundle without a Patient with a
# valid NHS number. The runner adds the Provenance. Error texts name the problem, never a value.

def id_system($name): "https://fhir.waymark.org.uk/Id/" + $name;
def code_system($name): "https://fhir.waymark.org.uk/CodeSystem/" + $name;
def nhs_system: "https://fhir.nhs.uk/Id/nhs-number";
def snomed: "http://snomed.info/sct";
def act_code: "http://terminology.hl7.org/CodeSystem/v3-ActCode";

def unavailable:
  (.context.error.code // "systmone.unknown")
  | if type == "string" and test("^[a-z][a-z.-]*$") then . else "unrecognised" end
  | error("systmone record unavailable: " + .);

# Labels, with the sensitivity code the class's profiles require.
def security($class):
  wm_security($class)
  + (if $class == "mh-clinical" then [{system: act_code, code: "PSY"}]
     elif $class == "substance" then [{system: act_code, code: "ETH"}]
     else [] end);

def array: if type == "array" then . elif . == null then [] else [.] end;

# The SNOMED coding of a CodeableConcept (system, code, display only: coding extensions such as
# the description id are dropped), else its first coding.
def coding: [.coding[]? | select(type == "object")] as $c
  | (([$c[] | select(.system == snomed)] | first) // ($c | first))
  | if . == null then null else {system, code, display} end;

def concept: {coding: [coding // empty], text};

def date_only: if type == "string" then .[0:10] else null end;

def name_use:
  if . == "official" or . == "usual" or . == "old" or . == "nickname" then .
  elif . == "maiden" then "old" elif . == null then "official" else "usual" end;

def patient($p; $nhs; $pid):
  { resourceType: "Patient",
    id: $pid,
    meta: {security: wm_security("identity"; "N")},
    identifier: [
      {system: nhs_system, value: $nhs},
      (if $p.id != null then {system: id_system("systmone-local-id"), value: $p.id} else empty end) ],
    name: [ $p.name | array | .[] | {use: (.use | name_use), family, given, prefix} ],
    gender: $p.gender,
    birthDate: $p.birthDate,
    address: [ $p.address | array | .[] | select(.use == null or .use == "home" or .use == "temp")
               | {use, type, line, city, district, postalCode} ] };

# --- medication -------------------------------------------------------------------------------

def last_issue($ms; $orders):
  ([$ms.extension | array | .[]
    | select((.url // "") | test("MedicationStatementLastIssueDate")) | .valueDateTime] | first)
  // ([$orders[] | .authoredOn | select(. != null)] | max);

def ms_status($ms):
  if $ms.taken == "n" then "not-taken"
  elif ["active", "completed", "entered-in-error", "intended", "stopped", "on-hold"]
       | index($ms.status) != null then $ms.status
  else "unknown" end;

def medication_statement($ms; $ref; $requests; $asof; $pid; $nhs):
  ($ms.basedOn | array | map(.reference) | first) as $plan_ref
  | ($ref[$plan_ref // ""]) as $plan
  | [$requests[] | select(.intent == "order"
                          and (.basedOn | array | map(.reference) | index($plan_ref) != null))] as $orders
  | (if $ms.medicationCodeableConcept != null then $ms.medicationCodeableConcept
     else $ref[$ms.medicationReference.reference // ""].code end) as $med
  | ($med | coding) as $code
  | last_issue($ms; $orders) as $last
  | { resourceType: "MedicationStatement",
      id: wm_uuid(["systmone", "medication-statement", $nhs, ($ms.identifier | array | .[0].value // $ms.id)]),
      meta: {security: wm_security("medication"; "R")},
      extension: [ if $last != null then
        {url: "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationStatementLastIssueDate",
         valueDateTime: $last} else empty end ],
      identifier: [ $ms.identifier | array | .[] | {system, value} ],
      status: ms_status($ms),
      category: { coding: [{ system: code_system("hjmd-medication-class"),
                             code: ($code.code | wm_translate("systmone-medication-to-hjmd-class") // "other") }] },
      medicationCodeableConcept: ($med | concept),
      subject: wm_ref($pid),
      effectiveDateTime: $ms.effectiveDateTime,
      effectivePeriod: ($ms.effectivePeriod | if . == null then null else {start, end} end),
      dateAsserted: ($ms.dateAsserted // $plan.authoredOn // $asof),
      dosage: [ $ms.dosage | array | .[] | {text, patientInstruction} ] };

# --- problems ---------------------------------------------------------------------------------

def recorded($c): $c.assertedDate // $c.onsetDateTime // $c.onsetPeriod.start;

def mh_diagnosis($c; $dx; $rank; $pid; $nhs; $asof):
  { resourceType: "Condition",
    id: wm_uuid(["systmone", "problem", $nhs, ($c.identifier | array | .[0].value // $c.id)]),
    meta: {security: security("mh-clinical")},
    clinicalStatus: {coding: [{system: "http://terminology.hl7.org/CodeSystem/condition-clinical",
                               code: ($c.clinicalStatus // "active")}]},
    category: [{coding: [{system: code_system("hjmd-diagnosis-rank"), code: $rank}]}],
    code: {coding: [{system: code_system("hjmd-mh-diagnosis"), code: $dx}],
           text: ($c.code | coding | .display // $c.code.text)},
    subject: wm_ref($pid),
    onsetDateTime: $c.onsetDateTime,
    recordedDate: (recorded($c) // $asof) };

def history_item($item; $cs; $pid; $nhs; $asof):
  ($item | wm_translate("systmone-hjmd-item-to-data-class") // "physical-summary") as $class
  | { resourceType: "Observation",
      id: wm_uuid(["systmone", "item", $nhs, $item]),
      meta: {security: security($class)},
      status: "final",
      code: {coding: [{system: code_system("hjmd-item"), code: $item}]},
      subject: wm_ref($pid),
      effectiveDateTime: ([$cs[] | recorded(.) | select(. != null)] | min // $asof),
      valueCodeableConcept: {coding: [{system: "http://terminology.hl7.org/CodeSystem/v2-0136",
                                       code: "Y", display: "Yes"}]},
      note: [ $cs[] | {text: (.code | coding | .display // .code.text)} ] };

def other_problem($c; $pid; $nhs; $asof):
  { resourceType: "Observation",
    id: wm_uuid(["systmone", "problem", $nhs, ($c.identifier | array | .[0].value // $c.id)]),
    meta: {security: wm_security("physical-summary"; "R")},
    status: (if $c.verificationStatus == "entered-in-error" then "entered-in-error" else "final" end),
    category: [{coding: [{system: "http://terminology.hl7.org/CodeSystem/condition-category",
                          code: "problem-list-item", display: "Problem List Item"}]}],
    code: ($c.code | concept),
    subject: wm_ref($pid),
    effectiveDateTime: (recorded($c) // $asof) };

# --- allergies --------------------------------------------------------------------------------

def allergy_end($a):
  [$a.extension | array | .[] | select((.url // "") | test("AllergyIntoleranceEnd"))
   | .extension | array | .[] | select(.url == "endDate") | .valueDateTime] | first;

def allergy($a; $pid; $nhs):
  ($a.code | coding) as $what
  | [$a.reaction | array | .[] | .manifestation | array | .[] | (coding | .display) // .text] as $reactions
  | { resourceType: "Flag",
      id: wm_uuid(["systmone", "allergy", $nhs, ($a.identifier | array | .[0].value // $a.id)]),
      meta: {security: wm_security("physical-summary"; "R")},
      status: (if $a.verificationStatus == "entered-in-error" then "entered-in-error"
               elif $a.clinicalStatus == "resolved" or $a.clinicalStatus == "inactive"
                    or allergy_end($a) != null then "inactive"
               else "active" end),
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/flag-category",
                              code: "clinical", display: "Clinical" }],
                   text: "Allergy or adverse reaction" }],
      code: { coding: [$what // empty],
              text: ( (if $a.type == "intolerance" then "Intolerance to " else "Allergy to " end)
                      + ($what.display // $a.code.text // "unrecorded substance")
                      + (if ($reactions | length) > 0 then " (" + ($reactions | join(", ")) + ")" else "" end)
                      + (if $a.criticality == "high" then ", high criticality" else "" end) ) },
      subject: wm_ref($pid),
      period: {start: ($a.assertedDate // $a.onsetDateTime), end: allergy_end($a)} };

# --- the bundle -------------------------------------------------------------------------------

if .context.error != null then unavailable else . end
| .message as $m
| if ($m | type) != "object" or $m.resourceType != "Bundle"
  then error("systmone: the answer is not a Bundle") else . end
| [$m.entry | array | .[] | .resource | select(type == "object" and .resourceType != null)] as $top
| ($top + [$top[] | select(.resourceType == "List") | .contained | array | .[]
                  | select(type == "object")]) as $all
| (reduce $all[] as $r ({}; if $r.id != null then .[$r.resourceType + "/" + $r.id] = $r else . end)) as $ref
| ([$top[] | select(.resourceType == "Patient")] | first
   // error("systmone: the bundle holds no Patient")) as $p
| ([$p.identifier | array | .[] | select(.system == nhs_system) | .value] | first | wm_nhs_number
   // error("systmone: the Patient's NHS number is missing or fails its check")) as $nhs
| wm_uuid(["systmone", "patient", $nhs]) as $pid
| ([$top[] | select(.resourceType == "List") | .date | select(. != null)] | max
   // .envelope.eventTime // .envelope.receivedAt) as $asof
| [$all[] | select(.resourceType == "MedicationRequest")] as $requests
| [$all[] | select(.resourceType == "Condition")] as $problems
| [$problems[] | . as $c | {c: $c, dx: ($c.code | coding | .code | wm_translate("systmone-problem-to-hjmd-mh-diagnosis"))}
   | select(.dx != null)] as $mh
| ([$mh[] | select((.c.clinicalStatus // "active") == "active")] | first | .c.id) as $primary
| [$problems[] | {c: ., item: (.code | coding | .code | wm_translate("systmone-problem-to-hjmd-item"))}
   | select(.item != null)] as $items
| [$problems[] | select((.code | coding | .code) as $k
     | ($k | wm_translate("systmone-problem-to-hjmd-mh-diagnosis")) == null
       and ($k | wm_translate("systmone-problem-to-hjmd-item")) == null)] as $others
| [ patient($p; $nhs; $pid),
    ( $all[] | select(.resourceType == "MedicationStatement")
      | medication_statement(.; $ref; $requests; $asof; $pid; $nhs) ),
    ( $mh[] | mh_diagnosis(.c; .dx; (if .c.id == $primary then "primary" else "secondary" end);
                           $pid; $nhs; $asof) ),
    ( $items | group_by(.item)[] | history_item(.[0].item; map(.c); $pid; $nhs; $asof) ),
    ( $others[] | other_problem(.; $pid; $nhs; $asof) ),
    ( $all[] | select(.resourceType == "AllergyIntolerance") | allergy(.; $pid; $nhs) ) ]
  | map(wm_compact) as $resources
| { resourceType: "Bundle",
    type: "collection",
    meta: {tag: [{system: code_system("hjmd-source-event"), code: "record.updated"}]},
    entry: ($resources | map(wm_entry)) }
