//! Renders `docs/reference/dataset.md` from the package (`CodeSystem-hjmd-item.json`, the
//! profiles' label extensions) and the role policy.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// Every item of dataset.md section 1, as named there (checked against package and reference).
pub const DATASET_ITEMS: &[&str] = &[
    "Names",
    "Aliases",
    "Date of birth",
    "Sex",
    "NHS number",
    "PNC ID",
    "CRO number",
    "NOMIS prison number",
    "Custody record / booking numbers",
    "Local clinical ids",
    "Last known address",
    "Directed address",
    "Language spoken",
    "Interpreter needed",
    "Family / preferred contact",
    "Main health professional contact",
    "Requires an appropriate adult if interviewed",
    "Previous need for an appropriate adult",
    "Preferred significant other",
    "professional to act as appropriate adult",
    "Learning disabilities or cognitive disorder",
    "Vulnerable dependents",
    "epilepsy",
    "diabetes",
    "asthma",
    "brain injury",
    "heart problems",
    "A&E attendance",
    "loss of consciousness",
    "hospital discharge",
    "History of mental disorder",
    "Previous mental health problems",
    "Currently under mental health services",
    "care co-ordinator, CPA",
    "Primary mental health diagnosis",
    "Secondary mental health diagnosis",
    "Mental Health Act status",
    "Mental Health Act history",
    "non-concordance with any treatment",
    "History of self-harm",
    "Significant dates",
    "suicide attempts",
    "relative to release",
    "police or prison custody",
    "resuscitation or hospital",
    "History of substance misuse",
    "Type of substance",
    "problematic withdrawal",
    "alcohol misuse",
    "alcohol withdrawal",
    "Opiate substitution therapy",
    "Medication on the day of release",
    "as-of date",
    "non-concordance with psychiatric medication",
    "triggers / warning signs",
    "MAPPA",
    "MAPPA category",
    "MAPPA level",
    "HRAMM",
    "VISOR",
    "History of violence to others",
    "Violence categories",
    "serious violence",
    "discriminatory attitudes",
    "Agency involved",
    "out-of-hours contact",
    "Arrival time",
    "Custody suite",
    "Reason for arrest / interview",
    "Risk assessment answers",
    "Fit to detain",
    "Fit to interview",
    "Fit to release",
    "Release time",
    "Reception date",
    "Establishment",
    "Transfers",
    "Legal status",
    "Expected release date",
    "release destination",
    "Release",
    "to whom",
    "data classes",
    "Purpose",
    "Period",
    "Withdrawal",
    "Source system",
    "Source event time",
    "Details",
];

pub struct Item {
    pub display: String,
    props: BTreeMap<String, String>,
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

pub fn items(dir: &Path) -> Vec<Item> {
    let cs = read(&dir.join("CodeSystem-hjmd-item.json"));
    cs["concept"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Item {
            display: c["display"].as_str().unwrap().to_owned(),
            props: c["property"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["code"].as_str().unwrap().to_owned(),
                        p["valueString"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// Data class → labels, from the profiles' hjmd-labels extensions.
fn class_labels(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("StructureDefinition-")
        {
            continue;
        }
        let sd = read(&path);
        let Some(ext) = sd["extension"].as_array().and_then(|e| e.first()) else {
            continue;
        };
        let subs = ext["extension"].as_array().unwrap();
        let code = |n: &str| {
            subs.iter()
                .filter(|s| s["url"] == n)
                .map(|s| s["valueCode"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        let mut labels = code("confidentiality");
        labels.extend(code("sensitivity"));
        out.insert(code("dataClass")[0].clone(), labels.join(", "));
    }
    out
}

/// Data class → roles that may see it (with conditions), from the role policy.
fn class_roles(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let policy = read(&dir.join("role-policy.json"));
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for role in policy["roles"].as_array().unwrap() {
        for grant in role["grants"].as_array().unwrap() {
            let mut who = role["role"].as_str().unwrap().to_owned();
            if grant["registered-only"] == true {
                who.push_str(" (registered)");
            }
            if grant["basis"] == "consent" {
                who.push_str(" (with consent)");
            }
            out.entry(grant["class"].as_str().unwrap().to_owned())
                .or_default()
                .push(who);
        }
    }
    out
}

pub fn render(dir: &Path) -> String {
    let labels = class_labels(dir);
    let roles = class_roles(dir);
    let mut out = String::from(
        "# Health & Justice Minimum Dataset — reference\n\n\
         Generated from `profiles/hjmd/` (CodeSystem `hjmd-item`, the profiles' `hjmd-labels`\n\
         extensions) and `profiles/hjmd/role-policy.json`. Do not edit: run\n\
         `WAYMARK_BLESS=1 cargo test -p waymark-profile --test it package`.\n\n\
         Canonical base `https://fhir.waymark.org.uk/`; profiles are\n\
         `StructureDefinition/<profile>`, value sets `ValueSet/<value set>`. Labels: HL7\n\
         confidentiality (minimum) and required sensitivity codes.\n",
    );
    let mut group = String::new();
    for item in items(dir) {
        let p = |k: &str| item.props.get(k).cloned().unwrap_or_else(|| "—".into());
        if p("group") != group {
            group = p("group");
            let _ = write!(
                out,
                "\n## {group}\n\n| item | FHIR path | profile | value set | data class | labels | roles that see it |\n|---|---|---|---|---|---|---|\n"
            );
        }
        let class = p("dataClass");
        let seen = roles
            .get(&class)
            .map_or("— (provenance: travels with every item)".into(), |r| {
                r.join(", ")
            });
        let _ = writeln!(
            out,
            "| {} | `{}` | `{}` | {} | `{class}` | {} | {seen} |",
            item.display,
            p("path").replace('|', "\\|"),
            p("profile"),
            item.props
                .get("valueSet")
                .map_or("—".into(), |v| format!("`{v}`")),
            labels.get(&class).cloned().unwrap_or_else(|| "—".into()),
        );
    }
    out
}
