//! What stops a hunt before or while it runs (bad records never do: they are counted and reported).

use std::io;
use std::path::PathBuf;

use shield_sigma::MappingError;

/// A problem that stops a hunt. Bad input records are not errors: they reach
/// [`crate::Progress::problem`] and the summary, and the hunt goes on.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// No rule path was given.
    #[error("no rule folders given: pass --rules DIR (or set SHIELD_RULES)")]
    NoRulePaths,
    /// Rules were looked for but none loaded.
    #[error(
        "no rules loaded from {paths} ({rejected} rejected); run `shield rules check {paths}` for details"
    )]
    NoRules {
        /// The rule paths, joined with spaces.
        paths: String,
        /// Rule documents or files that failed to load or compile.
        rejected: usize,
    },
    /// The log-source mapping file cannot be used.
    #[error("mapping: {0}")]
    Mapping(#[from] MappingError),
    /// No input file was found under the given paths.
    #[error("no input files found under {paths}{}", unreadable_note(.unreadable))]
    NoInput {
        /// The input paths, joined with spaces.
        paths: String,
        /// Paths that could not be read, with the reason.
        unreadable: Vec<String>,
    },
    /// Writing hits failed (disk full, closed pipe…).
    #[error("cannot write hits: {0}")]
    Output(#[source] io::Error),
    /// The matching threads could not be started.
    #[error("cannot start {threads} matching threads: {reason}")]
    Threads {
        /// Threads asked for.
        threads: usize,
        /// Why it failed.
        reason: String,
    },
    /// A file given as input could not be inspected.
    #[error("{}: {error}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        error: io::Error,
    },
}

fn unreadable_note(unreadable: &[String]) -> String {
    if unreadable.is_empty() {
        String::new()
    } else {
        format!(" ({})", unreadable.join("; "))
    }
}
