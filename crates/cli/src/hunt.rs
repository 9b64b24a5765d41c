//! `shield hunt PATH...`: Sigma rules (and indicators of compromise, `--intel`) over log files and
//! folders, offline, on every core.
//!
//! A thin layer over `shield_hunt::hunt`: options, the IOC matcher built from `--intel` files, the output file or stdout, a progress bar on
//! stderr (only when stderr is a terminal), problems with the input as warnings, and the summary.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shield_event::{Level, ParseError};
use shield_hunt::output::OutputFormat;
use shield_hunt::{HuntError, HuntOptions, LoadedRules, Progress};

/// The environment variable naming the default rule folders (separated like `PATH`).
pub const RULES_ENV: &str = "SHIELD_RULES";
/// Problems with the input printed one by one; the rest are only counted.
const SHOWN_PROBLEMS: usize = 20;

/// Options of `shield hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Log files and folders (folders are searched recursively for .evtx, .json, .jsonl, .ndjson,
    /// .log, .txt).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Rule files or folders, repeatable. Without it, the folders listed in SHIELD_RULES
    /// (separated like PATH) are used.
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
    /// Log-source mapping file (default: Shield's Windows mapping).
    #[arg(long, value_name = "FILE")]
    mapping: Option<PathBuf>,
    /// Report only hits of this level or above (informational, low, medium, high, critical).
    #[arg(long, value_name = "LEVEL")]
    min_level: Option<Level>,
    /// Output format: table, jsonl or csv.
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    format: OutputFormat,
    /// Write hits to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Matching threads (default: one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    /// No progress bar and no summary (problems with the input are still reported).
    #[arg(long, short)]
    quiet: bool,
    /// Indicators of compromise to sweep the logs for, repeatable: a STIX bundle, a MISP event or
    /// feed folder, a CSV or one-per-line list. IOC hits are reported beside Sigma hits (rule id =
    /// indicator id); without --rules (and SHIELD_RULES) only the indicators run.
    #[arg(long = "intel", value_name = "FILE")]
    intel: Vec<PathBuf>,
    /// Level of IOC hits.
    #[arg(long, default_value = "high", value_name = "LEVEL")]
    intel_level: Level,
}

/// Runs the command.
pub fn run(args: HuntArgs) -> anyhow::Result<()> {
    let rules = if args.rules.is_empty() {
        std::env::var_os(RULES_ENV)
            .map(|v| std::env::split_paths(&v).collect())
            .unwrap_or_default()
    } else {
        args.rules.clone()
    };
    let detectors = if args.intel.is_empty() {
        Vec::new()
    } else {
        let (detector, load) = crate::intel::sweep_detector(&args.intel, args.intel_level)?;
        if !args.quiet {
            eprintln!(
                "intel: {} indicators ({} values) loaded{}",
                load.indicators,
                load.values,
                if load.not_matchable > 0 {
                    format!(
                        ", {} indicators without values to look up left out",
                        load.not_matchable
                    )
                } else {
                    String::new()
                }
            );
        }
        vec![detector]
    };
    let opts = HuntOptions {
        rules,
        mapping: args.mapping.clone(),
        min_level: args.min_level,
        paths: args.paths.clone(),
        threads: args.threads,
        detectors,
        ..HuntOptions::default()
    };
    // Open the output first: an unwritable file is an error before any work is done.
    let (out, color): (Box<dyn Write>, bool) = match &args.output {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create output file {}", path.display()))?;
            (Box::new(BufWriter::with_capacity(256 * 1024, file)), false)
        }
        None => {
            let stdout = io::stdout();
            let color = args.format == OutputFormat::Table
                && stdout.is_terminal()
                && std::env::var_os("NO_COLOR").is_none();
            (
                Box::new(BufWriter::with_capacity(256 * 1024, stdout.lock())),
                color,
            )
        }
    };
    let mut sink = args.format.sink(out, color);
    let progress = TerminalProgress::new(args.quiet);
    let result = shield_hunt::hunt(&opts, &mut sink, &progress);
    progress.close();
    match result {
        Ok(summary) => {
            if !args.quiet {
                eprint!("{summary}");
            }
            Ok(())
        }
        // The reader of our output went away (`shield hunt … | head`): not an error.
        Err(HuntError::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Progress on stderr: a bar when stderr is a terminal, warnings for problems with the input.
struct TerminalProgress {
    bar: RefCell<Option<ProgressBar>>,
    quiet: bool,
    problems: Cell<usize>,
    events: Cell<u64>,
}

impl TerminalProgress {
    fn new(quiet: bool) -> Self {
        TerminalProgress {
            bar: RefCell::new(None),
            quiet,
            problems: Cell::new(0),
            events: Cell::new(0),
        }
    }

    /// Prints `line` on stderr without tearing the bar.
    fn say(&self, line: &str) {
        match self.bar.borrow().as_ref() {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn close(&self) {
        if let Some(bar) = self.bar.borrow_mut().take() {
            bar.finish_and_clear();
        }
        let hidden = self.problems.get().saturating_sub(SHOWN_PROBLEMS);
        if hidden > 0 {
            eprintln!("warning: {hidden} more problems with the input not shown");
        }
    }
}

impl Progress for TerminalProgress {
    fn rules_loaded(&self, rules: &LoadedRules) {
        if !self.quiet && !rules.rejected.is_empty() {
            self.say(&format!(
                "warning: {} rule files or documents rejected; run `shield rules check` for details",
                rules.rejected.len()
            ));
        }
    }

    fn start(&self, _files: usize, bytes: u64) {
        if self.quiet || !io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        ) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.bar.borrow_mut() = Some(bar);
    }

    fn advance(&self, bytes: u64, events: u64) {
        let total = self.events.get() + events;
        self.events.set(total);
        if let Some(bar) = self.bar.borrow().as_ref() {
            bar.inc(bytes);
            if events > 0 {
                bar.set_message(format!("{total} events"));
            }
        }
    }

    fn problem(&self, error: &ParseError) {
        let n = self.problems.get() + 1;
        self.problems.set(n);
        if n <= SHOWN_PROBLEMS {
            self.say(&format!("warning: {error}"));
        }
    }
}
