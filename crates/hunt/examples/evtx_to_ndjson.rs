//! Writes the events of log files (any supported kind) as NDJSON, one payload per line, repeating
//! the whole set until at least N events are written. Used by `scripts/bench-hunt` to build a large
//! NDJSON input from the EVTX attack samples.
//!
//! ```text
//! cargo run --release -p shield-hunt --example evtx_to_ndjson -- OUT.ndjson MIN_EVENTS PATH...
//! ```

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use shield_event::parse::{ParseContext, discover_files, read_file};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out), Some(min), paths) = (args.first(), args.get(1), args.get(2..).unwrap_or(&[]))
    else {
        eprintln!("usage: evtx_to_ndjson OUT.ndjson MIN_EVENTS PATH...");
        return ExitCode::FAILURE;
    };
    let Ok(min) = min.parse::<u64>() else {
        eprintln!("MIN_EVENTS must be a number");
        return ExitCode::FAILURE;
    };
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let (files, problems) = discover_files(&paths);
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let ctx = ParseContext::new("convert");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for file in &files {
        match read_file(file, &ctx) {
            Ok(events) => {
                for event in events.flatten() {
                    if let Ok(line) = serde_json::to_vec(&event.data) {
                        lines.push(line);
                    }
                }
            }
            Err(e) => eprintln!("warning: {e}"),
        }
    }
    if lines.is_empty() {
        eprintln!("no events read");
        return ExitCode::FAILURE;
    }
    let result = (|| -> std::io::Result<u64> {
        let mut w = BufWriter::with_capacity(1 << 20, File::create(out)?);
        let mut written = 0u64;
        while written < min {
            for line in &lines {
                w.write_all(line)?;
                w.write_all(b"\n")?;
            }
            written += lines.len() as u64;
        }
        w.flush()?;
        Ok(written)
    })();
    match result {
        Ok(n) => {
            eprintln!("{out}: {n} events ({} distinct)", lines.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{out}: {e}");
            ExitCode::FAILURE
        }
    }
}
