#![no_main]
//! Fuzz target `mapping`: see `waymark_testkit::fuzz::mapping`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::mapping(data));
