//! Log-source mapping: which events a Sigma `logsource` stands for, and how its field names read
//! on them.
//!
//! The default mapping (`mappings/windows.yml`, compiled into the library) covers Windows event
//! logs: Sysmon categories by event id, Security 4688/4689 as process creation/termination with field
//! renames, PowerShell, Defender, and one entry per Windows channel that SigmaHQ rules name as a
//! `service`. Users can load their own file, standalone or `extends: windows`.
//!
//! Rules whose log source has no entry are *generic*: they apply to events that no entry claims
//! (non-Windows JSON logs), and only to those that carry at least one field the rule names. So a Linux
//! `process_creation` rule never sees Sysmon events, and a Windows rule never sees a random JSON line
//! with an `Image` field unless the mapping says so.

use std::path::Path;

use crate::error::MappingError;
use crate::rule::LogSource;
use crate::yaml::{self, Node, Value};

/// The default Windows mapping, as shipped.
pub const DEFAULT_WINDOWS_YAML: &str = include_str!("../mappings/windows.yml");

/// One log source: the rules it serves and the events it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSourceMapping {
    /// Unique name within the mapping.
    pub name: String,
    /// Rule `logsource.product` this entry serves (`None`: rules without a product).
    pub product: Option<String>,
    /// Rule `logsource.category`.
    pub category: Option<String>,
    /// Rule `logsource.service`.
    pub service: Option<String>,
    /// Event conditions: field → accepted values (case-insensitive text), all fields must match.
    pub conditions: Vec<(String, Vec<String>)>,
    /// Fields that must be present.
    pub require: Vec<String>,
    /// Field renames: Sigma name → event field.
    pub fields: Vec<(String, String)>,
}

impl LogSourceMapping {
    /// Whether this entry serves rules with `logsource` (product, category and service all equal,
    /// case-insensitively; absent on both sides counts as equal).
    pub fn serves(&self, logsource: &LogSource) -> bool {
        fn eq(a: &Option<String>, b: &Option<String>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                _ => false,
            }
        }
        eq(&self.product, &logsource.product)
            && eq(&self.category, &logsource.category)
            && eq(&self.service, &logsource.service)
    }

    /// The event field a Sigma field name reads on these events.
    pub fn rename<'a>(&'a self, field: &'a str) -> &'a str {
        self.fields
            .iter()
            .find(|(from, _)| from == field)
            .map_or(field, |(_, to)| to.as_str())
    }
}

/// A log-source mapping: a list of entries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mapping {
    /// The entries, in file order.
    pub entries: Vec<LogSourceMapping>,
}

impl Mapping {
    /// The shipped Windows mapping.
    pub fn default_windows() -> Self {
        // The shipped file is tested to parse; an empty mapping is the safe answer if it ever did not.
        Mapping::from_yaml_str(DEFAULT_WINDOWS_YAML, "mappings/windows.yml").unwrap_or_default()
    }

    /// A mapping with no entries: every rule is generic.
    pub fn empty() -> Self {
        Mapping::default()
    }

    /// Reads a mapping file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, MappingError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MappingError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Mapping::from_yaml_str(&text, &file)
    }

    /// Parses a mapping from YAML text; `file` names it in errors.
    pub fn from_yaml_str(text: &str, file: &str) -> Result<Self, MappingError> {
        let invalid = |line: usize, reason: String| MappingError::Invalid {
            file: file.to_owned(),
            line,
            reason,
        };
        let doc = yaml::parse_one(text).map_err(|e| invalid(e.line, e.message))?;
        if doc.as_map().is_none() {
            return Err(invalid(doc.line, "a mapping file must be a map".to_owned()));
        }
        let mut mapping = match doc.get("extends").and_then(Node::as_str) {
            None => Mapping::default(),
            Some("windows") => Mapping::default_windows(),
            Some(other) => {
                return Err(invalid(
                    doc.line,
                    format!("unknown base mapping '{other}' (known: windows)"),
                ));
            }
        };
        if let Some(disable) = doc.get("disable") {
            for name in string_list(disable).map_err(|r| invalid(disable.line, r))? {
                mapping.entries.retain(|e| e.name != name);
            }
        }
        let Some(sources) = doc.get("logsources") else {
            return Ok(mapping);
        };
        let entries = sources.as_map().ok_or_else(|| {
            invalid(
                sources.line,
                "'logsources' must be a map of named entries".to_owned(),
            )
        })?;
        for (key, body) in entries {
            let name = key
                .as_str()
                .ok_or_else(|| invalid(key.line, "entry names must be strings".to_owned()))?;
            let entry = parse_entry(name, body)
                .map_err(|r| invalid(body.line, format!("'{name}': {r}")))?;
            match mapping.entries.iter_mut().find(|e| e.name == name) {
                Some(existing) => *existing = entry,
                None => mapping.entries.push(entry),
            }
        }
        Ok(mapping)
    }

    /// The entries serving rules with `logsource`.
    pub fn entries_for<'a>(
        &'a self,
        logsource: &'a LogSource,
    ) -> impl Iterator<Item = (usize, &'a LogSourceMapping)> {
        self.entries
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.serves(logsource))
    }
}

fn opt_string(node: &Node, key: &str) -> Result<Option<String>, String> {
    match node.get(key) {
        None => Ok(None),
        Some(v) if v.is_null() => Ok(None),
        Some(v) => v
            .as_str()
            .map(|s| Some(s.to_owned()))
            .ok_or_else(|| format!("'{key}' must be a string")),
    }
}

fn string_list(node: &Node) -> Result<Vec<String>, String> {
    match &node.value {
        Value::Scalar(..) => Ok(node
            .as_str()
            .map(|s| vec![s.to_owned()])
            .unwrap_or_default()),
        Value::Seq(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "expected a list of values".to_owned())
            })
            .collect(),
        Value::Map(_) => Err("expected a value or a list of values".to_owned()),
    }
}

fn parse_entry(name: &str, body: &Node) -> Result<LogSourceMapping, String> {
    if body.as_map().is_none() {
        return Err("an entry must be a map".to_owned());
    }
    let mut conditions = Vec::new();
    if let Some(c) = body.get("conditions") {
        let entries = c.as_map().ok_or("'conditions' must be a map")?;
        for (k, v) in entries {
            let field = k.as_str().ok_or("condition fields must be strings")?;
            let values = string_list(v)?;
            if values.is_empty() {
                return Err(format!("condition on '{field}' has no value"));
            }
            conditions.push((field.to_owned(), values));
        }
    }
    let require = match body.get("require") {
        Some(r) => string_list(r)?,
        None => Vec::new(),
    };
    let mut fields = Vec::new();
    if let Some(f) = body.get("fields") {
        let entries = f.as_map().ok_or("'fields' must be a map")?;
        for (k, v) in entries {
            match (k.as_str(), v.as_str()) {
                (Some(from), Some(to)) => fields.push((from.to_owned(), to.to_owned())),
                _ => return Err("'fields' maps field names to field names".to_owned()),
            }
        }
    }
    let entry = LogSourceMapping {
        name: name.to_owned(),
        product: opt_string(body, "product")?,
        category: opt_string(body, "category")?,
        service: opt_string(body, "service")?,
        conditions,
        require,
        fields,
    };
    if entry.conditions.is_empty() && entry.require.is_empty() {
        return Err(
            "an entry needs 'conditions' or 'require' (else it would claim every event)".to_owned(),
        );
    }
    Ok(entry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: Option<&str>, category: Option<&str>, service: Option<&str>) -> LogSource {
        LogSource {
            product: product.map(str::to_owned),
            category: category.map(str::to_owned),
            service: service.map(str::to_owned),
            definition: None,
        }
    }

    #[test]
    fn default_mapping_parses_and_serves_process_creation_twice() {
        let m = Mapping::from_yaml_str(DEFAULT_WINDOWS_YAML, "windows.yml").unwrap();
        assert!(m.entries.len() > 60);
        let pc = ls(Some("windows"), Some("process_creation"), None);
        let names: Vec<_> = m.entries_for(&pc).map(|(_, e)| e.name.as_str()).collect();
        assert_eq!(
            names,
            ["process_creation-sysmon", "process_creation-security"]
        );
        let security = m
            .entries
            .iter()
            .find(|e| e.name == "process_creation-security")
            .unwrap();
        assert_eq!(security.rename("Image"), "NewProcessName");
        assert_eq!(security.rename("CommandLine"), "CommandLine");
        let av = ls(None, Some("antivirus"), None);
        assert_eq!(m.entries_for(&av).count(), 1);
        assert_eq!(
            m.entries_for(&ls(Some("linux"), Some("process_creation"), None))
                .count(),
            0
        );
        assert_eq!(
            m.entries_for(&ls(Some("Windows"), None, Some("Security")))
                .count(),
            1
        );
    }

    #[test]
    fn every_service_sigmahq_names_is_mapped() {
        let m = Mapping::default_windows();
        for service in [
            "application",
            "applocker",
            "appmodel-runtime",
            "appxdeployment-server",
            "appxpackaging-om",
            "bits-client",
            "capi2",
            "certificateservicesclient-lifecycle-system",
            "codeintegrity-operational",
            "diagnosis-scripted",
            "dns-client",
            "dns-server",
            "dns-server-analytic",
            "driver-framework",
            "firewall-as",
            "iis-configuration",
            "ldap",
            "lsa-server",
            "microsoft-servicebus-client",
            "msexchange-management",
            "ntlm",
            "openssh",
            "powershell-classic",
            "printservice-admin",
            "printservice-operational",
            "security",
            "security-mitigations",
            "shell-core",
            "smbclient-connectivity",
            "smbclient-security",
            "smbserver-connectivity",
            "sysmon",
            "system",
            "taskscheduler",
            "terminalservices-localsessionmanager",
            "windefend",
            "wmi",
            "powershell",
        ] {
            assert_eq!(
                m.entries_for(&ls(Some("windows"), None, Some(service)))
                    .count(),
                1,
                "{service}"
            );
        }
    }

    #[test]
    fn user_file_extends_replaces_and_disables() {
        let text = "extends: windows\ndisable: [ntlm]\nlogsources:\n  security:\n    product: windows\n    \
            service: security\n    conditions: {Channel: [Security, ForwardedEvents]}\n  zeek-dns:\n    \
            product: zeek\n    service: dns\n    require: [query]\n";
        let m = Mapping::from_yaml_str(text, "user.yml").unwrap();
        let base = Mapping::default_windows();
        assert_eq!(m.entries.len(), base.entries.len());
        let sec = m.entries.iter().find(|e| e.name == "security").unwrap();
        assert_eq!(sec.conditions[0].1, ["Security", "ForwardedEvents"]);
        assert!(m.entries.iter().all(|e| e.name != "ntlm"));
        assert_eq!(m.entries.last().unwrap().name, "zeek-dns");
    }

    #[test]
    fn bad_files_are_located() {
        let err = Mapping::from_yaml_str("logsources:\n  x:\n    product: windows\n", "m.yml")
            .unwrap_err();
        assert!(
            matches!(err, MappingError::Invalid { line: 3, .. }),
            "{err:?}"
        );
        assert!(Mapping::from_yaml_str("extends: macos\n", "m.yml").is_err());
        assert!(Mapping::from_yaml_str("logsources: [1]\n", "m.yml").is_err());
        assert!(Mapping::from_file("/nonexistent/mapping.yml").is_err());
    }
}
