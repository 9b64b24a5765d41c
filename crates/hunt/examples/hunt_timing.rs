//! Times the stages of a hunt without the command line: rule loading, then a hunt over PATHs into
//! a discarding JSON-lines sink. For profiling (`perf record`) and quick comparisons.
//!
//! ```text
//! cargo run --release -p shield-hunt --example hunt_timing -- THREADS RULES_DIR[,RULES_DIR...] PATH...
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use shield_hunt::output::OutputFormat;
use shield_hunt::{Hit, HitSink, HuntOptions, LoadedRules, NoProgress, hunt_with_rules};

/// A sink that ignores hits, to time a hunt without formatting.
struct Discard;

impl HitSink for Discard {
    fn hit(&mut self, _: &Hit<'_>) -> std::io::Result<()> {
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: hunt_timing THREADS RULES_DIR[,RULES_DIR...] PATH...");
        return ExitCode::FAILURE;
    }
    let threads = args[0].parse().unwrap_or(0);
    let rules: Vec<PathBuf> = args[1].split(',').map(PathBuf::from).collect();
    let rules = match LoadedRules::load(&rules, None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cpu_after_load = cpu_seconds();
    eprintln!(
        "rules: {} loaded in {:.3} s wall, {:.2} s CPU",
        rules.detection_rules(),
        rules.load_time.as_secs_f64(),
        cpu_after_load
    );
    let opts = HuntOptions {
        paths: args[2..].iter().map(PathBuf::from).collect(),
        threads,
        ..HuntOptions::default()
    };
    // HUNT_FORMAT=table|jsonl|csv|none (default jsonl); output is discarded.
    let format = std::env::var("HUNT_FORMAT").unwrap_or_else(|_| "jsonl".to_owned());
    let mut sink: Box<dyn HitSink> = match format.parse::<OutputFormat>() {
        Ok(f) => f.sink(Box::new(std::io::sink()), false),
        Err(_) => Box::new(Discard),
    };
    match hunt_with_rules(&rules, &opts, &mut sink, &NoProgress) {
        Ok(summary) => {
            eprint!("{summary}");
            eprintln!("hunt CPU: {:.2} s", cpu_seconds() - cpu_after_load);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat` (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
