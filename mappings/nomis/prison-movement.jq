# waymark-mapping: 1
# source: nomis
# message-types: EXTERNAL_MOVEMENT_RECORD-INSERTED, OFFENDER-UPDATED, IMPRISONMENT_STATUS-CHANGED, OFFENDER_BOOKING-REASSIGNED
# version: 1.0.0
# profile: hjmd-bundle
#
# An HMPPS offender event (the SNS notification, `.message`; the event itself is the JSON text
# in `.message.Message`), enriched by the adapter with the Prison API full-status record
# (`.context.prisoner`) and the booking's alerts (`.context.alerts`), becomes one bundle:
#   - Patient    (identity, N): prison number, booking id, official and usual names, sex, birth date
#   - Encounter  (detention, N): the prison stay, for movements and whenever the prisoner is in
#                an establishment: status, legal status, establishment, period, expected release
#   - Flag       (class from ConceptMap nomis-alert-type-to-data-class, R): one per alert,
#                `active` or `inactive`; alert comments are free text and are not carried
#   - Bundle.meta.tag hjmd-source-event: prison.reception | prison.transfer | prison.release |
#                record.updated
# The runner adds the Provenance. Error texts name the problem, never a value.

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

def source_event($type; $e):
  [$e.movementType, $e.directionCode] as $m
  | if $type != "EXTERNAL_MOVEMENT_RECORD-INSERTED" then "record.updated"
    elif $m == ["ADM", "IN"] then "prison.reception"
    elif $m == ["TRN", "IN"] then "prison.transfer"
    elif $m == ["REL", "OUT"] then "prison.release"
    else "record.updated" end;

def sex:
  if . == "Male" then "male" elif . == "Female" then "female" else "unknown" end;

# SENTENCED → Sentenced, CONVICTED_UNSENTENCED → Convicted unsentenced.
def display_of_code:
  ascii_downcase | split("_") | join(" ") | (.[:1] | ascii_upcase) + .[1:];

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

def establishment($code; $status):
  { location: {identifier: {system: id_system("prison-establishment"), value: $code}},
    status: $status };

# The prison stay; nothing when the event is not a movement and the prisoner is in no
# establishment.
def stay($type; $e; $event; $p; $pid; $booking; $at):
  ($type == "EXTERNAL_MOVEMENT_RECORD-INSERTED") as $movement
  | ($p.establishmentCode | if . == "OUT" or . == "TRN" then null else . end) as $est
  | ($p.communityStatus // "") as $community
  | if ($movement | not) and $est == null then empty
    else
      ( if $event == "prison.release" then "finished"
        elif $movement and $e.directionCode == "IN" then "in-progress"
        elif $community | startswith("ACTIVE") then "in-progress"
        elif $community | startswith("INACTIVE") then "finished"
        else "unknown" end ) as $status
      | ( if $movement and $e.directionCode == "IN" then $e.toAgencyLocationId
          elif $movement then $e.fromAgencyLocationId
          else $est end ) as $here
      | { resourceType: "Encounter",
          id: wm_uuid(["nomis", "prison-stay", $booking]),
          meta: {security: wm_security("detention"; "N")},
          extension: [
            if $status == "in-progress" and $p.releaseDate != null
            then { url: "https://fhir.waymark.org.uk/StructureDefinition/expected-release-date",
                   valueDate: $p.releaseDate }
            else empty end ],
          identifier: [{system: id_system("nomis-booking-id"), value: ($booking | tostring)}],
          status: $status,
          class: { system: code_system("hjmd-episode-class"), code: "prison",
                   display: "Prison stay" },
          type: [ $p.legalStatus // empty
                  | { coding: [{ system: code_system("nomis-legal-status"), code: .,
                                 display: display_of_code }],
                      text: display_of_code } ],
          subject: wm_ref($pid),
          period: {
            start: ($p.admissionDate
                    // (if $movement and $e.directionCode == "IN" then $at else null end)),
            end: (if $event == "prison.release" then $at else null end) },
          location: [
            ($here // empty | establishment(.; if $status == "finished" then "completed" else "active" end)),
            (if $event == "prison.transfer" and $e.fromAgencyLocationId != null
             then establishment($e.fromAgencyLocationId; "completed") else empty end) ] }
    end;

def flag($a; $pid; $booking):
  { resourceType: "Flag",
    id: wm_uuid(["nomis", "alert", $booking, ($a.alertId // error("an alert has no alertId"))]),
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
| .envelope.messageType as $type
| source_event($type; $e) as $event
| (.envelope.eventTime // .envelope.receivedAt) as $at
| wm_uuid(["nomis", "patient", $noms]) as $pid
| [ patient($p; $noms; $pid),
    stay($type; $e; $event; $p; $pid; $booking; $at),
    ((.context.alerts // []) | if type == "array" then .[] else error("context.alerts is not an array") end
     | flag(.; $pid; $booking)) ]
| { resourceType: "Bundle",
    type: "collection",
    meta: {tag: [{system: code_system("hjmd-source-event"), code: $event}]},
    entry: map(wm_compact | wm_entry) }
