//! The HJMD item catalogue (`CodeSystem-hjmd-item.json`, embedded): each item code's display
//! and group, so the summary names and places items without hard-wiring the dataset.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

const ITEMS: &str = include_str!("../../../../profiles/hjmd/CodeSystem-hjmd-item.json");

/// Display and group of an item code.
pub(crate) struct ItemInfo {
    pub display: String,
    pub group: String,
}

fn catalog() -> &'static BTreeMap<String, ItemInfo> {
    static CATALOG: OnceLock<BTreeMap<String, ItemInfo>> = OnceLock::new();
    CATALOG.get_or_init(|| parse(ITEMS))
}

/// Reads a CodeSystem's concepts with their `group` property; anything unreadable is skipped
/// (the summary then falls back to the item key and the data class).
fn parse(text: &str) -> BTreeMap<String, ItemInfo> {
    let json: Value = serde_json::from_str(text).unwrap_or_default();
    json["concept"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let group = c["property"]
                .as_array()?
                .iter()
                .find(|p| p["code"] == "group")?["valueString"]
                .as_str()?;
            let info = ItemInfo {
                display: c["display"].as_str()?.to_owned(),
                group: group.to_owned(),
            };
            Some((c["code"].as_str()?.to_owned(), info))
        })
        .collect()
}

/// The item's group (`self-harm`, `prison`, ...), if the code is an HJMD item.
pub(crate) fn group(code: &str) -> Option<&'static str> {
    catalog().get(code).map(|i| i.group.as_str())
}

/// A short label for an item code: its display without a trailing parenthesis, else the code.
pub(crate) fn label(code: &str) -> String {
    match catalog().get(code) {
        Some(info) => match info.display.split_once(" (") {
            Some((short, _)) if !short.is_empty() => short.to_owned(),
            _ => info.display.clone(),
        },
        None => code.replace('-', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_names_and_groups_items() {
        assert_eq!(group("self-harm-history"), Some("self-harm"));
        assert_eq!(group("expected-release-date"), Some("prison"));
        assert_eq!(label("self-harm-history"), "History of self-harm");
        assert_eq!(label("no-such-item"), "no such item");
        assert!(parse("not json").is_empty());
    }
}
