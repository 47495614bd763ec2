//! The summary as a plain, printable HTML page: headlines first, detail below, sources and
//! as-of dates, stale and discrepant statements visibly marked. No script; every value escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;
use waymark_core::SourceSystem;

use crate::dates;
use crate::escape::{escape, list_items};
use crate::summary::{describe, section_data_class, source_name, when};

const STYLE: &str = "body{font-family:Arial,Helvetica,sans-serif;margin:1.5em;color:#000}\
h1{font-size:1.5em}h2{border-bottom:2px solid #000;margin-top:1.5em}\
h3{margin:1em 0 .3em}.class{font-weight:normal;font-size:.8em;color:#444}\
li{margin:.2em 0}li.stale,li.discrepancy{font-weight:bold;border-left:6px solid #b00;padding-left:.4em}\
li.ended{color:#555}li.headline{font-weight:bold}.flag{color:#b00}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.25em;text-align:left;vertical-align:top}\
@media print{body{margin:0}h2{page-break-after:avoid}}";

/// Renders a summary document ([`crate::summary`]) as a standalone HTML page.
pub fn html(summary: &Value) -> String {
    let index = Index::new(summary);
    let composition = index.composition();
    let mut out = String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let title = composition["title"].as_str().unwrap_or("Person summary");
    let who = index.patient_name(composition);
    let _ = write!(
        out,
        "<title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}: {}</h1>\n",
        escape(title),
        escape(title),
        escape(&who)
    );
    let made = composition["date"]
        .as_str()
        .map_or_else(|| "at an unknown time".to_owned(), when);
    let _ = writeln!(
        out,
        "<p>Summary made {}. Every statement names its source and the date it was true on. \
         Statements marked <span class=\"flag\">STALE</span> or \
         <span class=\"flag\">DISCREPANCY</span> must be checked before they are relied on.</p>",
        escape(&made)
    );
    let sections: Vec<&Value> = composition["section"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    out.push_str("<h2>At a glance</h2>\n");
    for section in &sections {
        glance(&mut out, section);
    }
    out.push_str("<h2>Detail</h2>\n");
    for section in &sections {
        detail(&mut out, section, &index);
    }
    out.push_str("</body></html>\n");
    out
}

fn heading(out: &mut String, section: &Value) {
    let title = section["title"].as_str().unwrap_or("Section");
    let class = section_data_class(section).map_or("unlabelled", |c| c.code());
    let _ = write!(
        out,
        "<h3>{} <span class=\"class\">[{}]</span></h3>",
        escape(title),
        escape(class)
    );
}

fn glance(out: &mut String, section: &Value) {
    heading(out, section);
    out.push_str("<ul>");
    let div = section["text"]["div"].as_str().unwrap_or_default();
    for (class, text) in list_items(div) {
        let class = match class.as_str() {
            "headline" | "stale" | "discrepancy" | "ended" => class.as_str(),
            _ => "plain",
        };
        let _ = write!(out, "<li class=\"{class}\">{}</li>", escape(&text));
    }
    out.push_str("</ul>\n");
}

fn detail(out: &mut String, section: &Value, index: &Index<'_>) {
    let refs: Vec<&str> = section["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["reference"].as_str())
        .collect();
    if refs.is_empty() {
        return;
    }
    heading(out, section);
    out.push_str("<table><tr><th>Item</th><th>Status</th><th>Source</th><th>Source event</th><th>As of</th></tr>");
    for reference in refs {
        let Some(resource) = index.resources.get(reference) else {
            continue;
        };
        let (source, event) = index.provenance(reference);
        let as_of = dates::own_as_of(resource)
            .map(dates::day)
            .unwrap_or_else(|| event.clone());
        let status = resource["status"].as_str().unwrap_or("—");
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&describe(resource)),
            escape(status),
            escape(&source),
            escape(&event),
            escape(&as_of)
        );
    }
    out.push_str("</table>\n");
}

/// The document's resources by full URL, and each target's Provenance.
struct Index<'a> {
    resources: BTreeMap<&'a str, &'a Value>,
    provenance: BTreeMap<&'a str, &'a Value>,
    first: Option<&'a Value>,
}

impl<'a> Index<'a> {
    fn new(summary: &'a Value) -> Self {
        let mut index = Self {
            resources: BTreeMap::new(),
            provenance: BTreeMap::new(),
            first: None,
        };
        for entry in summary["entry"].as_array().into_iter().flatten() {
            let (Some(url), Some(resource)) = (entry["fullUrl"].as_str(), entry.get("resource"))
            else {
                continue;
            };
            index.first.get_or_insert(resource);
            index.resources.insert(url, resource);
            if resource["resourceType"] == "Provenance" {
                let targets = resource["target"].as_array().into_iter().flatten();
                for t in targets.filter_map(|t| t["reference"].as_str()) {
                    index.provenance.insert(t, resource);
                }
            }
        }
        index
    }

    fn composition(&self) -> &'a Value {
        static NULL: Value = Value::Null;
        self.first
            .filter(|r| r["resourceType"] == "Composition")
            .unwrap_or(&NULL)
    }

    fn patient_name(&self, composition: &Value) -> String {
        let reference = composition["subject"]["reference"]
            .as_str()
            .unwrap_or_default();
        self.resources
            .get(reference)
            .map(|p| describe(p))
            .and_then(|d| d.strip_prefix("Patient: ").map(str::to_owned))
            .unwrap_or_else(|| "name not held".to_owned())
    }

    /// (source name, source event date) of a resource.
    fn provenance(&self, reference: &str) -> (String, String) {
        let Some(p) = self.provenance.get(reference) else {
            return ("not stated".to_owned(), "not stated".to_owned());
        };
        let who = &p["agent"][0]["who"];
        let source = who["identifier"]["value"]
            .as_str()
            .and_then(|s| s.parse::<SourceSystem>().ok())
            .map(source_name)
            .or_else(|| who["display"].as_str())
            .unwrap_or("not stated");
        let event = p["occurredDateTime"]
            .as_str()
            .and_then(|t| dates::parse(t, dates::Bound::Start))
            .map_or_else(|| "not stated".to_owned(), dates::day);
        (source.to_owned(), event)
    }
}
