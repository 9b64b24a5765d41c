//! The meaning of one comparison against one observed value.
//!
//! A comparison answers `Some(true)`/`Some(false)` when the value and the constant are comparable,
//! and `None` when they are not (a string compared with a number, a malformed address): an
//! incomparable value never satisfies a comparison, negated or not.

use std::cmp::Ordering;
use std::net::IpAddr;

use base64::Engine as _;
use ipnet::IpNet;
use regex::Regex;
use serde_json::Value;

use super::ast::{Constant, Operator};
use crate::stix::Timestamp;

/// Evaluates `value <operator> constant`.
pub(super) fn compare(
    operator: Operator,
    constant: &Constant,
    value: &Value,
    regex: Option<&Regex>,
) -> Option<bool> {
    match operator {
        Operator::Eq => equals(constant, value),
        Operator::Neq => equals(constant, value).map(|b| !b),
        Operator::Gt => order(constant, value).map(Ordering::is_gt),
        Operator::Lt => order(constant, value).map(Ordering::is_lt),
        Operator::Ge => order(constant, value).map(Ordering::is_ge),
        Operator::Le => order(constant, value).map(Ordering::is_le),
        Operator::In => {
            let Constant::Set(items) = constant else {
                return None;
            };
            let mut comparable = false;
            for item in items {
                match equals(item, value) {
                    Some(true) => return Some(true),
                    Some(false) => comparable = true,
                    None => {}
                }
            }
            comparable.then_some(false)
        }
        Operator::Like => match (constant, value) {
            (Constant::Str(pattern), Value::String(s)) => Some(like(pattern, s)),
            _ => None,
        },
        Operator::Matches => match (regex, value) {
            (Some(re), Value::String(s)) => Some(re.is_match(s)),
            _ => None,
        },
        Operator::IsSubset => subset(value, constant),
        Operator::IsSuperset => superset(value, constant),
    }
}

fn equals(constant: &Constant, value: &Value) -> Option<bool> {
    match (constant, value) {
        (Constant::Str(c), Value::String(v)) => Some(c == v),
        (Constant::Bool(c), Value::Bool(v)) => Some(c == v),
        (Constant::Int(_) | Constant::Float(_), Value::Number(_)) => {
            order(constant, value).map(Ordering::is_eq)
        }
        (Constant::Timestamp(_), Value::String(_)) => order(constant, value).map(Ordering::is_eq),
        (Constant::Hex(c) | Constant::Binary(c), Value::String(v)) => {
            decode_binary(v).map(|bytes| &bytes == c)
        }
        _ => None,
    }
}

/// `value` compared to `constant` (`Greater` when the value is greater).
fn order(constant: &Constant, value: &Value) -> Option<Ordering> {
    match (constant, value) {
        (Constant::Str(c), Value::String(v)) => Some(v.as_str().cmp(c.as_str())),
        (Constant::Int(c), Value::Number(v)) => match v.as_i64() {
            Some(v) => Some(v.cmp(c)),
            None => v.as_f64()?.partial_cmp(&(*c as f64)),
        },
        (Constant::Float(c), Value::Number(v)) => v.as_f64()?.partial_cmp(c),
        (Constant::Timestamp(c), Value::String(v)) => Some(parse_time(v)?.cmp(c)),
        (Constant::Hex(c) | Constant::Binary(c), Value::String(v)) => {
            Some(decode_binary(v)?.as_slice().cmp(c))
        }
        _ => None,
    }
}

/// Observed timestamps: STIX form, or any RFC 3339 offset.
fn parse_time(text: &str) -> Option<Timestamp> {
    Timestamp::parse(text).ok().or_else(|| {
        chrono::DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
    })
}

/// Binary property values are base64 in STIX JSON, hash values are hexadecimal: a string that is
/// valid hexadecimal is read as hex, anything else as base64.
fn decode_binary(text: &str) -> Option<Vec<u8>> {
    let is_hex =
        text.len() % 2 == 0 && !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
            .collect();
    }
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .ok()
}

/// SQL `LIKE`: `%` matches any run of characters, `_` exactly one; everything else literally.
/// Backtracks only to the last `%` (the classic wildcard algorithm): at worst pattern × text steps,
/// no recursion.
pub(super) fn like(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || (p[pi] != '%' && p[pi] == t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

/// An address or network, as written in `ipv4-addr:value` (`198.51.100.7`, `198.51.100.0/24`).
fn network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>()
        .map(|n| n.trunc())
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// `value ISSUBSET constant`: the observed address or network lies inside the constant's network.
fn subset(value: &Value, constant: &Constant) -> Option<bool> {
    let (Value::String(v), Constant::Str(c)) = (value, constant) else {
        return None;
    };
    let (inner, outer) = (network(v)?, network(c)?);
    Some(same_family(&inner, &outer) && outer.contains(&inner))
}

/// `value ISSUPERSET constant`: the observed network contains the constant's address or network.
fn superset(value: &Value, constant: &Constant) -> Option<bool> {
    let (Value::String(v), Constant::Str(c)) = (value, constant) else {
        return None;
    };
    let (outer, inner) = (network(v)?, network(c)?);
    Some(same_family(&inner, &outer) && outer.contains(&inner))
}

fn same_family(a: &IpNet, b: &IpNet) -> bool {
    matches!(
        (a, b),
        (IpNet::V4(_), IpNet::V4(_)) | (IpNet::V6(_), IpNet::V6(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(x: &str) -> Constant {
        Constant::Str(x.into())
    }

    #[test]
    fn like_wildcards() {
        assert!(like("%.example", "evil.example"));
        assert!(like("e_il%", "evil.example"));
        assert!(!like("e_il", "evil.example"));
        assert!(like("%", ""));
        assert!(like("a%b%c", "aXXbYYc"));
        assert!(!like("a%b%c", "aXXbYY"));
        assert!(like("100\u{e9}%", "100\u{e9}x"));
        // Pathological input stays fast.
        let text = "a".repeat(5000);
        assert!(!like(&format!("{}b", "%a".repeat(50)), &text));
    }

    #[test]
    fn equality_and_order_by_type() {
        assert_eq!(
            compare(Operator::Eq, &s("x"), &json!("x"), None),
            Some(true)
        );
        assert_eq!(
            compare(Operator::Neq, &s("x"), &json!("y"), None),
            Some(true)
        );
        assert_eq!(compare(Operator::Eq, &s("1"), &json!(1), None), None);
        assert_eq!(
            compare(Operator::Gt, &Constant::Int(1024), &json!(8080), None),
            Some(true)
        );
        assert_eq!(
            compare(Operator::Le, &Constant::Float(2.5), &json!(2.5), None),
            Some(true)
        );
        assert_eq!(
            compare(Operator::Eq, &Constant::Int(3), &json!(3.0), None),
            Some(true)
        );
        assert_eq!(
            compare(Operator::Lt, &s("b"), &json!("a"), None),
            Some(true)
        );
        let t = Constant::Timestamp(Timestamp::parse("2020-01-01T00:00:00Z").unwrap());
        assert_eq!(
            compare(Operator::Gt, &t, &json!("2020-06-01T00:00:00.000Z"), None),
            Some(true)
        );
        assert_eq!(
            compare(Operator::Eq, &t, &json!("2020-01-01T01:00:00+01:00"), None),
            Some(true)
        );
        assert_eq!(
            compare(
                Operator::Eq,
                &Constant::Hex(vec![0xde, 0xad]),
                &json!("DEAD"),
                None
            ),
            Some(true)
        );
        assert_eq!(
            compare(
                Operator::Eq,
                &Constant::Binary(vec![1, 2]),
                &json!("AQI="),
                None
            ),
            Some(true)
        );
        assert_eq!(
            compare(Operator::Eq, &Constant::Bool(true), &json!(true), None),
            Some(true)
        );
    }

    #[test]
    fn sets_and_networks() {
        let set = Constant::Set(vec![s("tcp"), s("udp")]);
        assert_eq!(compare(Operator::In, &set, &json!("udp"), None), Some(true));
        assert_eq!(
            compare(Operator::In, &set, &json!("icmp"), None),
            Some(false)
        );
        assert_eq!(compare(Operator::In, &set, &json!(6), None), None);
        let net = s("198.51.100.0/24");
        assert_eq!(
            compare(Operator::IsSubset, &net, &json!("198.51.100.7"), None),
            Some(true)
        );
        assert_eq!(
            compare(Operator::IsSubset, &net, &json!("198.51.100.0/25"), None),
            Some(true)
        );
        assert_eq!(
            compare(Operator::IsSubset, &net, &json!("198.51.0.0/16"), None),
            Some(false)
        );
        assert_eq!(
            compare(Operator::IsSubset, &net, &json!("2001:db8::1"), None),
            Some(false)
        );
        assert_eq!(
            compare(Operator::IsSubset, &net, &json!("not an ip"), None),
            None
        );
        assert_eq!(
            compare(
                Operator::IsSuperset,
                &s("198.51.100.7"),
                &json!("198.51.0.0/16"),
                None
            ),
            Some(true)
        );
        assert_eq!(
            compare(
                Operator::IsSubset,
                &s("2001:db8::/32"),
                &json!("2001:db8:1::5"),
                None
            ),
            Some(true)
        );
    }

    #[test]
    fn regex_is_searched_anywhere() {
        let re = Regex::new("^cmd\\.exe /c").unwrap();
        assert_eq!(
            compare(
                Operator::Matches,
                &s(""),
                &json!("cmd.exe /c whoami"),
                Some(&re)
            ),
            Some(true)
        );
        let re = Regex::new("whoami").unwrap();
        assert_eq!(
            compare(
                Operator::Matches,
                &s(""),
                &json!("cmd.exe /c whoami"),
                Some(&re)
            ),
            Some(true)
        );
        assert_eq!(
            compare(Operator::Matches, &s(""), &json!(5), Some(&re)),
            None
        );
    }
}
