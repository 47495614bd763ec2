#![no_main]
//! Fuzz target `nomis_event`: see `waymark_testkit::fuzz::nomis_event`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::nomis_event(data));
