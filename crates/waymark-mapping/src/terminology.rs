//! FHIR ConceptMaps from `mappings/terminology/*.json`, for `wm_translate`.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::MappingError;

/// What a map answers for a code it has no element for (`ConceptMap.group.unmapped`).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Unmapped {
    /// No `unmapped`: no answer (`null`).
    Nothing,
    /// `mode: fixed`: this code.
    Fixed(String),
    /// `mode: provided`: the source code itself.
    Provided,
}

#[derive(Debug)]
struct Translation {
    codes: HashMap<String, String>,
    unmapped: Unmapped,
}

/// Every loaded ConceptMap, by `id` and by `url`.
#[derive(Debug, Default)]
pub(crate) struct ConceptMaps {
    maps: Vec<Translation>,
    by_name: HashMap<String, usize>,
}

impl ConceptMaps {
    /// Loads every `ConceptMap-*.json` in `dir` (a missing folder means no maps).
    pub(crate) fn load(dir: &Path) -> Result<Self, MappingError> {
        let mut maps = Self::default();
        if !dir.is_dir() {
            return Ok(maps);
        }
        for path in concept_map_files(dir)? {
            let err = |reason: String| MappingError::Load {
                path: path.clone(),
                reason,
            };
            let bytes = std::fs::read(&path).map_err(|e| err(e.to_string()))?;
            let json: Value = serde_json::from_slice(&bytes).map_err(|e| err(e.to_string()))?;
            maps.add(&json).map_err(err)?;
        }
        Ok(maps)
    }

    pub(crate) fn add(&mut self, map: &Value) -> Result<(), String> {
        if map["resourceType"] != "ConceptMap" {
            return Err("not a ConceptMap".into());
        }
        let id = map["id"].as_str().ok_or("the ConceptMap has no `id`")?;
        let mut translation = Translation {
            codes: HashMap::new(),
            unmapped: Unmapped::Nothing,
        };
        for group in map["group"].as_array().into_iter().flatten() {
            for element in group["element"].as_array().into_iter().flatten() {
                let Some(code) = element["code"].as_str() else {
                    continue;
                };
                let target = element["target"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| !matches!(t["equivalence"].as_str(), Some("unmatched" | "disjoint")));
                if let Some(target) = target.and_then(|t| t["code"].as_str()) {
                    translation
                        .codes
                        .entry(code.to_owned())
                        .or_insert_with(|| target.to_owned());
                }
            }
            if group.get("unmapped").is_some() && translation.unmapped == Unmapped::Nothing {
                translation.unmapped = unmapped(&group["unmapped"])?;
            }
        }
        let index = self.maps.len();
        self.maps.push(translation);
        for name in [Some(id), map["url"].as_str()].into_iter().flatten() {
            if self.by_name.insert(name.to_owned(), index).is_some() {
                return Err(format!("ConceptMap `{name}` is defined twice"));
            }
        }
        Ok(())
    }

    /// The target code for `code` in map `name` (id or url): `Err` when there is no such map,
    /// `Ok(None)` when the map has no answer.
    pub(crate) fn translate<'s>(
        &'s self,
        name: &str,
        code: &'s str,
    ) -> Result<Option<&'s str>, ()> {
        let map = &self.maps[*self.by_name.get(name).ok_or(())?];
        Ok(match (map.codes.get(code), &map.unmapped) {
            (Some(target), _) => Some(target),
            (None, Unmapped::Fixed(target)) => Some(target),
            (None, Unmapped::Provided) => Some(code),
            (None, Unmapped::Nothing) => None,
        })
    }
}

/// The `ConceptMap-*.json` files of a terminology folder, sorted.
pub(crate) fn concept_map_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, MappingError> {
    let mut files = crate::set::files_with_extension(dir, "json")?;
    files.retain(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("ConceptMap-"))
    });
    Ok(files)
}

fn unmapped(spec: &Value) -> Result<Unmapped, String> {
    match spec["mode"].as_str() {
        Some("fixed") => spec["code"]
            .as_str()
            .map(|c| Unmapped::Fixed(c.to_owned()))
            .ok_or_else(|| "`unmapped` mode `fixed` needs a `code`".into()),
        Some("provided") => Ok(Unmapped::Provided),
        Some(other) => Err(format!("`unmapped` mode `{other}` is not supported")),
        None => Err("`unmapped` has no `mode`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn translates_with_fixed_fallback() {
        let mut maps = ConceptMaps::default();
        maps.add(
            &json!({"resourceType": "ConceptMap", "id": "m", "url": "https://x/m",
            "group": [{"element": [
                {"code": "H", "target": [{"code": "risk-self", "equivalence": "wider"}]},
                {"code": "Q", "target": [{"code": "no", "equivalence": "unmatched"}]}],
              "unmapped": {"mode": "fixed", "code": "risk-others"}}]}),
        )
        .unwrap();
        assert_eq!(maps.translate("m", "H"), Ok(Some("risk-self")));
        assert_eq!(maps.translate("https://x/m", "Z"), Ok(Some("risk-others")));
        assert_eq!(maps.translate("m", "Q"), Ok(Some("risk-others")));
        assert_eq!(maps.translate("other", "H"), Err(()));
    }

    #[test]
    fn provided_and_no_fallback() {
        let mut maps = ConceptMaps::default();
        maps.add(&json!({"resourceType": "ConceptMap", "id": "p",
            "group": [{"element": [], "unmapped": {"mode": "provided"}}]}))
            .unwrap();
        maps.add(&json!({"resourceType": "ConceptMap", "id": "n", "group": [{}]}))
            .unwrap();
        assert_eq!(maps.translate("p", "Z"), Ok(Some("Z")));
        assert_eq!(maps.translate("n", "Z"), Ok(None));
        assert!(
            maps.add(&json!({"resourceType": "ConceptMap", "id": "n"}))
                .is_err()
        );
    }
}
