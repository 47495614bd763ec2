//! The JSON Schema is generated from the types, and the committed copy is not stale.

use std::path::PathBuf;

#[test]
fn the_committed_schema_is_the_generated_one() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/config.schema.json");
    let generated = serde_json::to_string_pretty(&waymark_config::schema()).expect("json") + "\n";
    if std::env::var_os("WAYMARK_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/reference/config.schema.json is stale: run WAYMARK_BLESS=1 cargo test -p waymark-config --test it schema"
    );
}

#[test]
fn the_schema_describes_every_section_and_refuses_unknown_keys() {
    let schema = waymark_config::schema();
    let properties = schema["properties"].as_object().expect("properties");
    for section in ["version", "hub", "api", "stages", "subscriptions", "feeds"] {
        assert!(properties.contains_key(section), "{section}");
        assert!(
            properties[section]["description"].is_string(),
            "{section} is documented"
        );
    }
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
    assert_eq!(schema["required"], serde_json::json!(["version", "hub"]));
}
