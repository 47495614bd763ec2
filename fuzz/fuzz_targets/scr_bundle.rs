#![no_main]
//! Fuzz target `scr_bundle`: see `waymark_testkit::fuzz::scr_bundle`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::scr_bundle(data));
