//! Loading rule files: directories walked recursively, files parsed in parallel, results in a
//! deterministic order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::RuleError;
use crate::parse::{expand_placeholders, parse_file};
use crate::rule::{Rule, RuleBody};

/// Deepest directory nesting followed.
const MAX_DIR_DEPTH: usize = 32;

/// Options for [`load_rules`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Values for `|expand` placeholders: name (without `%`) → values. A placeholder without an
    /// entry is left unresolved: its value matches nothing and a warning is reported.
    pub placeholders: BTreeMap<String, Vec<String>>,
}

/// Parsed rules: detection rules, correlations and filters, in load order.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// The rules, ordered by file path, then by position in the file.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// A rule set from already-parsed rules.
    pub fn new(rules: Vec<Rule>) -> Self {
        RuleSet { rules }
    }

    /// Number of rules of every kind.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule with this `id` or `name`.
    pub fn find(&self, reference: &str) -> Option<&Rule> {
        self.rules
            .iter()
            .find(|r| r.id.as_deref() == Some(reference))
            .or_else(|| {
                self.rules
                    .iter()
                    .find(|r| r.name.as_deref() == Some(reference))
            })
    }

    /// Counts of detection rules, correlations and filters.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for r in &self.rules {
            match r.body {
                RuleBody::Detection(_) => c.0 += 1,
                RuleBody::Correlation(_) => c.1 += 1,
                RuleBody::Filter(_) => c.2 += 1,
            }
        }
        c
    }
}

/// Parses the rules in one YAML text (one or more documents). Any problem that leaves a document
/// out is returned as the error; warnings are dropped (see [`crate::check_str`] for them).
pub fn parse_rule_str(yaml: &str, file: &str) -> Result<Vec<Rule>, RuleError> {
    let (rules, diags) = parse_file(yaml, file);
    match diags.into_iter().find(RuleError::is_error) {
        Some(e) => Err(e),
        None => Ok(rules),
    }
}

/// Loads every `.yml`/`.yaml` file under `dirs` (files may be named directly), recursively, in
/// path order. Files are parsed in parallel. Returns the rules that loaded and one [`RuleError`] per
/// problem (unreadable files, documents left out, and warnings).
pub fn load_rules(dirs: &[PathBuf], opts: &LoadOptions) -> (RuleSet, Vec<RuleError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for dir in dirs {
        collect_files(dir, 0, &mut files, &mut errors);
    }
    files.sort();
    files.dedup();
    let results: Vec<(Vec<Rule>, Vec<RuleError>)> = files
        .par_iter()
        .map(|path| {
            let name = path.display().to_string();
            match read_limited(path) {
                Ok(text) => parse_file(&text, &name),
                Err(e) => (Vec::new(), vec![RuleError::new(&name, None, e)]),
            }
        })
        .collect();
    let lookup = |name: &str| opts.placeholders.get(name).cloned();
    let mut rules = Vec::new();
    for (mut file_rules, diags) in results {
        errors.extend(diags);
        for r in &mut file_rules {
            expand_placeholders(r, &lookup);
        }
        rules.extend(file_rules);
    }
    (RuleSet { rules }, errors)
}

fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > crate::parse::MAX_FILE_LEN as u64 {
        return Err(format!(
            "file larger than {} bytes",
            crate::parse::MAX_FILE_LEN
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    String::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8 (byte {})", e.utf8_error().valid_up_to()))
}

fn collect_files(path: &Path, depth: usize, files: &mut Vec<PathBuf>, errors: &mut Vec<RuleError>) {
    let name = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push(RuleError::new(&name, None, format!("cannot read: {e}")));
            return;
        }
    };
    if meta.is_file() {
        files.push(path.to_path_buf());
        return;
    }
    if depth > MAX_DIR_DEPTH {
        errors.push(RuleError::new(&name, None, "directory nesting too deep").warning());
        return;
    }
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) => {
            errors.push(RuleError::new(&name, None, format!("cannot read: {e}")));
            return;
        }
    };
    for entry in entries.flatten() {
        let p = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_files(&p, depth + 1, files, errors);
        } else if is_rule_file(&p) && (kind.is_file() || kind.is_symlink()) {
            files.push(p);
        }
    }
}

fn is_rule_file(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_directories_in_order_and_reports_bad_files() {
        let dir = std::env::temp_dir().join(format!("shield-sigma-load-{}", std::process::id()));
        let sub = dir.join("b");
        std::fs::create_dir_all(&sub).unwrap();
        let rule = |t: &str| {
            format!(
                "title: {t}\nlogsource: {{product: x}}\ndetection:\n  s: {{a: 1}}\n  condition: s\n"
            )
        };
        std::fs::write(dir.join("z.yml"), rule("Z")).unwrap();
        std::fs::write(sub.join("a.yaml"), rule("A")).unwrap();
        std::fs::write(dir.join("bad.yml"), "title: [").unwrap();
        std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
        let (set, errors) =
            load_rules(&[dir.clone(), dir.join("missing")], &LoadOptions::default());
        let titles: Vec<_> = set.rules.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["A", "Z"]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.file.ends_with("bad.yml") && e.line.is_some())
        );
        assert!(errors.iter().any(|e| e.file.ends_with("missing")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn placeholders_resolve_at_load() {
        let dir = std::env::temp_dir().join(format!("shield-sigma-ph-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("r.yml"),
            "title: P\nlogsource: {product: x}\ndetection:\n  s: {User|expand: '%admins%'}\n  condition: s\n",
        )
        .unwrap();
        let mut opts = LoadOptions::default();
        opts.placeholders
            .insert("admins".into(), vec!["root".into(), "adm_*".into()]);
        let (set, errors) = load_rules(std::slice::from_ref(&dir), &opts);
        assert!(errors.is_empty(), "{errors:?}");
        let item = &set.rules[0].detection().unwrap().searches[0].alternatives[0][0];
        assert_eq!(item.values.len(), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parse_rule_str_reports_the_first_error() {
        let e = parse_rule_str(
            "title: x\nlogsource: {}\ndetection: {condition: nope}\n",
            "f.yml",
        )
        .unwrap_err();
        assert!(e.reason.contains("nope"));
        assert_eq!(
            parse_rule_str(
                "title: x\nlogsource: {}\ndetection: {s: {a: 1}, condition: s}\n",
                "f.yml"
            )
            .unwrap()
            .len(),
            1
        );
    }
}
