#![no_main]
//! Fuzz target `webhook_verify`: see `waymark_testkit::fuzz::webhook_verify`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::webhook_verify(data));
