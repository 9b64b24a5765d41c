#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shield_intel::pattern::fuzz_pattern(data));
