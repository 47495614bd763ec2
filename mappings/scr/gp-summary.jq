# waymark-mapping: 1
# source: scr
# message-types: gp-summary, no-consent, no-result, unparseable
# version: 1.0.0
# profile: hjmd-bundle
#
# An NHS Summary Care Record answer, as the SCR adapter pulled it by NHS number (`.message`, the
# API's bytes; `.context.request` names the NHS number and the reason of the pull), becomes:
#   gp-summary (a searchset, or a FHIR document, holding the GP-summary Composition):
#   - Patient            (identity, N): the NHS number only (the SCR holds no demographics here;
#                        the name is recorded as absent, data-absent-reason `unknown`)
#   - MedicationStatement (medication, R): one per row of the acute (completed), current repeat
#                        (active) and discontinued repeat (stopped) medication tables; class from
#                        ConceptMap scr-medication-to-class by the item's first word
#   - Flag               (physical-summary, R): one per row of the allergies table
#   - Observation        (class from ConceptMap scr-diagnosis-to-data-class): one per coded
#                        diagnosis or problem (Condition) the summary holds, or per row of the
#                        diagnoses table when none is coded (HJMD profiles a Condition only as a
#                        mental-health diagnosis, so a GP diagnosis is an Observation here)
#   - Flag               (class from ConceptMap scr-risk-to-data-class): one per coded risk to
#                        patient (Observation), or per row of the risks table when none is coded
#   - Bundle.meta.tag hjmd-source-event: medication.opiate-substitution when a current repeat
#                        medication is opiate substitution, else record.updated
#   no-consent, no-result, unparseable: quarantined with a reason and nothing else: the SCR
#   refused access (the person did not consent) or holds no record, so there is no clinical
#   content to map, and the fact must not become a Consent the hub's release policy would read.
# Dates are the table's (DD-Mon-YYYY or DD Mon YYYY); as-of dates are the Composition's date.
# Other sections (treatments, observations, preferences ...) are not carried yet.
# The runner adds the Provenance. Error texts name the problem, never a value.

def id_system($name): "https://fhir.waymark.org.uk/Id/" + $name;
def code_system($name): "https://fhir.waymark.org.uk/CodeSystem/" + $name;
def nhs_system: "https://fhir.nhs.uk/Id/nhs-number";
def snomed: "http://snomed.info/sct";

def refused:
  if .envelope.messageType == "no-consent" then
    error("scr: no consent: access to the summary care record was refused; nothing to map")
  elif .envelope.messageType == "no-result" then
    error("scr: no result: the person has no summary care record; nothing to map")
  else
    (.context.error.code // "scr.unrecognised")
    | if type == "string" and test("^[a-z][a-z.-]*$") then . else "unrecognised" end
    | error("scr: the answer is not a summary care record: " + .)
  end;

# --- narrative tables ------------------------------------------------------------------------

def text_of:
  gsub("<[^>]*>"; "")
  | if test("&") then
      gsub("&lt;"; "<") | gsub("&gt;"; ">") | gsub("&quot;"; "\"") | gsub("&#39;|&apos;"; "'")
      | gsub("&nbsp;|&#160;"; " ") | gsub("&amp;"; "&")
    else . end
  | if test("\\s\\s|[\\t\\n\\r]") then gsub("\\s+"; " ") else . end
  | sub("^ "; "") | sub(" $"; "");

# The data rows of an XHTML table: arrays of raw cells (read one with `cell`); rows with a
# spanning cell (the "no relevant information" line, a medication's reason line) are not data.
def rows:
  [ scan("<tr[^>]*>([\\s\\S]*?)</tr>") | .[0]
    | select(test("<td") and (test("colspan") | not))
    | [ scan("<td[^>]*?(?:/>|>([\\s\\S]*?)</td>)")
        | if type == "array" then .[0] // "" else "" end ] ];

# The text of cell `$i` of a row.
def cell($i): .[$i] // "" | text_of;

# `12-May-2020`, `25 May 2020`, `Prescribed: 12-May-2020` → `2020-05-12`; else null.
def table_date:
  (["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"]) as $m
  | (capture("(?<d>[0-9]{1,2})[- ](?<m>[A-Z][a-z]{2})[- ](?<y>[0-9]{4})") // null)
  | if . == null then null
    else (.m as $name | $m | index($name)) as $i
      | if $i == null then null
        else "\(.y)-\($i + 1 | tostring | if length == 1 then "0" + . else . end)-\(.d | if length == 1 then "0" + . else . end)"
        end
    end;

def sections($code): .section[]? | select(.code.coding[0].code == $code);
def section_rows($code): [sections($code) | .text.div // "" | rows[]];

# --- resources -------------------------------------------------------------------------------

def patient($nhs; $pid):
  { resourceType: "Patient",
    id: $pid,
    meta: {security: wm_security("identity"; "N")},
    identifier: [{system: nhs_system, value: $nhs}],
    name: [{ use: "official",
             extension: [{ url: "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                           valueCode: "unknown" }] }] };

def medication($raw; $status; $pid; $nhs; $asof):
  [range(5) as $i | $raw | cell($i)] as $row
  | $row[2] as $item
  | if $item == "" then empty else
    ($item | ascii_downcase | split(" ") | .[0] | wm_translate("scr-medication-to-class")) as $class
    | { resourceType: "MedicationStatement",
        id: wm_uuid(["scr", "medication", $nhs, $status, $item, ($row[1] // "")]),
        meta: {security: wm_security("medication"; "R")},
        status: $status,
        category: { coding: [{system: code_system("hjmd-medication-class"), code: $class}] },
        medicationCodeableConcept: {text: $item},
        subject: wm_ref($pid),
        effectiveDateTime: ($row[1] // "" | table_date),
        dateAsserted: $asof,
        dosage: [{text: $row[3]}],
        note: [{text: (if ($row[4] // "") != "" then "Quantity: " + $row[4] else null end)}] }
    end;

def allergy($raw; $pid; $nhs):
  [$raw | cell(0), cell(1)] as $row
  | $row[1] as $what
  | if $what == "" then empty else
    { resourceType: "Flag",
      id: wm_uuid(["scr", "allergy", $nhs, $what]),
      meta: {security: wm_security("physical-summary"; "R")},
      status: "active",
      category: [{ coding: [{ system: "http://terminology.hl7.org/CodeSystem/flag-category",
                              code: "clinical", display: "Clinical" }],
                   text: "Allergy or adverse reaction" }],
      code: {text: $what},
      subject: wm_ref($pid),
      period: {start: ($row[0] // "" | table_date)} }
    end;

def coded($c): [$c.coding[]? | select(.system == snomed and .code != null)] | first;

def diagnosis($code; $text; $when; $pid; $nhs; $asof):
  ($code.code | wm_translate("scr-diagnosis-to-data-class") // "physical-summary") as $class
  | { resourceType: "Observation",
      id: wm_uuid(["scr", "diagnosis", $nhs, ($code.code // $text), ($when // "")]),
      meta: {security: wm_security($class)},
      status: "final",
      category: [{ coding: [{system: snomed, code: "163001000000103", display: "Diagnoses"}] }],
      code: { coding: [$code // empty | {system: snomed, code, display}],
              text: ($text // $code.display) },
      subject: wm_ref($pid),
      effectiveDateTime: ($when // $asof) };

def risk($code; $text; $when; $pid; $nhs):
  ($code.code | wm_translate("scr-risk-to-data-class") // "physical-summary") as $class
  | { resourceType: "Flag",
      id: wm_uuid(["scr", "risk", $nhs, ($code.code // $text)]),
      meta: {security: wm_security($class; "R")},
      status: "active",
      category: [{ coding: [{system: snomed, code: "163231000000100", display: "Risks to Patient"}] }],
      code: { coding: [$code // empty | {system: snomed, code, display}],
              text: ($text // $code.display) },
      subject: wm_ref($pid),
      period: {start: $when} };

def has_category($display):
  [.category | if type == "array" then .[] else . end | .coding[]?.display] | index($display) != null;

# --- the bundle ------------------------------------------------------------------------------

if .envelope.messageType != "gp-summary" then refused else . end
| .message as $m
| if $m.resourceType != "Bundle" then error("scr: the answer is not a bundle") else . end
| [$m.entry[]?.resource | select(type == "object")] as $all
| ([$all[] | select(.resourceType == "Composition")] | first
   // error("scr: the bundle holds no GP summary Composition")) as $comp
| ([$all[] | select(.resourceType == "Patient") | .identifier[]?
    | select(.system == nhs_system) | .value] | first) as $recorded
| (.context.request.nhsNumber // null) as $asked
| (($recorded // $asked) | wm_nhs_number
   // error("scr: the summary's NHS number is missing or fails its check")) as $nhs
| if $asked != null and ($asked | wm_nhs_number) != $nhs
  then error("scr: the summary is about another NHS number than the one pulled") else . end
| ($comp.date // .envelope.eventTime // .envelope.receivedAt) as $asof
| wm_uuid(["scr", "patient", $nhs]) as $pid
| [$all[] | select(.resourceType == "Condition"
                   and (has_category("Diagnoses") or has_category("Problems and Issues")))] as $conditions
| [$all[] | select(.resourceType == "Observation" and has_category("Risks to Patient"))] as $risks
| [ patient($nhs; $pid),
    ( [["AcuteMedsHeader", "completed"], ["RepeatMedsHeader", "active"],
       ["DiscRepeatMedsHeader", "stopped"]][] as [$section, $status]
      | $comp | section_rows($section)[] | medication(.; $status; $pid; $nhs; $asof) ),
    ( $comp | section_rows("AllergiesHeader")[] | allergy(.; $pid; $nhs) ),
    ( if ($conditions | length) > 0 then
        $conditions[] | diagnosis(coded(.code); .code.text;
                                  (.onsetDateTime // .recordedDate // null); $pid; $nhs; $asof)
      else
        $comp | section_rows("DiagnosesHeader")[] | [cell(0), cell(1)] | select(.[1] != "")
        | diagnosis(null; .[1]; (.[0] | table_date); $pid; $nhs; $asof)
      end ),
    ( if ($risks | length) > 0 then
        $risks[] | risk(coded(.code); .code.text;
                        (.effectiveDateTime // .effectivePeriod.start // null); $pid; $nhs)
      else
        $comp | section_rows("RisksToPatientHeader")[] | [cell(0), cell(1)] | select(.[1] != "")
        | risk(null; .[1]; (.[0] | table_date); $pid; $nhs)
      end ) ]
| map(wm_compact) | unique_by(.id) as $resources
| { resourceType: "Bundle",
    type: "collection",
    meta: {tag: [{ system: code_system("hjmd-source-event"),
                   code: (if any($resources[]; .resourceType == "MedicationStatement"
                                  and .status == "active"
                                  and .category.coding[0].code == "opiate-substitution")
                          then "medication.opiate-substitution" else "record.updated" end) }]},
    entry: ($resources | map(wm_entry)) }
