#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| shield_event::parse::fuzzing::ndjson_reuse(data));
