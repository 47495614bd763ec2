#![no_main]
//! Fuzz target `athena_page`: see `waymark_testkit::fuzz::athena_page`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| waymark_testkit::fuzz::athena_page(data));
