# waymark-mapping: 1
# source: nomis
# message-types: ALERT-INSERTED, ALERT-UPDATED
# version: 1.0.0
# profile: hjmd-bundle
#
# An HMPPS alert event (`ALERT-INSERTED` when an alert is added to a booking in NOMIS,
# `ALERT-UPDATED` when one changes, e.g. expires; the event is the JSON text in
# `.message.Message`), enriched by the adapter with the Prison API full-status record
# (`.context.prisoner`) and the booking's alerts (`.context.alerts`), becomes one bundle:
#   - Patient (identity, N): the same resource, with the same id, as nomis/prison-movement's
#   - Flag    (class from ConceptMap nomis-alert-type-to-data-class, R): the alert the event
#             names (its `alertSeq` is the Prison API's `alertId`), `active` or `inactive`,
#             with the same id as nomis/prison-movement gives it; comments are not carried
#   - Bundle.meta.tag hjmd-source-event: record.updated
# The runner adds the Provenance. Error texts name the problem, never a value.
# Written step by step in docs/tutorials/writing-a-mapping.md.

def id_system($name): "https://fhir.waymark.org.uk/Id/" + $name;
def code_system($name): "https://fhir.waymark.org.uk/CodeSystem/" + $name;

# Quarantine with the adapter's error code (a fixed vocabulary, checked here to be one).
def unavailable:
  (.context.error.code // "nomis.prison-api.missing")
  | if type == "string" and test("^[a-z][a-z.-]*$") then . else "unrecognised" end
  | error("prison record unavailable: " + .);

# The offender event inside the notification.
def offender_event:
  .message.Message
  | if type == "string" then fromjson else error("the notification has no Message text") end;

def sex:
  if . == "Male" then "male" elif . == "Female" then "female" else "unknown" end;

# As nomis/prison-movement: one person, one Patient id, whichever event names them.
def patient($p; $noms; $pid):
  { resourceType: "Patient",
    id: $pid,
    meta: {security: wm_security("identity"; "N")},
    identifier: [
      {system: id_system("nomis-prison-number"), value: $noms},
      (if $p.bookingId != null
       then {system: id_system("nomis-booking-id"), value: ($p.bookingId | tostring)}
       else empty end) ],
    name: [
      {use: "official", family: $p.lastName, given: [$p.givenName1, $p.givenName2]},
      (if $p.requestedName != null
       then {use: "usual", family: $p.lastName, given: [$p.requestedName]}
       else empty end) ],
    gender: ($p.gender | sex),
    birthDate: $p.dateOfBirth };

# As nomis/prison-movement, so both mappings describe an alert with the same resource.
def flag($a; $pid; $booking):
  { resourceType: "Flag",
    id: wm_uuid(["nomis", "alert", $booking, $a.alertId]),
    meta: {security: wm_security($a.alertType | wm_translate("nomis-alert-type-to-data-class"); "R")},
    identifier: [{system: id_system("nomis-alert"), value: "\($booking)/\($a.alertId)"}],
    status: (if $a.active == true and $a.expired != true then "active" else "inactive" end),
    category: [{ coding: [{ system: code_system("nomis-alert-type"), code: $a.alertType,
                            display: $a.alertTypeDescription }],
                 text: $a.alertTypeDescription }],
    code: { coding: [{ system: code_system("nomis-alert-code"), code: $a.alertCode,
                       display: $a.alertCodeDescription }],
            text: $a.alertCodeDescription },
    subject: wm_ref($pid),
    period: {start: $a.dateCreated, end: $a.dateExpires} };

if .context.error != null or .context.prisoner == null then unavailable else . end
| offender_event as $e
| .context.prisoner as $p
| ($p.nomsId | wm_prison_number // error("the prison record has no valid prison number")) as $noms
| ($p.bookingId // $e.bookingId // error("neither the prison record nor the event has a booking id"))
    as $booking
| ($e.alertSeq // error("the event has no alertSeq")) as $seq
| ( .context.alerts // []
    | if type == "array" then . else error("context.alerts is not an array") end
    | map(select(.alertId == $seq)) | first
    // error("the booking's alerts do not include the event's alert") ) as $alert
| wm_uuid(["nomis", "patient", $noms]) as $pid
| { resourceType: "Bundle",
    type: "collection",
    meta: {tag: [{system: code_system("hjmd-source-event"), code: "record.updated"}]},
    entry: [patient($p; $noms; $pid), flag($alert; $pid; $booking)] | map(wm_compact | wm_entry) }
