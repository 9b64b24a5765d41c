//! Errors and diagnostics, each naming where in the input it belongs.

use std::fmt;

/// How serious a [`RuleError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The rule still loads and runs, but something about it deserves attention.
    Warning,
    /// The rule (or the part of it named) is not loaded.
    Error,
}

impl Severity {
    /// `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A problem with one rule, or with one rule file: where it is and what is wrong.
///
/// Loading and compiling never stop at a bad rule: each returns the rules that worked plus one
/// `RuleError` per problem. Errors of [`Severity::Error`] mean the rule was left out; warnings mean it
/// runs, perhaps not as its author expected (an unresolved placeholder, an unmapped log source…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RuleError {
    /// The rule file (as given to the loader).
    pub file: String,
    /// 1-based line, where known.
    pub line: Option<usize>,
    /// The rule's `id`, where known.
    pub rule_id: Option<String>,
    /// The rule's `title`, where known.
    pub title: Option<String>,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in words a detection engineer understands.
    pub reason: String,
}

impl RuleError {
    /// An error in `file` at `line`.
    pub fn new(file: &str, line: Option<usize>, reason: impl Into<String>) -> Self {
        RuleError {
            file: file.to_owned(),
            line,
            rule_id: None,
            title: None,
            severity: Severity::Error,
            reason: reason.into(),
        }
    }

    /// The same problem as a warning.
    pub fn warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// The same problem attributed to a rule.
    pub fn for_rule(mut self, id: Option<&str>, title: Option<&str>) -> Self {
        if self.rule_id.is_none() {
            self.rule_id = id.map(str::to_owned);
        }
        if self.title.is_none() {
            self.title = title.map(str::to_owned);
        }
        self
    }

    /// Whether the rule was left out because of this problem.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.severity.as_str())?;
        match (&self.rule_id, &self.title) {
            (Some(id), _) => write!(f, " [{id}]")?,
            (None, Some(title)) => write!(f, " [{title}]")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.reason)
    }
}

/// A log-source mapping file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// The file could not be read.
    #[error("{file}: cannot read: {reason}")]
    Read {
        /// The mapping file.
        file: String,
        /// The operating system's words.
        reason: String,
    },
    /// The file is not a valid mapping.
    #[error("{file}:{line}: {reason}")]
    Invalid {
        /// The mapping file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_severity_and_rule() {
        let e = RuleError::new("r.yml", Some(7), "unknown modifier 'foo'")
            .for_rule(Some("abc"), Some("T"));
        assert_eq!(
            e.to_string(),
            "r.yml:7: error [abc]: unknown modifier 'foo'"
        );
        let w = RuleError::new("r.yml", None, "missing level")
            .warning()
            .for_rule(None, Some("T"));
        assert_eq!(w.to_string(), "r.yml: warning [T]: missing level");
        assert!(!w.is_error());
    }
}
