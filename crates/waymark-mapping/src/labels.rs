//! Security labels as data: `mappings/terminology/labels.json` names the data-class and
//! confidentiality systems, the known codes and each class's default confidentiality.
//! `wm_security` builds labels from it, and the runner checks every produced resource with it.
//!
//! ```json
//! { "version": 1,
//!   "dataClass": { "system": "https://…/hjmd-data-class",
//!                  "codes": { "identity": {"confidentiality": "N"}, … } },
//!   "confidentiality": { "system": "http://…/v3-Confidentiality", "codes": ["N", "R", "V"] } }
//! ```
//!
//! Without the file, the hub's built-in classes (`waymark_core::DataClass`) and N/R/V apply,
//! with no defaults (so `wm_security(class)` needs the file; `wm_security(class; level)` does not).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use waymark_core::{CONFIDENTIALITY_SYSTEM, DATA_CLASS_SYSTEM, DataClass};

use crate::MappingError;

/// The file name under `terminology/`.
pub const LABELS_FILE: &str = "labels.json";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    version: u32,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    data_class: ClassSection,
    confidentiality: LevelSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassSection {
    system: String,
    codes: BTreeMap<String, ClassEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassEntry {
    confidentiality: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelSection {
    system: String,
    codes: Vec<String>,
}

/// The label vocabulary mappings use.
#[derive(Debug, Clone)]
pub(crate) struct Labels {
    class_system: String,
    level_system: String,
    /// Data class → default confidentiality.
    classes: BTreeMap<String, Option<String>>,
    levels: Vec<String>,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            class_system: DATA_CLASS_SYSTEM.to_owned(),
            level_system: CONFIDENTIALITY_SYSTEM.to_owned(),
            classes: DataClass::ALL
                .iter()
                .map(|c| (c.code().to_owned(), None))
                .collect(),
            levels: ["N", "R", "V"].map(str::to_owned).to_vec(),
        }
    }
}

impl Labels {
    /// Loads `dir/labels.json`, or the built-in vocabulary when there is no such file.
    pub(crate) fn load(dir: &Path) -> Result<Self, MappingError> {
        let path = dir.join(LABELS_FILE);
        if !path.is_file() {
            return Ok(Self::default());
        }
        let err = |reason: String| MappingError::Load {
            path: path.clone(),
            reason,
        };
        let bytes = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
        let file: File = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
        Self::from_file(file).map_err(err)
    }

    fn from_file(file: File) -> Result<Self, String> {
        if file.version != 1 {
            return Err(format!(
                "labels version {} is not supported (this build reads 1)",
                file.version
            ));
        }
        let levels = file.confidentiality.codes;
        for (class, entry) in &file.data_class.codes {
            if let Some(level) = &entry.confidentiality
                && !levels.contains(level)
            {
                return Err(format!(
                    "data class `{class}` defaults to a confidentiality that is not listed"
                ));
            }
        }
        Ok(Self {
            class_system: file.data_class.system,
            level_system: file.confidentiality.system,
            classes: file
                .data_class
                .codes
                .into_iter()
                .map(|(k, v)| (k, v.confidentiality))
                .collect(),
            levels,
        })
    }

    /// Whether `class` is a known data class.
    pub(crate) fn knows_class(&self, class: &str) -> bool {
        self.classes.contains_key(class)
    }

    /// The known data classes.
    #[cfg(test)]
    pub(crate) fn classes(&self) -> impl Iterator<Item = &str> {
        self.classes.keys().map(String::as_str)
    }

    /// `meta.security` for `class` at `level` (the class's default when `None`), as a jq value.
    /// Errors say what is wrong without repeating the codes.
    pub(crate) fn security(
        &self,
        class: &str,
        level: Option<&str>,
    ) -> Result<jaq_json::Val, &'static str> {
        let default = self
            .classes
            .get(class)
            .ok_or("the data class is not one of terminology/labels.json")?;
        let level = match level {
            Some(level) => level,
            None => default.as_deref().ok_or(
                "the data class has no default confidentiality in terminology/labels.json",
            )?,
        };
        if !self.levels.iter().any(|l| l == level) {
            return Err("the confidentiality is not one of terminology/labels.json");
        }
        let coding = |system: &str, code: &str| {
            let key = |k: &str| jaq_json::Val::from(k.to_owned());
            let fields = [
                (key("system"), jaq_json::Val::from(system.to_owned())),
                (key("code"), jaq_json::Val::from(code.to_owned())),
            ];
            jaq_json::Val::obj(fields.into_iter().collect())
        };
        Ok([
            coding(&self.class_system, class),
            coding(&self.level_system, level),
        ]
        .into_iter()
        .collect())
    }

    /// Checks `meta.security` of one resource: exactly one known data class and one known
    /// confidentiality. The error names what is missing (never a value).
    pub(crate) fn check(&self, resource: &Value) -> Result<(), String> {
        let labels = resource["meta"]["security"].as_array();
        let codes = |system: &str| -> Vec<&str> {
            labels
                .into_iter()
                .flatten()
                .filter(|l| l["system"] == system)
                .map(|l| l["code"].as_str().unwrap_or_default())
                .collect()
        };
        let classes = codes(&self.class_system);
        let levels = codes(&self.level_system);
        match classes.as_slice() {
            [] => return Err("has no data-class label in `meta.security`".into()),
            [c] if !self.knows_class(c) => {
                return Err("has a data-class label that is not in terminology/labels.json".into());
            }
            [_] => {}
            more => {
                return Err(format!(
                    "has {} data-class labels (needs exactly one)",
                    more.len()
                ));
            }
        }
        match levels.as_slice() {
            [] => Err("has no confidentiality label in `meta.security`".into()),
            [l] if !self.levels.iter().any(|k| k == l) => {
                Err("has a confidentiality label that is not in terminology/labels.json".into())
            }
            [_] => Ok(()),
            more => Err(format!(
                "has {} confidentiality labels (needs exactly one)",
                more.len()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn repo() -> Labels {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings/terminology");
        Labels::load(&dir).unwrap()
    }

    #[test]
    fn the_repository_file_lists_exactly_the_hubs_data_classes() {
        let labels = repo();
        let mut ours: Vec<&str> = labels.classes().collect();
        let mut core: Vec<&str> = DataClass::ALL.iter().map(|c| c.code()).collect();
        ours.sort_unstable();
        core.sort_unstable();
        assert_eq!(ours, core);
        assert_eq!(labels.class_system, DATA_CLASS_SYSTEM);
        assert_eq!(labels.level_system, CONFIDENTIALITY_SYSTEM);
    }

    fn security(labels: &Labels, class: &str, level: Option<&str>) -> Result<Value, &'static str> {
        labels
            .security(class, level)
            .map(|v| crate::convert::from_val(&v).unwrap())
    }

    #[test]
    fn builds_labels_with_defaults_and_refuses_unknown_codes() {
        let labels = repo();
        let s = security(&labels, "identity", None).unwrap();
        assert_eq!(s[0]["code"], "identity");
        assert_eq!(s[1]["code"], "N");
        assert_eq!(
            security(&labels, "risk-self", Some("V")).unwrap()[1]["code"],
            "V"
        );
        assert!(labels.security("diagnosis", None).is_err());
        assert!(labels.security("identity", Some("X")).is_err());
        assert!(Labels::default().security("identity", None).is_err());
        assert!(Labels::default().security("identity", Some("R")).is_ok());
    }

    #[test]
    fn checks_one_known_label_of_each_kind() {
        let labels = repo();
        let with = |security: Value| json!({"meta": {"security": security}});
        let good = security(&labels, "detention", None).unwrap();
        assert_eq!(labels.check(&with(good.clone())), Ok(()));
        assert!(
            labels
                .check(&json!({}))
                .unwrap_err()
                .contains("no data-class")
        );
        let only_class = json!([good[0].clone()]);
        assert!(
            labels
                .check(&with(only_class))
                .unwrap_err()
                .contains("no confidentiality")
        );
        let twice = json!([good[0].clone(), good[0].clone(), good[1].clone()]);
        assert!(
            labels
                .check(&with(twice))
                .unwrap_err()
                .contains("2 data-class")
        );
    }
}
