#![no_main]
//! Fuzz target `api_query`: see `waymark_testkit::fuzz::api_query`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::api_query(data));
