# Waymark's jq prelude: loaded before every mapping (after jaq's standard library).
# Native helpers (`wm_uuid`, `wm_prison_number`, `wm_translate`, `wm_raise`) are in `jq.rs`.

# `error` records the text a mapping raises, so the runner may report it: a mapping's own
# messages are written without input values; jaq's own error messages are never reported.
def error: wm_raise;
def error(msgs): msgs | wm_raise;

# `{"reference": "urn:uuid:<id>"}`.
def wm_ref($id): {reference: ("urn:uuid:" + $id)};

# A bundle entry for the resource in `.`: `{"fullUrl": "urn:uuid:<.id>", "resource": .}`.
def wm_entry: {fullUrl: ("urn:uuid:" + .id), resource: .};

# `meta.security`: one data-class label and one confidentiality label.
def wm_security($class; $confidentiality):
  [ {system: "https://fhir.waymark.org.uk/CodeSystem/hjmd-data-class", code: $class},
    {system: "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", code: $confidentiality} ];
