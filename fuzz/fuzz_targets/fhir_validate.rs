#![no_main]
//! Fuzz target `fhir_validate`: see `waymark_testkit::fuzz::fhir_validate`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::fhir_validate(data));
