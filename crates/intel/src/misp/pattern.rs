//! Reading STIX patterns back into MISP attributes and objects, for export.
//!
//! Patterns are parsed by [`crate::pattern::Pattern`]; this module only recognises the shapes that
//! have a MISP form: one equality (an attribute), an `OR` of equalities (one attribute each), and
//! `AND`s that describe one thing (a file's hashes and name, a domain and its address, a connection
//! and its port). Anything else (qualifiers, `FOLLOWEDBY`, `MATCHES`, `!=`…) has no MISP form and is
//! reported, not approximated.

use crate::pattern::{Comparison, ComparisonExpr, Constant, ObservationExpr, Operator, Pattern};

/// A MISP attribute or object recovered from a pattern or an observable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MispItem {
    /// `(type, value)`.
    Attribute(String, String),
    /// `(template name, [(object_relation, type, value)])`.
    Object(String, Vec<(String, String, String)>),
}

fn attribute(kind: &str, value: impl Into<String>) -> MispItem {
    MispItem::Attribute(kind.to_owned(), value.into())
}

/// The MISP items of a STIX pattern, or why it has none.
pub(super) fn items_of_pattern(text: &str) -> Result<Vec<MispItem>, String> {
    let pattern = Pattern::parse(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    observation(pattern.root(), &mut out)?;
    Ok(out)
}

fn observation(expr: &ObservationExpr, out: &mut Vec<MispItem>) -> Result<(), String> {
    match expr {
        ObservationExpr::Observation(c) => comparison_expr(c, out),
        ObservationExpr::Or(list) => list.iter().try_for_each(|e| observation(e, out)),
        _ => Err("observation operators and qualifiers have no MISP form".to_owned()),
    }
}

fn comparison_expr(expr: &ComparisonExpr, out: &mut Vec<MispItem>) -> Result<(), String> {
    match expr {
        ComparisonExpr::Comparison(c) => {
            let (path, value) = term(c)?;
            out.push(single(&path, &value)?);
            Ok(())
        }
        ComparisonExpr::Or(list) => list.iter().try_for_each(|e| comparison_expr(e, out)),
        ComparisonExpr::And(list) => {
            let terms: Vec<(String, String)> = list
                .iter()
                .map(|e| match e {
                    ComparisonExpr::Comparison(c) => term(c),
                    _ => Err("nested boolean expressions have no MISP form".to_owned()),
                })
                .collect::<Result<_, _>>()?;
            out.push(conjunction(&terms)?);
            Ok(())
        }
        ComparisonExpr::Exists(_) => Err("EXISTS has no MISP form".to_owned()),
    }
}

/// `(canonical path, value)` of an `=` (or `ISSUBSET` for networks) comparison.
fn term(c: &Comparison) -> Result<(String, String), String> {
    if c.negated || !matches!(c.operator, Operator::Eq | Operator::IsSubset) {
        return Err(format!("operator {} has no MISP form", c.operator.as_str()));
    }
    let value = match &c.value {
        Constant::Str(s) => s.clone(),
        Constant::Int(i) => i.to_string(),
        _ => return Err("only string and integer constants have a MISP form".to_owned()),
    };
    Ok((c.path.to_string(), value))
}

/// The attribute type of a path compared alone.
fn single(path: &str, value: &str) -> Result<MispItem, String> {
    let kind = match path {
        "ipv4-addr:value" | "ipv6-addr:value" | "network-traffic:dst_ref.value" => "ip-dst",
        "network-traffic:src_ref.value" => "ip-src",
        "domain-name:value" => "domain",
        "url:value" => "url",
        "file:hashes.MD5" => "md5",
        "file:hashes.'SHA-1'" | "file:hashes.SHA1" => "sha1",
        "file:hashes.'SHA-256'" | "file:hashes.SHA256" => "sha256",
        "file:hashes.'SHA-512'" | "file:hashes.SHA512" => "sha512",
        "file:name" => "filename",
        "email-addr:value" => "email",
        "email-message:from_ref.value" => "email-src",
        "email-message:to_refs[*].value" => "email-dst",
        "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'" => "user-agent",
        other => return Err(format!("{other} has no MISP attribute type")),
    };
    Ok(attribute(kind, value))
}

fn hash_type(path: &str) -> Option<&'static str> {
    Some(match path {
        "file:hashes.MD5" => "md5",
        "file:hashes.'SHA-1'" | "file:hashes.SHA1" => "sha1",
        "file:hashes.'SHA-256'" | "file:hashes.SHA256" => "sha256",
        "file:hashes.'SHA-512'" | "file:hashes.SHA512" => "sha512",
        _ => return None,
    })
}

/// The MISP form of comparisons joined by `AND` that describe one thing.
fn conjunction(terms: &[(String, String)]) -> Result<MispItem, String> {
    let get = |p: &str| {
        terms
            .iter()
            .find(|(path, _)| path == p)
            .map(|(_, v)| v.clone())
    };
    let all = |prefix: &str| terms.iter().all(|(p, _)| p.starts_with(prefix));
    if all("file:") {
        let mut rows = Vec::new();
        for (path, value) in terms {
            match (path.as_str(), hash_type(path)) {
                ("file:name", _) => {
                    rows.push(("filename".to_owned(), "filename".to_owned(), value.clone()))
                }
                (_, Some(h)) => rows.push((h.to_owned(), h.to_owned(), value.clone())),
                _ => return Err(format!("{path} has no MISP file object relation")),
            }
        }
        // A name and one hash is MISP's `filename|<hash>` attribute.
        if let ([(_, _, _), (_, _, _)], Some(name)) = (rows.as_slice(), get("file:name")) {
            if let Some((_, h, hash)) = rows.iter().find(|(r, _, _)| r != "filename") {
                return Ok(attribute(
                    &format!("filename|{h}"),
                    format!("{name}|{hash}"),
                ));
            }
        }
        return Ok(MispItem::Object("file".to_owned(), rows));
    }
    if all("domain-name:") {
        let domain = get("domain-name:value").ok_or("no domain-name:value")?;
        let ips: Vec<&String> = terms
            .iter()
            .filter(|(p, _)| p == "domain-name:resolves_to_refs[*].value")
            .map(|(_, v)| v)
            .collect();
        if ips.len() + 1 != terms.len() {
            return Err("unsupported domain-name comparison".to_owned());
        }
        if let [ip] = ips.as_slice() {
            return Ok(attribute("domain|ip", format!("{domain}|{ip}")));
        }
        let mut rows = vec![("domain".to_owned(), "domain".to_owned(), domain)];
        rows.extend(
            ips.into_iter()
                .map(|ip| ("ip".to_owned(), "ip-dst".to_owned(), ip.clone())),
        );
        return Ok(MispItem::Object("domain-ip".to_owned(), rows));
    }
    if all("network-traffic:") {
        let dst = get("network-traffic:dst_ref.value");
        let src = get("network-traffic:src_ref.value");
        let dst_type = get("network-traffic:dst_ref.type");
        let dst_port = get("network-traffic:dst_port");
        let src_port = get("network-traffic:src_port");
        let known = [
            "network-traffic:dst_ref.value",
            "network-traffic:src_ref.value",
            "network-traffic:dst_ref.type",
            "network-traffic:src_ref.type",
            "network-traffic:dst_port",
            "network-traffic:src_port",
        ];
        if let Some((p, _)) = terms.iter().find(|(p, _)| !known.contains(&p.as_str())) {
            return Err(format!("{p} has no MISP form"));
        }
        match (&dst, &src, &dst_port, &src_port) {
            (Some(d), None, Some(port), None) if dst_type.as_deref() == Some("domain-name") => {
                return Ok(attribute("hostname|port", format!("{d}|{port}")));
            }
            (Some(d), None, Some(port), None) => {
                return Ok(attribute("ip-dst|port", format!("{d}|{port}")));
            }
            (None, Some(s), None, Some(port)) => {
                return Ok(attribute("ip-src|port", format!("{s}|{port}")));
            }
            _ => {}
        }
        let mut rows = Vec::new();
        if let Some(d) = dst {
            if dst_type.as_deref() == Some("domain-name") {
                rows.push(("hostname-dst".to_owned(), "hostname".to_owned(), d));
            } else {
                rows.push(("ip-dst".to_owned(), "ip-dst".to_owned(), d));
            }
        }
        if let Some(s) = src {
            rows.push(("ip-src".to_owned(), "ip-src".to_owned(), s));
        }
        if let Some(p) = dst_port {
            rows.push(("dst-port".to_owned(), "port".to_owned(), p));
        }
        if let Some(p) = src_port {
            rows.push(("src-port".to_owned(), "port".to_owned(), p));
        }
        return Ok(MispItem::Object("network-connection".to_owned(), rows));
    }
    if all("email-message:") {
        let mut rows = Vec::new();
        for (path, value) in terms {
            let (relation, kind) = match path.as_str() {
                "email-message:from_ref.value" => ("from", "email-src"),
                "email-message:to_refs[*].value" => ("to", "email-dst"),
                "email-message:subject" => ("subject", "email-subject"),
                other => return Err(format!("{other} has no MISP email object relation")),
            };
            rows.push((relation.to_owned(), kind.to_owned(), value.clone()));
        }
        return Ok(MispItem::Object("email".to_owned(), rows));
    }
    Err("comparisons on different objects joined by AND have no MISP form".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> MispItem {
        let mut items = items_of_pattern(text).unwrap();
        assert_eq!(items.len(), 1, "{text}");
        items.remove(0)
    }

    #[test]
    fn shapes_import_writes() {
        assert_eq!(
            one("[ipv4-addr:value = '203.0.113.5']"),
            attribute("ip-dst", "203.0.113.5")
        );
        assert_eq!(
            one("[ipv4-addr:value ISSUBSET '10.0.0.0/8']"),
            attribute("ip-dst", "10.0.0.0/8")
        );
        assert_eq!(
            one("[file:name = 'a\\'b' AND file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
            attribute("filename|md5", "a'b|d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(
            one(
                "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.1' AND network-traffic:dst_port = 443]"
            ),
            attribute("ip-dst|port", "198.51.100.1|443")
        );
        assert_eq!(
            one(
                "[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '198.51.100.1']"
            ),
            attribute("domain|ip", "evil.example|198.51.100.1")
        );
        let items = items_of_pattern(
            "[domain-name:value = 'a.example'] OR [url:value = 'http://a.example/']",
        )
        .unwrap();
        assert_eq!(
            items,
            vec![
                attribute("domain", "a.example"),
                attribute("url", "http://a.example/")
            ]
        );
    }

    #[test]
    fn shapes_without_a_misp_form() {
        assert!(items_of_pattern("[ipv4-addr:value != '1.2.3.4']").is_err());
        assert!(items_of_pattern("[file:name MATCHES '^a']").is_err());
        assert!(
            items_of_pattern(
                "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [domain-name:value = 'x.example']"
            )
            .is_err()
        );
        assert!(
            items_of_pattern("[ipv4-addr:value = '1.2.3.4' AND domain-name:value = 'x.example']")
                .is_err()
        );
        assert!(items_of_pattern("not a pattern").is_err());
    }
}
