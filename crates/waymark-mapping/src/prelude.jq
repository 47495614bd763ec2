# Waymark's jq prelude: loaded before every mapping (after jaq's standard library).
# Native helpers (`wm_uuid`, `wm_security`, `wm_hl7`, `wm_tick`, ...) are in `natives.rs`.

# `error` records the text a mapping raises, so the runner may report it: a mapping's own
# messages are written without input values; jaq's own error messages are never reported.
def error: wm_raise;
def error(msgs): msgs | wm_raise;

# `{"reference": "urn:uuid:<id>"}`.
def wm_ref($id): {reference: ("urn:uuid:" + $id)};

# A bundle entry for the resource in `.`: `{"fullUrl": "urn:uuid:<.id>", "resource": .}`.
def wm_entry: {fullUrl: ("urn:uuid:" + .id), resource: .};
