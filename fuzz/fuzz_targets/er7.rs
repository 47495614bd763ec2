#![no_main]
//! Fuzz target `er7`: see `waymark_testkit::fuzz::er7`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::er7(data));
