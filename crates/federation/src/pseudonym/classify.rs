//! What is personal or internal: the classification of observed values.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{ObservableKind, PseudonymError};

/// Whether a value may travel as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Public: shared as the value.
    Public,
    /// Personal or internal: shared as a pseudonym only.
    Personal,
}

/// What counts as personal or internal (`[federation.personal_data]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PersonalDataConfig {
    /// Networks whose addresses are internal (CIDR or single addresses).
    pub internal_networks: Vec<String>,
    /// The organisation's own DNS domains: host names under them and e-mail addresses at them
    /// are personal.
    pub organisation_domains: Vec<String>,
    /// Suffixes of internal host names.
    pub internal_suffixes: Vec<String>,
    /// Whether single-label host names (`WS-042`) are internal.
    pub bare_host_names: bool,
    /// Whether user accounts are personal.
    pub user_accounts: bool,
    /// Whether MAC addresses are personal.
    pub mac_addresses: bool,
}

impl Default for PersonalDataConfig {
    /// Private, shared (CGNAT), loopback, link-local and unspecified IPv4 and IPv6 ranges,
    /// common internal suffixes, bare host names, user accounts and MAC addresses.
    fn default() -> Self {
        let networks = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "127.0.0.0/8",
            "169.254.0.0/16",
            "0.0.0.0/32",
            "fc00::/7",
            "fe80::/10",
            "::1/128",
            "::/128",
        ];
        let suffixes = [
            "local",
            "localdomain",
            "lan",
            "internal",
            "intranet",
            "corp",
            "home.arpa",
        ];
        PersonalDataConfig {
            internal_networks: networks.map(str::to_owned).to_vec(),
            organisation_domains: Vec::new(),
            internal_suffixes: suffixes.map(str::to_owned).to_vec(),
            bare_host_names: true,
            user_accounts: true,
            mac_addresses: true,
        }
    }
}

/// The classification rules, ready to apply.
#[derive(Debug, Clone)]
pub struct Classifier {
    networks: Vec<IpNet>,
    /// Organisation domains and internal suffixes, lower case, without dots at the ends.
    organisation_domains: Vec<String>,
    internal_suffixes: Vec<String>,
    bare_host_names: bool,
    user_accounts: bool,
    mac_addresses: bool,
}

fn clean_domain(text: &str) -> String {
    text.trim().trim_matches('.').to_ascii_lowercase()
}

impl Classifier {
    /// Compiles a configuration; a bad entry is named by key and position.
    pub fn new(config: &PersonalDataConfig) -> Result<Classifier, PseudonymError> {
        let mut networks = Vec::with_capacity(config.internal_networks.len());
        for (index, text) in config.internal_networks.iter().enumerate() {
            let text = text.trim();
            let net = text
                .parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| PseudonymError::Config {
                    field: "internal_networks",
                    index,
                    reason: format!("not a CIDR network or address: {text:?}"),
                })?;
            networks.push(net.trunc());
        }
        let domains = |field: &'static str, list: &[String]| {
            list.iter()
                .enumerate()
                .map(|(index, d)| {
                    let d = clean_domain(d);
                    if d.is_empty() || d.len() > 253 || d.contains(char::is_whitespace) {
                        Err(PseudonymError::Config {
                            field,
                            index,
                            reason: "not a domain name".into(),
                        })
                    } else {
                        Ok(d)
                    }
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Classifier {
            networks,
            organisation_domains: domains("organisation_domains", &config.organisation_domains)?,
            internal_suffixes: domains("internal_suffixes", &config.internal_suffixes)?,
            bare_host_names: config.bare_host_names,
            user_accounts: config.user_accounts,
            mac_addresses: config.mac_addresses,
        })
    }

    /// The class of a value of `kind`.
    pub fn classify(&self, kind: ObservableKind, value: &str) -> Class {
        let personal = match kind {
            ObservableKind::Ipv4Addr | ObservableKind::Ipv6Addr => match parse_ip(value) {
                Some(ip) => self.is_internal_ip(ip),
                // A value that is not an address cannot be judged: keep it home.
                None => true,
            },
            ObservableKind::DomainName => self.is_internal_host(value),
            ObservableKind::EmailAddr => match value.trim().rsplit_once('@') {
                Some((_, domain)) => {
                    let domain = clean_domain(domain);
                    under_any(&domain, &self.organisation_domains)
                        || under_any(&domain, &self.internal_suffixes)
                }
                None => true,
            },
            ObservableKind::UserAccount => self.user_accounts,
            ObservableKind::MacAddr => self.mac_addresses,
            ObservableKind::Url => match url_host(value) {
                Some(host) => match parse_ip(host) {
                    Some(ip) => self.is_internal_ip(ip),
                    None => self.is_internal_host(host),
                },
                None => true,
            },
            ObservableKind::Other => false,
        };
        if personal {
            Class::Personal
        } else {
            Class::Public
        }
    }

    fn is_internal_ip(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|net| net.contains(&ip))
    }

    fn is_internal_host(&self, host: &str) -> bool {
        let host = clean_domain(host);
        (self.bare_host_names && !host.contains('.'))
            || under_any(&host, &self.organisation_domains)
            || under_any(&host, &self.internal_suffixes)
    }
}

/// Whether `name` is one of `domains` or under one.
fn under_any(name: &str, domains: &[String]) -> bool {
    domains.iter().any(|d| {
        name == d
            || (name.len() > d.len()
                && name.ends_with(d.as_str())
                && name.as_bytes()[name.len() - d.len() - 1] == b'.')
    })
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = text.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    })
}

/// The host of a URL (`scheme://[user@]host[:port]/…`), without brackets for IPv6.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.trim().split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    let host = host_port.split(':').next()?;
    (!host.is_empty()).then_some(host)
}

/// The form a value is hashed in, so that equal values give equal pseudonyms everywhere.
pub fn normalise(kind: ObservableKind, value: &str) -> String {
    match kind {
        ObservableKind::Ipv4Addr | ObservableKind::Ipv6Addr => match parse_ip(value) {
            Some(ip) => ip.to_string(),
            None => value.trim().to_ascii_lowercase(),
        },
        ObservableKind::DomainName => clean_domain(value),
        ObservableKind::MacAddr => {
            let hex: String = value
                .chars()
                .filter(char::is_ascii_hexdigit)
                .map(|c| c.to_ascii_lowercase())
                .collect();
            if hex.len() == 12 {
                hex.as_bytes()
                    .chunks(2)
                    .map(|pair| String::from_utf8_lossy(pair).into_owned())
                    .collect::<Vec<_>>()
                    .join(":")
            } else {
                value.trim().to_ascii_lowercase()
            }
        }
        ObservableKind::EmailAddr | ObservableKind::UserAccount => value.trim().to_lowercase(),
        ObservableKind::Url | ObservableKind::Other => value.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pseudonym::test_support::classifier;

    #[test]
    fn default_classification() {
        use ObservableKind::*;
        let c = classifier();
        let table: [(ObservableKind, &str, Class); 30] = [
            (Ipv4Addr, "10.1.2.3", Class::Personal),
            (Ipv4Addr, "172.31.255.255", Class::Personal),
            (Ipv4Addr, "172.32.0.1", Class::Public),
            (Ipv4Addr, "192.168.0.10", Class::Personal),
            (Ipv4Addr, "100.64.1.1", Class::Personal),
            (Ipv4Addr, "127.0.0.1", Class::Personal),
            (Ipv4Addr, "169.254.10.20", Class::Personal),
            (Ipv4Addr, "203.0.113.5", Class::Public),
            (Ipv4Addr, "not an ip", Class::Personal),
            (Ipv6Addr, "fe80::1", Class::Personal),
            (Ipv6Addr, "fd12:3456::1", Class::Personal),
            (Ipv6Addr, "::1", Class::Personal),
            (Ipv6Addr, "::ffff:10.0.0.1", Class::Personal),
            (Ipv6Addr, "2001:db8::5", Class::Public),
            (DomainName, "WS-042", Class::Personal),
            (DomainName, "dc01.corp", Class::Personal),
            (DomainName, "mail.cert.ee.", Class::Personal),
            (DomainName, "x.ria.ee", Class::Personal),
            (DomainName, "notcert.ee", Class::Public),
            (DomainName, "evil.example", Class::Public),
            (EmailAddr, "Jaan.Tamm@CERT.ee", Class::Personal),
            (EmailAddr, "phish@evil.example", Class::Public),
            (EmailAddr, "no-at-sign", Class::Personal),
            (UserAccount, "administrator", Class::Personal),
            (MacAddr, "00:1A:2b:3c:4d:5e", Class::Personal),
            (Url, "http://10.0.0.5:8080/admin", Class::Personal),
            (Url, "https://intranet.cert.ee/login", Class::Personal),
            (Url, "http://[fe80::1]/x", Class::Personal),
            (Url, "https://evil.example/payload.exe", Class::Public),
            (Other, "44d88612fea8a8f36de82e1278abb02f", Class::Public),
        ];
        for (kind, value, class) in table {
            assert_eq!(c.classify(kind, value), class, "{kind:?} {value}");
        }
        let off = Classifier::new(&PersonalDataConfig {
            user_accounts: false,
            bare_host_names: false,
            mac_addresses: false,
            internal_networks: vec!["203.0.113.0/24".into()],
            ..PersonalDataConfig::default()
        })
        .unwrap();
        assert_eq!(off.classify(UserAccount, "administrator"), Class::Public);
        assert_eq!(off.classify(DomainName, "WS-042"), Class::Public);
        assert_eq!(off.classify(MacAddr, "00:1a:2b:3c:4d:5e"), Class::Public);
        assert_eq!(off.classify(Ipv4Addr, "203.0.113.5"), Class::Personal);
        assert_eq!(off.classify(Ipv4Addr, "10.0.0.1"), Class::Public);
    }

    #[test]
    fn bad_configuration_is_named() {
        let err = Classifier::new(&PersonalDataConfig {
            internal_networks: vec!["10.0.0.0/8".into(), "10.0.0.0/33".into()],
            ..PersonalDataConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("internal_networks[1]"), "{err}");
        let err = Classifier::new(&PersonalDataConfig {
            organisation_domains: vec!["..".into()],
            ..PersonalDataConfig::default()
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("organisation_domains[0]"), "{err}");
        let parsed: PersonalDataConfig =
            toml::from_str("organisation_domains = [\"cert.ee\"]\nuser_accounts = false").unwrap();
        assert_eq!(parsed.organisation_domains, ["cert.ee"]);
        assert!(!parsed.user_accounts);
        assert!(parsed.bare_host_names, "defaults fill the rest");
        assert!(toml::from_str::<PersonalDataConfig>("unknown = 1").is_err());
    }
}
