#![no_main]
//! Fuzz target `mllp`: see `waymark_testkit::fuzz::mllp`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::mllp(data));
