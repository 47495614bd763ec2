"""Per-stage Python peers on the harness's fixtures: validation of the hub's canonical bundles
with fhir.resources (R4B models) and HL7 v2 parsing with hl7apy. Prints one JSON line, us per
item."""
import json
import os
import time
from pathlib import Path

from fhir.resources.R4B.bundle import Bundle
from hl7apy.parser import parse_message

from common import lines

directory = os.environ["FIXTURES"]
bundles = [json.loads(l) for l in lines(directory, "bundles.jsonl")]
hl7 = [m for m in Path(directory, "hl7.txt").read_text().split("\n\n") if m.strip()]


def timed(items, f):
    if items:
        f(items[0])
    start = time.perf_counter()
    for item in items:
        f(item)
    return (time.perf_counter() - start) * 1e6 / max(len(items), 1)


state = {"invalid": 0, "unparsed": 0}


def validate(b):
    try:
        Bundle.model_validate(b)
    except Exception:
        state["invalid"] += 1


def parse(m):
    try:
        parse_message(m.replace("\n", "\r"), find_groups=False)
    except Exception:
        state["unparsed"] += 1


print(json.dumps({"fhir_resources_validate_us_per_bundle": timed(bundles, validate),
                  "hl7apy_parse_us_per_message": timed(hl7, parse), "bundles": len(bundles),
                  "hl7_messages": len(hl7), "fhir_resources_refusals": state["invalid"],
                  "hl7apy_failures": state["unparsed"]}))
