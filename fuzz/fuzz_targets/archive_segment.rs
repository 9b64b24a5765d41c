#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = shield_store::archive::read_segment_bytes(data);
});
