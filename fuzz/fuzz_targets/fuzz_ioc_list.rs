#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shield_intel::lists::fuzz_list(data));
