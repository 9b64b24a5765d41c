#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shield_intel::stix::fuzz_bundle(data));
