//! From STIX indicators to matcher entries: the values a pattern looks for, and the side-table
//! record of the indicator.

use crate::ioc::{Ioc, IocKind};
use crate::pattern::{Comparison, ComparisonExpr, Constant, ObservationExpr, Operator, Pattern};
use crate::stix::StixObject;
use crate::tlp::most_restrictive;

use super::IndicatorRecord;

/// The indicator values of a STIX pattern, for the IOC matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternIocs {
    /// The values; a value that matches is a candidate (or a match, see `exact`).
    pub iocs: Vec<Ioc>,
    /// Whether an exact (or network) hit on one of the values satisfies the whole pattern. `false`
    /// when the pattern also asks for more (`[file:name = 'x' AND file:hashes.MD5 = '…']` is
    /// represented by its hash, `[network-traffic:dst_ref.value = '…' AND …dst_port = 443]` by its
    /// address): the hit is a candidate to confirm with [`Pattern::evaluate`], or to accept as a
    /// deliberately broader match.
    pub exact: bool,
}

/// The values a pattern looks for, when every way it can match goes through one: an `OR` of
/// observations and comparisons (`=`, `IN`, `ISSUBSET`) on the paths of indicator kinds, where an
/// `AND` is represented by its most specific value (a hash, then a URL, an e-mail address, a domain,
/// an address, a file name, a user agent). `None` for anything the matcher cannot stand for
/// (`MATCHES`, `!=`, observation operators, qualifiers, paths of other objects), which stays with
/// the pattern engine.
pub fn pattern_iocs(pattern: &Pattern) -> Option<PatternIocs> {
    let mut out = PatternIocs {
        iocs: Vec::new(),
        exact: true,
    };
    observation(pattern.root(), &mut out)?;
    Some(out)
}

fn observation(expr: &ObservationExpr, out: &mut PatternIocs) -> Option<()> {
    match expr {
        ObservationExpr::Observation(c) => comparison_expr(c, out),
        ObservationExpr::Or(items) => items.iter().try_for_each(|i| observation(i, out)),
        _ => None,
    }
}

fn comparison_expr(expr: &ComparisonExpr, out: &mut PatternIocs) -> Option<()> {
    match expr {
        ComparisonExpr::Comparison(c) => {
            out.iocs.extend(comparison(c)?);
            Some(())
        }
        ComparisonExpr::Or(items) => items.iter().try_for_each(|i| comparison_expr(i, out)),
        ComparisonExpr::And(items) => {
            // The most specific term that has indicator values stands for the conjunction.
            let best = items
                .iter()
                .filter_map(|i| match i {
                    ComparisonExpr::Comparison(c) => comparison(c),
                    _ => None,
                })
                .filter(|iocs| !iocs.is_empty())
                .min_by_key(|iocs| iocs.first().map_or(u8::MAX, |i| specificity(i.kind())))?;
            out.iocs.extend(best);
            out.exact = false;
            Some(())
        }
        ComparisonExpr::Exists(_) => None,
    }
}

fn specificity(kind: IocKind) -> u8 {
    match kind {
        IocKind::Md5 | IocKind::Sha1 | IocKind::Sha256 | IocKind::Sha512 => 0,
        IocKind::Url => 1,
        IocKind::Email => 2,
        IocKind::Domain => 3,
        IocKind::Ipv4 | IocKind::Ipv6 | IocKind::Cidr => 4,
        IocKind::FileName => 5,
        IocKind::UserAgent => 6,
    }
}

/// The indicator values of one comparison, `None` when it has no matcher form.
fn comparison(c: &Comparison) -> Option<Vec<Ioc>> {
    if c.negated || !matches!(c.operator, Operator::Eq | Operator::In | Operator::IsSubset) {
        return None;
    }
    let path = c.path.to_string();
    let kind = path_kind(&path)?;
    let values: Vec<&str> = match &c.value {
        Constant::Str(s) => vec![s.as_str()],
        Constant::Set(items) => items
            .iter()
            .map(|i| match i {
                Constant::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect::<Option<_>>()?,
        _ => return None,
    };
    values
        .into_iter()
        .map(|v| {
            Ioc::new(kind, v).ok().or_else(|| {
                // A connection's reference may name a host rather than an address.
                if path.starts_with("network-traffic:") {
                    Ioc::new(IocKind::Domain, v).ok()
                } else {
                    None
                }
            })
        })
        .collect()
}

/// The indicator kind of a canonical object path.
fn path_kind(path: &str) -> Option<IocKind> {
    if let Some(alg) = path.strip_prefix("file:hashes.") {
        let alg: String = alg
            .chars()
            .filter(|c| *c != '\'' && *c != '-')
            .collect::<String>()
            .to_ascii_uppercase();
        return match alg.as_str() {
            "MD5" => Some(IocKind::Md5),
            "SHA1" => Some(IocKind::Sha1),
            "SHA256" => Some(IocKind::Sha256),
            "SHA512" => Some(IocKind::Sha512),
            _ => None,
        };
    }
    Some(match path {
        "ipv4-addr:value" | "ipv6-addr:value" => IocKind::Ipv4,
        "network-traffic:dst_ref.value" | "network-traffic:src_ref.value" => IocKind::Ipv4,
        "domain-name:value" => IocKind::Domain,
        "url:value" => IocKind::Url,
        "email-addr:value"
        | "email-message:from_ref.value"
        | "email-message:sender_ref.value"
        | "email-message:to_refs[*].value"
        | "email-message:cc_refs[*].value" => IocKind::Email,
        "file:name" => IocKind::FileName,
        "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'" => {
            IocKind::UserAgent
        }
        _ => return None,
    })
}

/// The side-table record of a STIX indicator: id, name, its most restrictive TLP marking (else its
/// first marking), `valid_until` and confidence.
pub fn indicator_record(indicator: &StixObject) -> IndicatorRecord {
    let marking = most_restrictive(indicator.marking_refs())
        .map(|t| t.marking_id().to_owned())
        .or_else(|| indicator.marking_refs().next().map(str::to_owned));
    IndicatorRecord {
        id: indicator.id().to_owned(),
        name: indicator.str_property("name").map(str::to_owned),
        marking,
        valid_until: indicator
            .timestamp_property("valid_until")
            .map(|t| t.as_datetime()),
        confidence: indicator.confidence(),
    }
}
