//! The report: every figure as JSON (`report.json`), a Markdown page (`report.md`) and a
//! table on stdout. Sections fill it as they run; what was not measured is listed, with why.

use std::{fmt::Write as _, path::Path};

use serde_json::{Map, Value, json};

/// One line of the table: a figure with its unit and what it is compared against.
#[derive(Clone, Debug)]
pub struct Row {
    /// The section (`ceilings`, `end_to_end`, ...).
    pub section: String,
    /// What was measured.
    pub what: String,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// Conditions or a ratio.
    pub note: String,
}

/// The whole run's figures.
#[derive(Debug, Default)]
pub struct Report {
    root: Map<String, Value>,
    rows: Vec<Row>,
    skipped: Vec<Value>,
}

impl Report {
    /// A report of a run on a machine described by `facts`, started by `command`.
    pub fn new(facts: Value, command: &str) -> Self {
        let mut root = Map::new();
        root.insert("machine".into(), facts);
        root.insert("command".into(), json!(command));
        Self {
            root,
            ..Self::default()
        }
    }

    /// Sets the value at `path` (objects made on the way).
    pub fn set(&mut self, path: &[&str], value: Value) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut node = &mut self.root;
        for key in parents {
            let entry = node.entry((*key).to_owned()).or_insert_with(|| json!({}));
            if !entry.is_object() {
                *entry = json!({});
            }
            let Some(next) = entry.as_object_mut() else {
                return;
            };
            node = next;
        }
        node.insert((*last).to_owned(), value);
    }

    /// The number at `path`, if one was measured.
    pub fn number(&self, path: &[&str]) -> Option<f64> {
        let (first, rest) = path.split_first()?;
        let mut node = self.root.get(*first)?;
        for key in rest {
            node = node.get(*key)?;
        }
        node.as_f64()
    }

    /// Adds a line to the table.
    pub fn row(&mut self, section: &str, what: &str, value: f64, unit: &str, note: &str) {
        self.rows.push(Row {
            section: section.to_owned(),
            what: what.to_owned(),
            value,
            unit: unit.to_owned(),
            note: note.to_owned(),
        });
    }

    /// Records that `what` was not measured, and why.
    pub fn skip(&mut self, what: &str, reason: &str) {
        self.skipped.push(json!({"what": what, "reason": reason}));
    }

    /// The JSON report.
    pub fn to_json(&self) -> Value {
        let mut root = self.root.clone();
        root.insert("skipped".into(), Value::Array(self.skipped.clone()));
        Value::Object(root)
    }

    /// The table printed on stdout.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<14} {:<58} {:>12} {:<10} note\n",
            "section", "what", "value", "unit"
        );
        for r in &self.rows {
            let _ = writeln!(
                out,
                "{:<14} {:<58} {:>12} {:<10} {}",
                r.section,
                r.what,
                figure(r.value),
                r.unit,
                r.note
            );
        }
        for s in &self.skipped {
            let _ = writeln!(out, "skipped: {} ({})", s["what"], s["reason"]);
        }
        out
    }

    /// The Markdown page: machine facts, every figure, the goals, what was skipped, the command.
    pub fn markdown(&self) -> String {
        let mut md = String::from("# Waymark benchmark report\n\n## Machine\n\n");
        if let Some(Value::Object(facts)) = self.root.get("machine") {
            for (k, v) in facts {
                let _ = writeln!(md, "- **{k}**: {}", plain(v));
            }
        }
        md.push_str(
            "\n## Figures\n\n| section | what | value | unit | note |\n|---|---|---:|---|---|\n",
        );
        for r in &self.rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                r.section,
                r.what,
                figure(r.value),
                r.unit,
                r.note
            );
        }
        if let Some(Value::Array(goals)) = self.root.get("goals") {
            md.push_str("\n## Goals (issue 12)\n\n| goal | measured | target | met |\n|---|---:|---:|---|\n");
            for g in goals {
                let met = match g["met"].as_bool() {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None if g["measured"].is_null() => "not measured",
                    None => "not judged",
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {met} |",
                    plain(&g["goal"]),
                    g["measured"].as_f64().map_or("-".into(), figure),
                    plain(&g["target"])
                );
            }
        }
        if !self.skipped.is_empty() {
            md.push_str("\n## Not measured in this run\n\n");
            for s in &self.skipped {
                let _ = writeln!(md, "- {}: {}", plain(&s["what"]), plain(&s["reason"]));
            }
        }
        let command = self.root.get("command").map_or(String::new(), plain);
        let _ = write!(md, "\n## Reproduce\n\n```\n{command}\n```\n");
        md
    }

    /// Writes `report.json` and `report.md` into `dir` (made if missing).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let json = serde_json::to_vec_pretty(&self.to_json()).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("report.md"), self.markdown())
    }
}

/// A figure with as many decimals as its size deserves.
fn figure(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.4}")
    }
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_values_rows_and_skips_reach_every_output() {
        let mut r = Report::new(json!({"cores": 2}), "waymark bench --quick");
        r.set(&["ceilings", "json", "mib_per_s"], json!(12.5));
        r.row(
            "ceilings",
            "JSON parse+serialise",
            12.5,
            "MiB/s",
            "serde_json",
        );
        r.skip("peers", "--only");
        assert_eq!(r.number(&["ceilings", "json", "mib_per_s"]), Some(12.5));
        assert_eq!(r.to_json()["skipped"][0]["what"], "peers");
        assert!(r.table().contains("JSON parse+serialise"));
        let md = r.markdown();
        assert!(md.contains("| ceilings | JSON parse+serialise | 12.50 | MiB/s |"));
        assert!(md.contains("waymark bench --quick"));
    }
}
