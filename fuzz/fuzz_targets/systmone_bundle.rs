#![no_main]
//! Fuzz target `systmone_bundle`: see `waymark_testkit::fuzz::systmone_bundle`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::systmone_bundle(data));
