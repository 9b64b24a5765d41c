#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shield_sigma::fuzz::condition(data));
