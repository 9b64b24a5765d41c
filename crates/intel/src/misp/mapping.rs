//! Which STIX pattern, matcher values and observables each MISP attribute type and object
//! template becomes.

use serde_json::Value;

use super::stix::{comparison, eq, file_observable, hash_name, hash_path, observable_of};
use crate::ioc::{Ioc, IocKind, detect};

/// The STIX form of one attribute or object, before it becomes an indicator or observed-data.
pub(super) struct Mapped {
    /// The comparison expression inside `[…]`.
    pub(super) pattern: String,
    pub(super) iocs: Vec<Ioc>,
    pub(super) observables: Vec<Value>,
}

impl Mapped {
    fn one(ioc: Ioc) -> Mapped {
        Mapped {
            pattern: comparison(&ioc),
            observables: observable_of(&ioc).into_iter().collect(),
            iocs: vec![ioc],
        }
    }
}

pub(super) struct ObjectAttribute<'a> {
    pub(super) relation: &'a str,
    pub(super) kind: &'a str,
    pub(super) value: &'a str,
    pub(super) to_ids: bool,
    pub(super) tags: Vec<&'a str>,
}

fn ioc(kind: IocKind, value: &str) -> Result<Ioc, String> {
    Ioc::new(kind, value).map_err(|e| e.to_string())
}

fn hash_kind(name: &str) -> Option<IocKind> {
    match name {
        "md5" => Some(IocKind::Md5),
        "sha1" => Some(IocKind::Sha1),
        "sha256" => Some(IocKind::Sha256),
        "sha512" => Some(IocKind::Sha512),
        _ => None,
    }
}

/// `ip|port` (MISP also accepts `ip:port` in old data).
fn split_pair(value: &str) -> Result<(&str, &str), String> {
    value
        .split_once('|')
        .ok_or_else(|| "expected two values separated by |".to_owned())
}

fn port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .map_err(|_| format!("{:?} is not a port", crate::ioc::truncate(text)))
}

fn family(ioc: &Ioc) -> Result<&'static str, String> {
    match ioc.kind() {
        IocKind::Ipv4 => Ok("ipv4-addr"),
        IocKind::Ipv6 => Ok("ipv6-addr"),
        _ => Err("expected an address, not a network".to_owned()),
    }
}

/// The STIX form of one attribute; `Ok(None)` for types that are not indicators.
pub(super) fn map_attribute(kind: &str, value: &str) -> Result<Option<Mapped>, String> {
    let kind = kind.to_ascii_lowercase();
    let mapped = match kind.as_str() {
        "ip-src" | "ip-dst" => Mapped::one(ioc(IocKind::Ipv4, value)?),
        "ip-src|port" | "ip-dst|port" => {
            let (addr, p) = split_pair(value)?;
            let addr = ioc(IocKind::Ipv4, addr)?;
            let p = port(p)?;
            let dir = if kind.starts_with("ip-src") {
                "src"
            } else {
                "dst"
            };
            Mapped {
                pattern: format!(
                    "network-traffic:{dir}_ref.type = '{}' AND {} AND network-traffic:{dir}_port = {p}",
                    family(&addr)?,
                    eq(&format!("network-traffic:{dir}_ref.value"), addr.value())
                ),
                observables: observable_of(&addr).into_iter().collect(),
                iocs: vec![addr],
            }
        }
        "domain" | "hostname" => Mapped::one(ioc(IocKind::Domain, value)?),
        "domain|ip" => {
            let (name, addr) = split_pair(value)?;
            let name = ioc(IocKind::Domain, name)?;
            let addr = ioc(IocKind::Ipv4, addr)?;
            family(&addr)?;
            Mapped {
                pattern: format!(
                    "{} AND {}",
                    eq("domain-name:value", name.value()),
                    eq("domain-name:resolves_to_refs[*].value", addr.value())
                ),
                observables: [&name, &addr]
                    .into_iter()
                    .filter_map(observable_of)
                    .collect(),
                iocs: vec![name],
            }
        }
        "hostname|port" => {
            let (name, p) = split_pair(value)?;
            let name = ioc(IocKind::Domain, name)?;
            let p = port(p)?;
            Mapped {
                pattern: format!(
                    "network-traffic:dst_ref.type = 'domain-name' AND {} AND network-traffic:dst_port = {p}",
                    eq("network-traffic:dst_ref.value", name.value())
                ),
                observables: observable_of(&name).into_iter().collect(),
                iocs: vec![name],
            }
        }
        "url" | "uri" => {
            let url = Ioc::new(IocKind::Url, value)
                .ok()
                .or_else(|| detect(value).filter(|i| i.kind() == IocKind::Url))
                .ok_or_else(|| "not a URL".to_owned())?;
            Mapped::one(url)
        }
        "md5" | "sha1" | "sha256" | "sha512" => {
            let kind = hash_kind(&kind).ok_or("unknown hash")?;
            Mapped::one(ioc(kind, value)?)
        }
        "filename|md5" | "filename|sha1" | "filename|sha256" | "filename|sha512"
        | "malware-sample" => {
            let (name, hash) = split_pair(value)?;
            let hash_kind = match kind.as_str() {
                "malware-sample" => IocKind::Md5,
                k => hash_kind(&k["filename|".len()..]).ok_or("unknown hash")?,
            };
            let hash = ioc(hash_kind, hash)?;
            let name = name.trim();
            if name.is_empty() {
                return Err("empty file name".to_owned());
            }
            let path = hash_path(hash_kind).ok_or("unknown hash")?;
            let alg = hash_name(hash_kind).ok_or("unknown hash")?;
            Mapped {
                pattern: format!("{} AND {}", eq("file:name", name), eq(path, hash.value())),
                observables: vec![file_observable(&[(alg, hash.value())], Some(name))],
                iocs: vec![hash],
            }
        }
        "filename" => {
            let file = ioc(IocKind::FileName, value)?;
            Mapped {
                pattern: eq("file:name", value.trim()),
                observables: observable_of(&file).into_iter().collect(),
                iocs: vec![file],
            }
        }
        "email-src" | "email-dst" | "email" | "email-addr" | "email-reply-to" => {
            let address = ioc(IocKind::Email, value)?;
            let path = match kind.as_str() {
                "email-src" => "email-message:from_ref.value",
                "email-dst" => "email-message:to_refs[*].value",
                _ => "email-addr:value",
            };
            Mapped {
                pattern: eq(path, address.value()),
                observables: observable_of(&address).into_iter().collect(),
                iocs: vec![address],
            }
        }
        "user-agent" => Mapped::one(ioc(IocKind::UserAgent, value)?),
        _ => return Ok(None),
    };
    Ok(Some(mapped))
}

/// The STIX form of one object of a supported template; `Ok(None)` for other templates.
pub(super) fn map_object(
    name: &str,
    attrs: &[ObjectAttribute<'_>],
) -> Result<Option<Mapped>, String> {
    let values = |relations: &[&str]| -> Vec<&str> {
        attrs
            .iter()
            .filter(|a| relations.contains(&a.relation))
            .map(|a| a.value)
            .collect()
    };
    let mapped = match name {
        "file" => {
            let mut hashes: Vec<Ioc> = Vec::new();
            for a in attrs {
                if let Some(kind) = hash_kind(a.kind).filter(|_| hash_kind(a.relation).is_some()) {
                    hashes.push(ioc(kind, a.value)?);
                }
            }
            let file_name = values(&["filename"]).first().map(|n| n.trim());
            if hashes.is_empty() && file_name.is_none() {
                return Ok(None);
            }
            let mut parts: Vec<String> = hashes
                .iter()
                .filter_map(|h| Some(eq(hash_path(h.kind())?, h.value())))
                .collect();
            if let Some(n) = file_name {
                parts.push(eq("file:name", n));
            }
            let algs: Vec<(&str, &str)> = hashes
                .iter()
                .filter_map(|h| Some((hash_name(h.kind())?, h.value())))
                .collect();
            let observables = vec![file_observable(&algs, file_name)];
            let iocs = if hashes.is_empty() {
                file_name
                    .map(|n| ioc(IocKind::FileName, n))
                    .transpose()?
                    .into_iter()
                    .collect()
            } else {
                hashes
            };
            Mapped {
                pattern: parts.join(" AND "),
                observables,
                iocs,
            }
        }
        "domain-ip" | "ip-port" => {
            let domains: Vec<Ioc> = values(&["domain", "hostname"])
                .into_iter()
                .map(|d| ioc(IocKind::Domain, d))
                .collect::<Result<_, _>>()?;
            let addrs: Vec<Ioc> = values(&["ip", "ip-dst", "ip-src"])
                .into_iter()
                .map(|a| ioc(IocKind::Ipv4, a))
                .collect::<Result<_, _>>()?;
            let observables = domains
                .iter()
                .chain(&addrs)
                .filter_map(observable_of)
                .collect();
            if let [single] = domains.as_slice() {
                let mut parts = vec![eq("domain-name:value", single.value())];
                for a in &addrs {
                    family(a)?;
                    parts.push(eq("domain-name:resolves_to_refs[*].value", a.value()));
                }
                Mapped {
                    pattern: parts.join(" AND "),
                    observables,
                    iocs: domains,
                }
            } else {
                let iocs = if domains.is_empty() { addrs } else { domains };
                if iocs.is_empty() {
                    return Err("no domain, host name or address".to_owned());
                }
                Mapped {
                    pattern: iocs.iter().map(comparison).collect::<Vec<_>>().join(" OR "),
                    observables,
                    iocs,
                }
            }
        }
        "url" => {
            let Some(url) = values(&["url"]).first().copied() else {
                return Err("no url attribute".to_owned());
            };
            match map_attribute("url", url)? {
                Some(m) => m,
                None => return Ok(None),
            }
        }
        "network-connection" => {
            let mut parts = Vec::new();
            let mut iocs = Vec::new();
            let mut observables = Vec::new();
            for (relation, dir, keep) in [("ip-dst", "dst", true), ("ip-src", "src", false)] {
                if let Some(a) = values(&[relation]).first() {
                    let addr = ioc(IocKind::Ipv4, a)?;
                    parts.push(format!(
                        "network-traffic:{dir}_ref.type = '{}'",
                        family(&addr)?
                    ));
                    parts.push(eq(
                        &format!("network-traffic:{dir}_ref.value"),
                        addr.value(),
                    ));
                    observables.extend(observable_of(&addr));
                    if keep {
                        iocs.push(addr);
                    }
                }
            }
            if let Some(h) = values(&["hostname-dst"]).first() {
                let host = ioc(IocKind::Domain, h)?;
                if parts.is_empty() {
                    parts.push("network-traffic:dst_ref.type = 'domain-name'".to_owned());
                    parts.push(eq("network-traffic:dst_ref.value", host.value()));
                }
                observables.extend(observable_of(&host));
                iocs.push(host);
            }
            for (relation, property) in [("dst-port", "dst_port"), ("src-port", "src_port")] {
                if let Some(p) = values(&[relation]).first() {
                    parts.push(format!("network-traffic:{property} = {}", port(p)?));
                }
            }
            if parts.is_empty() {
                return Err("no address or host".to_owned());
            }
            Mapped {
                pattern: parts.join(" AND "),
                iocs,
                observables,
            }
        }
        "email" => {
            let from: Vec<Ioc> = values(&["from"])
                .into_iter()
                .map(|f| ioc(IocKind::Email, f))
                .collect::<Result<_, _>>()?;
            let mut parts: Vec<String> = from
                .iter()
                .map(|f| eq("email-message:from_ref.value", f.value()))
                .collect();
            if let Some(subject) = values(&["subject"]).first() {
                parts.push(eq("email-message:subject", subject));
            }
            if from.is_empty() {
                return Ok(None);
            }
            Mapped {
                pattern: parts.join(" AND "),
                observables: from.iter().filter_map(observable_of).collect(),
                iocs: from,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(mapped))
}
