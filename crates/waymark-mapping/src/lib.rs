//! Loads jq mappings from mappings/ and runs them with jaq. Pure after loading.
