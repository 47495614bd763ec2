# waymark-mapping: 1
# source: athena
# message-types: arrival, risk-assessment, warning-marker, fit-decision, release
# version: 1.0.0
# profile: hjmd-bundle
#
# One Athena custody event (`.message`, as the feed served it: the event's head, the custody
# record it belongs to, the detainee as that record holds them, and the kind's own block)
# becomes one bundle:
#   - Patient    (identity, N): Athena local id, PNC ID, CRO number, NHS number and prison
#                number when valid (others dropped), names with aliases (`old`) and known-as
#                (`nickname`), sex, date of birth, postcode. Same id for every event of the record.
#   - Encounter  (detention, N): the custody episode — custody record number, arrival
#                (period.start), custody suite (location), reason for arrest, release
#                (period.end, status finished, disposal) — on every event, same id.
#   - risk-assessment: one Observation (detention, N) per answer of the seven custody risk
#                questions (question in code, Y/N/UNK in value, details in note), plus the
#                dataset items three answers give: learning-disability and aa-required
#                (safeguarding, N), self-harm-history (risk-self, N).
#   - warning-marker: a Flag, data class from ConceptMap athena-warning-marker-to-data-class
#                (R; substance also ETH).
#   - fit-decision: an Observation fit-to-detain / fit-to-interview / fit-to-release
#                (detention, N), value from ConceptMap athena-fit-outcome-to-hjmd-fitness.
#   - Bundle.meta.tag hjmd-source-event: custody.arrival, custody.fit-decision,
#                custody.release, risk.flag-raised / risk.flag-ended (risk markers) or
#                record.updated.
# An event the adapter marked flawed (`.context.error`) is quarantined with its code. The runner
# adds the Provenance. Error texts name the problem, never a value.

def id_system($name): "https://fhir.waymark.org.uk/Id/" + $name;
def code_system($name): "https://fhir.waymark.org.uk/CodeSystem/" + $name;

# Quarantine with the adapter's error code (a fixed vocabulary, checked here to be one).
def flawed:
  .context.error.code
  | if type == "string" and test("^[a-z][a-z.-]*$") then . else "unrecognised" end
  | error("athena event unusable: " + .);

def text_or_null: if type == "string" and length > 0 then . else null end;

# The value of a string of decimal digits (leading zeros allowed, unlike `tonumber`).
def digits_value: explode | reduce .[] as $c (0; . * 10 + $c - 48);

# A CRO number `NNNNNN/YYL` whose check letter is right, else null.
def cro:
  if type != "string" then null
  else (capture("^(?<s>[0-9]{1,6})/(?<y>[0-9]{2})(?<c>[A-Z])$") // null) as $m
    | if $m == null then null
      else ((($m.s | digits_value) * 100 + ($m.y | digits_value)) % 23) as $i
        | if "ZABCDEFGHJKLMNPQRTUVWXY"[$i:$i + 1] == $m.c then . else null end
      end
  end;

def name_use:
  if . == "PRIMARY" then "official" elif . == "KNOWN_AS" then "nickname" else "old" end;

def sex:
  if . == "M" then "male" elif . == "F" then "female" else "unknown" end;

def patient($d; $pid):
  { resourceType: "Patient",
    id: $pid,
    meta: {security: wm_security("identity"; "N")},
    identifier: [
      {system: id_system("athena-local-id"), value: $d.localId},
      ($d.pncId | wm_pnc | if . then {system: id_system("pnc-id"), value: .} else empty end),
      ($d.croNumber | cro | if . then {system: id_system("cro-number"), value: .} else empty end),
      ($d.nhsNumber | wm_nhs_number
       | if . then {system: "https://fhir.nhs.uk/Id/nhs-number", value: .} else empty end),
      ($d.prisonNumber | if type == "string" then wm_prison_number else null end
       | if . then {system: id_system("nomis-prison-number"), value: .} else empty end) ],
    name: [ $d.names[]? | {use: (.type | name_use), family: .surname, given: .forenames} ],
    gender: ($d.sex | sex),
    birthDate: $d.dateOfBirth,
    address: [ if ($d.postcode | text_or_null) then {use: "home", postalCode: $d.postcode}
               else empty end ] };

def episode($e; $eid; $pid):
  $e.custodyRecord as $c
  | { resourceType: "Encounter",
      id: $eid,
      meta: {security: wm_security("detention"; "N")},
      identifier: [{system: id_system("custody-record-number"), value: $c.number}],
      status: (if $e.kind == "release" then "finished" else "in-progress" end),
      class: {system: code_system("hjmd-episode-class"), code: "custody", display: "Police custody"},
      subject: wm_ref($pid),
      period: {start: $c.arrivedAt,
               end: (if $e.kind == "release" then $e.release.releasedAt else null end)},
      location: [{location: {
        identifier: {system: id_system("athena-custody-suite"), value: $c.suite.code},
        display: $c.suite.name}}],
      reasonCode: [{coding: [{system: code_system("athena-arrest-reason"),
                              code: $c.reasonForArrest.code,
                              display: $c.reasonForArrest.text}],
                    text: $c.reasonForArrest.text}],
      hospitalization: (if $e.kind == "release"
        then {dischargeDisposition: {
                coding: [{system: code_system("athena-disposal"), code: $e.release.disposal.code}],
                text: $e.release.disposal.text}}
        else null end),
      serviceProvider: {display: $e.force.name} };

def ynu:
  wm_translate("athena-risk-answer-to-ynu")
  | if . == "UNK"
    then {coding: [{system: "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", code: "UNK", display: "unknown"}]}
    elif . == "Y" then {coding: [{system: "http://terminology.hl7.org/CodeSystem/v2-0136", code: "Y", display: "Yes"}]}
    else {coding: [{system: "http://terminology.hl7.org/CodeSystem/v2-0136", code: "N", display: "No"}]} end;

def answer_obs($a; $at; $crn; $pid; $eid):
  { resourceType: "Observation",
    id: wm_uuid(["athena", "risk-answer", $crn, $a.question]),
    meta: {security: wm_security("detention"; "N")},
    status: "final",
    code: {coding: [{system: code_system("athena-risk-question"), code: $a.question, display: $a.text}],
           text: $a.text},
    subject: wm_ref($pid),
    encounter: wm_ref($eid),
    effectiveDateTime: $at,
    valueCodeableConcept: ($a.answer | ynu),
    note: [ if ($a.details | text_or_null) then {text: $a.details} else empty end ] };

# The dataset item an answer gives, if any: (question, item, data class).
def item_of:
  if type != "string" then null else
  { "LEARNING_DIFFICULTY": ["learning-disability", "safeguarding"],
    "APPROPRIATE_ADULT": ["aa-required", "safeguarding"],
    "SELF_HARM": ["self-harm-history", "risk-self"] }[.] end;

def item_obs($a; $at; $crn; $pid; $eid):
  ($a.question | item_of) as $item
  | if $item == null then empty
    else { resourceType: "Observation",
           id: wm_uuid(["athena", "item", $crn, $item[0]]),
           meta: {security: wm_security($item[1]; "N")},
           status: "final",
           code: {coding: [{system: code_system("hjmd-item"), code: $item[0]}]},
           subject: wm_ref($pid),
           encounter: wm_ref($eid),
           effectiveDateTime: $at,
           valueCodeableConcept: ($a.answer | ynu) }
    end;

def assessment($e; $crn; $pid; $eid):
  ($e.riskAssessment // error("the risk-assessment event has no riskAssessment")) as $r
  | ($r.answers | if type == "array" then . else error("riskAssessment.answers is not a list") end)
  | .[]
  | answer_obs(.; $r.assessedAt; $crn; $pid; $eid), item_obs(.; $r.assessedAt; $crn; $pid; $eid);

def marker_class: wm_translate("athena-warning-marker-to-data-class");

def marker($e; $pid):
  ($e.warningMarker // error("the warning-marker event has no warningMarker")) as $m
  | ($m.code | marker_class) as $class
  | { resourceType: "Flag",
      id: wm_uuid(["athena", "warning-marker", $e.detainee.localId, $m.code]),
      meta: {security: (wm_security($class; "R")
        + (if $class == "substance"
           then [{system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "ETH"}]
           else [] end))},
      status: (if $m.status == "ACTIVE" then "active" else "inactive" end),
      category: [{coding: [{system: "http://terminology.hl7.org/CodeSystem/flag-category",
                            code: "safety", display: "Safety"}]}],
      code: {coding: [{system: code_system("pnc-warning-signal"), code: $m.code, display: $m.description}],
             text: $m.description},
      subject: wm_ref($pid),
      period: {start: $m.recordedAt} };

def decision_item:
  (if type == "string" then . else "" end) as $d
  | { "DETAIN": "fit-to-detain", "INTERVIEW": "fit-to-interview", "RELEASE": "fit-to-release" }[$d]
  // error("the fit decision is not one of detain, interview, release");

def decision($e; $crn; $pid; $eid):
  ($e.fitDecision // error("the fit-decision event has no fitDecision")) as $f
  | ($f.decision | decision_item) as $item
  | ($f.outcome | wm_translate("athena-fit-outcome-to-hjmd-fitness")) as $outcome
  | { resourceType: "Observation",
      id: wm_uuid(["athena", "fit-decision", $crn, $item]),
      meta: {security: wm_security("detention"; "N")},
      status: "final",
      code: {coding: [{system: code_system("hjmd-item"), code: $item}]},
      subject: wm_ref($pid),
      encounter: wm_ref($eid),
      effectiveDateTime: $f.decidedAt,
      valueCodeableConcept: (if $outcome then {coding: [{system: code_system("hjmd-fitness"), code: $outcome}]}
                             else null end),
      note: [ if ($f.conditions | text_or_null) then {text: $f.conditions} else empty end ] };

def tag($e):
  if $e.kind == "arrival" then "custody.arrival"
  elif $e.kind == "fit-decision" then "custody.fit-decision"
  elif $e.kind == "release" then "custody.release"
  elif $e.kind == "warning-marker"
    and (($e.warningMarker.code | marker_class) as $c | $c == "risk-self" or $c == "risk-others")
    then (if $e.warningMarker.status == "ACTIVE" then "risk.flag-raised" else "risk.flag-ended" end)
  else "record.updated" end;

if .context.error != null then flawed else . end
| .message as $e
| ($e | type == "object" or error("the event is not an object")) as $_
| ($e.detainee | type == "object" or error("the event has no detainee")) as $_
| ($e.detainee.localId | text_or_null // error("the detainee has no local id")) as $local
| ($e.custodyRecord.number | text_or_null // error("the event has no custody record number")) as $crn
| ($e.custodyRecord.arrivedAt // error("the custody record has no arrival time")) as $_
| ($e.custodyRecord.suite.code // error("the custody record has no custody suite")) as $_
| wm_uuid(["athena", "patient", $local]) as $pid
| wm_uuid(["athena", "custody-episode", $crn]) as $eid
| { resourceType: "Bundle",
    type: "collection",
    meta: {tag: [{system: code_system("hjmd-source-event"), code: tag($e)}]},
    entry: [ patient($e.detainee; $pid),
             episode($e; $eid; $pid),
             ( if $e.kind == "risk-assessment" then assessment($e; $crn; $pid; $eid)
               elif $e.kind == "warning-marker" then marker($e; $pid)
               elif $e.kind == "fit-decision" then decision($e; $crn; $pid; $eid)
               else empty end ) ]
           | map(wm_compact | wm_entry) }
