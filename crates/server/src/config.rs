//! The node's configuration: one TOML file, every key optional, environment overrides, validated at
//! start with errors that name the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use shield_federation::feed::FeedConfig;
use shield_federation::taxii::TaxiiConfig;

use crate::ServerError;

/// Everything a node can be told. Every key is optional; [`NodeConfig::default`] is a working node.
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// HTTP listener, TLS, limits.
    pub server: ServerSection,
    /// Ingest pipeline and syslog listeners.
    pub ingest: IngestSection,
    /// The compressed event archive.
    pub archive: ArchiveSection,
    /// Sigma detection.
    pub sigma: SigmaSection,
    /// The TAXII 2.1 server.
    pub taxii: TaxiiSection,
    /// Threat intelligence: feeds.
    pub intel: IntelSection,
    /// Logging.
    pub log: LogSection,
    /// Federation: organisation, node key, peers, pseudonyms, correlation.
    pub federation: crate::federation::FederationSection,
}

/// `[server]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSection {
    /// Address of the HTTP API (`127.0.0.1:8600`).
    pub listen: String,
    /// Data directory: SQLite store and event archive (`./shield-data`).
    pub data_dir: PathBuf,
    /// The organisation this node belongs to (events and alerts are attributed to it unless the
    /// ingest token names another).
    pub organisation: String,
    /// Largest request body accepted, in bytes, after decompression (413 beyond).
    pub max_body_bytes: usize,
    /// PEM certificate chain; TLS is on when this and `tls_key` are set.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    pub tls_key: Option<PathBuf>,
}

/// `[ingest]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IngestSection {
    /// Events that may wait between ingest and processing; beyond it ingest answers 429.
    pub queue_events: usize,
    /// Detection worker threads (0: one per core).
    pub workers: usize,
    /// Seconds a client is told to wait in `Retry-After` when the queue is full.
    pub retry_after_secs: u64,
    /// Syslog over UDP listener address (off when unset).
    pub syslog_udp: Option<String>,
    /// Syslog over TCP listener address (off when unset).
    pub syslog_tcp: Option<String>,
    /// Largest syslog message, in bytes.
    pub syslog_max_message_bytes: usize,
}

/// `[archive]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveSection {
    /// Keep ingested events in the compressed archive (retro-hunt reads it).
    pub enabled: bool,
    /// Days an archived event is kept.
    pub retention_days: u64,
    /// Size at which an archive segment is closed and a new one started, in MiB.
    pub segment_max_mib: u64,
}

/// `[sigma]`
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct SigmaSection {
    /// Folders or files of Sigma rules to run on every ingested event.
    pub rules: Vec<PathBuf>,
    /// A log-source mapping file that extends the built-in one.
    pub mapping: Option<PathBuf>,
    /// Rules below this level are not loaded.
    pub min_level: Option<String>,
}

/// `[taxii]`: the TAXII 2.1 server under `/taxii2/`. Every key but `enabled` is the federation
/// crate's [`TaxiiConfig`]; `collections` lists collections created at start in addition to the
/// node's own `indicators` and `sightings` (none by default).
#[derive(Debug, Clone, PartialEq)]
pub struct TaxiiSection {
    /// Serve TAXII 2.1 (authenticated like the API: HTTP Basic with the token as password, or
    /// Bearer).
    pub enabled: bool,
    /// Discovery, API root, limits, default TLP, extra collections.
    pub server: TaxiiConfig,
}

impl Default for TaxiiSection {
    fn default() -> Self {
        TaxiiSection {
            enabled: true,
            server: TaxiiConfig {
                collections: Vec::new(),
                ..TaxiiConfig::default()
            },
        }
    }
}

impl<'de> Deserialize<'de> for TaxiiSection {
    /// `enabled` beside the keys of [`TaxiiConfig`] (unknown keys refused, each named), keys not
    /// given at the node's defaults.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut given = toml::Table::deserialize(d)?;
        let defaults = TaxiiSection::default();
        let enabled = match given.remove("enabled") {
            None => defaults.enabled,
            Some(toml::Value::Boolean(b)) => b,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "enabled: expected true or false, found {}",
                    other.type_str()
                )));
            }
        };
        let mut table = toml::Table::try_from(&defaults.server).map_err(D::Error::custom)?;
        table.extend(given);
        let server = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| D::Error::custom(format!("{}: {}", e.path(), e.inner())))?;
        Ok(TaxiiSection { enabled, server })
    }
}

/// `[intel]`
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct IntelSection {
    /// TAXII collections of other servers pulled into a local collection on a schedule
    /// (`[[intel.feeds]]`); each one's position is kept in the store.
    pub feeds: Vec<FeedConfig>,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// `error`, `warn`, `info`, `debug` or `trace`, or a tracing filter directive.
    pub level: String,
    /// `text` or `json`.
    pub format: String,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8600".to_owned(),
            data_dir: PathBuf::from("./shield-data"),
            organisation: "local".to_owned(),
            max_body_bytes: 32 * 1024 * 1024,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for IngestSection {
    fn default() -> Self {
        IngestSection {
            queue_events: 200_000,
            workers: 0,
            retry_after_secs: 1,
            syslog_udp: None,
            syslog_tcp: None,
            syslog_max_message_bytes: 64 * 1024,
        }
    }
}

impl Default for ArchiveSection {
    fn default() -> Self {
        ArchiveSection {
            enabled: true,
            retention_days: 30,
            segment_max_mib: 64,
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".to_owned(),
            format: "text".to_owned(),
        }
    }
}

/// Environment variables that override keys, applied after the file: `(variable, key, is_integer)`.
pub const ENV_OVERRIDES: [(&str, &str, bool); 11] = [
    ("SHIELD_LISTEN", "server.listen", false),
    ("SHIELD_DATA", "server.data_dir", false),
    ("SHIELD_ORGANISATION", "server.organisation", false),
    ("SHIELD_MAX_BODY_BYTES", "server.max_body_bytes", true),
    ("SHIELD_TLS_CERT", "server.tls_cert", false),
    ("SHIELD_TLS_KEY", "server.tls_key", false),
    ("SHIELD_SYSLOG_UDP", "ingest.syslog_udp", false),
    ("SHIELD_SYSLOG_TCP", "ingest.syslog_tcp", false),
    ("SHIELD_QUEUE_EVENTS", "ingest.queue_events", true),
    ("SHIELD_LOG", "log.level", false),
    ("SHIELD_TAXII_PUBLIC_URL", "taxii.public_url", false),
];

impl NodeConfig {
    /// Reads `path` (when given), applies environment overrides from `env` and validates. The
    /// environment is passed in (usually `std::env::vars()`) so tests need not mutate the process.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ServerError> {
        let mut table = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|e| ServerError::Config {
                    key: p.display().to_string(),
                    message: format!("cannot read configuration file: {e}"),
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ServerError::Config {
                        key: p.display().to_string(),
                        message: e.to_string(),
                    })?
            }
            None => toml::Table::new(),
        };
        let env: Vec<(String, String)> = env.into_iter().collect();
        for (var, key, is_integer) in ENV_OVERRIDES {
            if let Some((_, raw)) = env.iter().find(|(k, _)| k == var) {
                // A non-numeric value for an integer key stays a string, so deserialising names the key.
                let value = match raw.parse::<i64>() {
                    Ok(n) if is_integer => toml::Value::Integer(n),
                    _ => toml::Value::String(raw.clone()),
                };
                set_key(&mut table, key, value);
            }
        }
        let config = Self::from_table(table)?;
        config.validate()?;
        Ok(config)
    }

    /// Parses a configuration from TOML text (no environment), validated.
    pub fn from_toml(text: &str) -> Result<Self, ServerError> {
        let table = text
            .parse::<toml::Table>()
            .map_err(|e| ServerError::Config {
                key: "<toml>".to_owned(),
                message: e.to_string(),
            })?;
        let config = Self::from_table(table)?;
        config.validate()?;
        Ok(config)
    }

    fn from_table(table: toml::Table) -> Result<Self, ServerError> {
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            ServerError::Config {
                key: if key == "." { "<root>".to_owned() } else { key },
                message: e.into_inner().to_string(),
            }
        })
    }

    /// Checks values that parse but make no sense, naming the key.
    pub fn validate(&self) -> Result<(), ServerError> {
        fn bad(key: &str, message: impl Into<String>) -> Result<(), ServerError> {
            Err(ServerError::Config {
                key: key.to_owned(),
                message: message.into(),
            })
        }
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return bad(
                "server.listen",
                format!(
                    "'{}' is not an address such as 127.0.0.1:8600",
                    self.server.listen
                ),
            );
        }
        for (key, addr) in [
            ("ingest.syslog_udp", &self.ingest.syslog_udp),
            ("ingest.syslog_tcp", &self.ingest.syslog_tcp),
        ] {
            if let Some(a) = addr {
                if a.parse::<SocketAddr>().is_err() {
                    return bad(key, format!("'{a}' is not an address such as 0.0.0.0:514"));
                }
            }
        }
        if self.server.organisation.trim().is_empty() {
            return bad("server.organisation", "must not be empty");
        }
        if self.server.max_body_bytes < 1024 {
            return bad("server.max_body_bytes", "must be at least 1024");
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return bad(
                "server.tls_cert",
                "tls_cert and tls_key must be set together",
            );
        }
        if self.ingest.queue_events == 0 {
            return bad("ingest.queue_events", "must be at least 1");
        }
        if self.ingest.syslog_max_message_bytes < 480 {
            return bad(
                "ingest.syslog_max_message_bytes",
                "must be at least 480 (RFC 5424 minimum)",
            );
        }
        if self.archive.retention_days == 0 {
            return bad("archive.retention_days", "must be at least 1");
        }
        if self.archive.segment_max_mib == 0 {
            return bad("archive.segment_max_mib", "must be at least 1");
        }
        if let Some(level) = &self.sigma.min_level {
            if level.parse::<shield_event::Level>().is_err() {
                return bad(
                    "sigma.min_level",
                    format!("unknown level '{level}' (informational, low, medium, high, critical)"),
                );
            }
        }
        if let Err(message) = self.taxii.server.validate() {
            // The federation crate names the key first: `taxii.api_root: …`.
            let (key, message) = message.split_once(": ").unwrap_or(("taxii", &message));
            return bad(key, message);
        }
        if let Some(url) = &self.taxii.server.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad("taxii.public_url", format!("'{url}' is not an http(s) URL"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, feed) in self.intel.feeds.iter().enumerate() {
            let at = format!("intel.feeds[{i}]");
            if let Err(message) = feed.validate(&at) {
                let (key, message) = message.split_once(": ").unwrap_or((&at, &message));
                return bad(key, message);
            }
            if !names.insert(feed.name.as_str()) {
                return bad(
                    &format!("{at}.name"),
                    format!("'{}' is used by another feed", feed.name),
                );
            }
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad(
                "log.format",
                format!("'{}' is neither text nor json", self.log.format),
            );
        }
        if let Err((key, message)) = self.federation.validate() {
            return bad(&key, message);
        }
        if self.federation.enabled && !self.taxii.enabled {
            return bad(
                "federation.enabled",
                "federation needs taxii.enabled = true",
            );
        }
        Ok(())
    }

    /// The listen address (validated).
    pub fn listen_addr(&self) -> Result<SocketAddr, ServerError> {
        self.server.listen.parse().map_err(|_| ServerError::Config {
            key: "server.listen".to_owned(),
            message: format!("'{}' is not an address", self.server.listen),
        })
    }
}

/// Sets a `section.name` key in a TOML table.
fn set_key(table: &mut toml::Table, key: &str, value: toml::Value) {
    let (section, name) = key.split_once('.').unwrap_or(("", key));
    let section_table = table
        .entry(section.to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if let toml::Value::Table(t) = section_table {
        t.insert(name.to_owned(), value);
    }
}

/// The default configuration as a commented TOML file (`shield config default`).
pub const DEFAULT_TOML: &str = include_str!("default.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(NodeConfig::from_toml("").ok(), Some(NodeConfig::default()));
    }

    #[test]
    fn commented_default_file_parses_to_the_default() {
        assert_eq!(
            NodeConfig::from_toml(DEFAULT_TOML).ok(),
            Some(NodeConfig::default())
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let err = NodeConfig::from_toml("[server]\nlisten_addr = \"x\"")
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("server"), "{err}");
        assert!(err.contains("listen_addr"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = NodeConfig::from_toml("[ingest]\nqueue_events = \"many\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("ingest.queue_events"), "{err}");
    }

    #[test]
    fn invalid_value_is_named() {
        let err = NodeConfig::from_toml("[server]\nlisten = \"localhost\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("server.listen"), "{err}");
        let err = NodeConfig::from_toml("[sigma]\nmin_level = \"severe\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("sigma.min_level"), "{err}");
        let err = NodeConfig::from_toml("[server]\ntls_cert = \"a.pem\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("tls_cert"), "{err}");
    }

    #[test]
    fn taxii_and_feeds_parse_and_bad_values_are_named() {
        let c = NodeConfig::from_toml(
            r#"
            [taxii]
            enabled = false
            api_root = "soc"
            max_content_length = 65536
            default_tlp = "green"
            [[taxii.collections]]
            alias = "partners"
            title = "Partners"
            read = ["role:peer"]

            [[intel.feeds]]
            name = "hub"
            url = "https://hub.example/taxii2/shield/"
            collection = "indicators"
            interval = "15m"
            token = "abc"
            "#,
        )
        .unwrap();
        assert!(!c.taxii.enabled);
        assert_eq!(c.taxii.server.api_root, "soc");
        assert_eq!(c.taxii.server.max_content_length, 65536);
        assert_eq!(c.taxii.server.default_tlp, shield_intel::tlp::Tlp::Green);
        assert_eq!(c.taxii.server.collections[0].alias, "partners");
        assert_eq!(c.intel.feeds[0].interval.as_secs(), 900);
        // Keys not given keep the node's defaults: no collections beyond the node's own.
        let c = NodeConfig::from_toml("[taxii]\ntitle = \"SOC\"").unwrap();
        assert!(c.taxii.enabled && c.taxii.server.collections.is_empty());
        assert_eq!(c.taxii.server.api_root, "shield");
        let named = |text: &str, key: &str| {
            let err = NodeConfig::from_toml(text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(key), "{key} not named in: {err}");
        };
        named("[taxii]\napi_root = \"a/b\"", "taxii.api_root");
        named(
            "[taxii]\nmax_content_length = 10",
            "taxii.max_content_length",
        );
        named("[taxii]\npublic_url = \"soc.example\"", "taxii.public_url");
        named("[taxii]\nunknown_key = 1", "unknown_key");
        named("[taxii]\nenabled = \"yes\"", "enabled");
        named("[taxii]\ndefault_tlp = \"pink\"", "default_tlp");
        named(
            "[[intel.feeds]]\nname = \"a b\"\nurl = \"https://x/\"\ncollection = \"c\"",
            "intel.feeds[0].name",
        );
        named(
            "[[intel.feeds]]\nname = \"a\"\nurl = \"https://x/\"\ncollection = \"c\"\ninterval = 1",
            "intel.feeds[0].interval",
        );
        named(
            "[[intel.feeds]]\nname = \"a\"\nurl = \"https://x/\"\ncollection = \"c\"\n\
             [[intel.feeds]]\nname = \"a\"\nurl = \"https://y/\"\ncollection = \"c\"",
            "intel.feeds[1].name",
        );
        named(
            "[[intel.feeds]]\nname = \"a\"\nurl = \"https://x/\"\ncollection = \"c\"\ncolour = 1",
            "colour",
        );
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shield.toml");
        std::fs::write(
            &path,
            "[server]\nlisten = \"127.0.0.1:9000\"\norganisation = \"lv-cert\"\n",
        )
        .unwrap();
        let c = NodeConfig::load(
            Some(&path),
            env(&[
                ("SHIELD_LISTEN", "0.0.0.0:9100"),
                ("SHIELD_QUEUE_EVENTS", "5"),
                ("SHIELD_DATA", "/tmp/x"),
                ("UNRELATED", "1"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:9100");
        assert_eq!(c.server.organisation, "lv-cert");
        assert_eq!(c.ingest.queue_events, 5);
        assert_eq!(c.server.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn bad_environment_value_is_named() {
        let err = NodeConfig::load(None, env(&[("SHIELD_QUEUE_EVENTS", "lots")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("ingest.queue_events"), "{err}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = NodeConfig::load(Some(Path::new("/nonexistent/shield.toml")), env(&[]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("/nonexistent/shield.toml"), "{err}");
    }
}
