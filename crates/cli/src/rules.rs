//! `shield rules check DIR...`: validates and lints Sigma rules, compiler style.
//!
//! Prints one `file:line: severity: message` line per problem (sorted by file and line), then a
//! summary. Exit status 1 when any rule has an error (it would be left out of detection), 0 when
//! there are only warnings or nothing to say.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Subcommand;
use shield_sigma::{CompiledRuleSet, LoadOptions, Mapping, RuleError, load_rules};

/// Deepest folder nesting followed when counting rule files.
const MAX_DEPTH: usize = 32;

/// `shield rules …`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate and lint rule files: syntax, structure, modifiers, regexes, correlations, log-source
    /// coverage. Exit status 1 if any rule has an error.
    Check {
        /// Rule files or folders (searched recursively for .yml and .yaml).
        #[arg(required = true, value_name = "DIR")]
        paths: Vec<PathBuf>,
        /// Log-source mapping to check coverage against (default: Shield's Windows mapping).
        #[arg(long, value_name = "FILE")]
        mapping: Option<PathBuf>,
    },
}

/// Runs the command.
pub fn run(cmd: RulesCommand) -> anyhow::Result<()> {
    let RulesCommand::Check { paths, mapping } = cmd;
    let mapping = match &mapping {
        Some(path) => Mapping::from_file(path)?,
        None => Mapping::default_windows(),
    };
    let opts = LoadOptions::default();
    let diagnostics = shield_sigma::check(&paths, &opts, &mapping);
    for d in &diagnostics {
        println!("{}", line(d));
    }
    // Rules that loaded and compiled: the loaded ones minus those a compile error left out.
    let (set, _) = load_rules(&paths, &opts);
    let (_, compile_diags) = CompiledRuleSet::compile(&set, &mapping);
    let left_out: HashSet<(&str, Option<&str>, Option<&str>)> = compile_diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| (d.file.as_str(), d.rule_id.as_deref(), d.title.as_deref()))
        .collect();
    let ok = set
        .rules
        .iter()
        .filter(|r| !left_out.contains(&(r.file.as_str(), r.id.as_deref(), Some(r.title.as_str()))))
        .count();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    let files: usize = paths.iter().map(|p| count_rule_files(p, 0)).sum();
    println!("checked {files} files: {ok} rules ok, {errors} errors, {warnings} warnings");
    if errors > 0 {
        bail!("{errors} errors in rules (those rules are left out of detection)");
    }
    Ok(())
}

/// `file:line: severity: message [rule]`.
fn line(d: &RuleError) -> String {
    let mut out = d.file.clone();
    if let Some(line) = d.line {
        out.push_str(&format!(":{line}"));
    }
    out.push_str(&format!(": {}: {}", d.severity.as_str(), d.reason));
    if let Some(rule) = d.rule_id.as_deref().or(d.title.as_deref()) {
        out.push_str(&format!(" [{rule}]"));
    }
    out
}

/// The `.yml`/`.yaml` files under `path` (a file named directly counts whatever its name).
fn count_rule_files(path: &Path, depth: usize) -> usize {
    if path.is_file() {
        return 1;
    }
    if depth >= MAX_DEPTH {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| e.path())
        .map(|p| {
            if p.is_dir() {
                count_rule_files(&p, depth + 1)
            } else {
                usize::from(p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml")
                }))
            }
        })
        .sum()
}
