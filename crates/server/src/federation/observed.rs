//! What a local sighting observed, read from the intel alert that caused it: the matched values
//! and the host, address and account of the event. Kept on the local sighting in
//! [`OBSERVED_PROPERTY`]; the shared sighting carries them as values or pseudonyms.

use serde_json::{Value, json};
use shield_event::Alert;

/// The local custom property of a sighting listing what it observed (`[{"type", "value"}]`);
/// it never leaves the node as it is.
pub const OBSERVED_PROPERTY: &str = "x_shield_observed";

/// Most values taken from one alert.
pub const MAX_OBSERVED: usize = 16;

/// Event fields naming the host the event came from.
const HOST_FIELDS: [&[&str]; 4] = [
    &["host", "name"],
    &["host", "hostname"],
    &["agent", "hostname"],
    &["Event", "System", "Computer"],
];
/// Event fields holding the local address.
const ADDRESS_FIELDS: [&[&str]; 2] = [&["source", "ip"], &["host", "ip"]];
/// Event fields holding the user account.
const USER_FIELDS: [&[&str]; 2] = [&["user", "name"], &["Event", "EventData", "User"]];

fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 512)
}

/// The STIX type of an IOC kind as the matcher names it.
fn stix_type(kind: &str, value: &str) -> &'static str {
    match kind {
        "ipv4" | "ipv6" | "cidr" if value.contains(':') => "ipv6-addr",
        "ipv4" | "ipv6" | "cidr" => "ipv4-addr",
        "domain" => "domain-name",
        "url" => "url",
        "email" => "email-addr",
        _ => "other",
    }
}

/// The observed values of an intel alert (`[{"type", "value"}]`, without duplicates).
pub fn observed_of_alert(alert: &Alert) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut push = |kind: &str, value: &str| {
        let item = json!({"type": kind, "value": value});
        if out.len() < MAX_OBSERVED && !out.contains(&item) {
            out.push(item);
        }
    };
    for m in alert.details["matches"].as_array().into_iter().flatten() {
        if let (Some(kind), Some(value)) = (m["kind"].as_str(), m["value"].as_str()) {
            push(stix_type(kind, value), value);
        }
    }
    for path in HOST_FIELDS {
        if let Some(host) = at(&alert.event, path) {
            push("domain-name", host);
            break;
        }
    }
    for path in ADDRESS_FIELDS {
        if let Some(ip) = at(&alert.event, path) {
            push(
                if ip.contains(':') {
                    "ipv6-addr"
                } else {
                    "ipv4-addr"
                },
                ip,
            );
        }
    }
    for path in USER_FIELDS {
        if let Some(user) = at(&alert.event, path) {
            push("user-account", user);
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shield_event::{AlertKind, Event, Format, Level, RuleRef};

    #[test]
    fn matched_values_host_address_and_user_are_observed() {
        let event = Event::new(
            json!({"dns": {"question": {"name": "c2.example.net"}},
                   "host": {"name": "fin-ws-17.corp.local"},
                   "source": {"ip": "10.20.0.17"}, "user": {"name": "mari"}}),
            "http".into(),
            Format::Json,
        );
        let rule = RuleRef {
            id: "indicator--00000000-0000-4000-8000-000000000001".into(),
            title: "C2".into(),
            level: Level::High,
            tags: Vec::new(),
        };
        let mut alert = Alert::for_event(AlertKind::Intel, rule, &event);
        alert.details = json!({"matches": [
            {"field": "dns.question.name", "value": "c2.example.net", "kind": "domain"},
            {"field": "dns.question.name", "value": "c2.example.net", "kind": "domain"},
        ]});
        let observed = observed_of_alert(&alert);
        assert_eq!(
            observed,
            vec![
                json!({"type": "domain-name", "value": "c2.example.net"}),
                json!({"type": "domain-name", "value": "fin-ws-17.corp.local"}),
                json!({"type": "ipv4-addr", "value": "10.20.0.17"}),
                json!({"type": "user-account", "value": "mari"}),
            ]
        );
    }

    #[test]
    fn an_event_without_those_fields_observes_only_the_match() {
        let event = Event::new(json!({"x": 1}), "http".into(), Format::Json);
        let rule = RuleRef {
            id: "indicator--00000000-0000-4000-8000-000000000001".into(),
            title: "C2".into(),
            level: Level::High,
            tags: Vec::new(),
        };
        let mut alert = Alert::for_event(AlertKind::Intel, rule, &event);
        alert.details = json!({"matches": [{"value": "2001:db8::1", "kind": "ipv6"}]});
        assert_eq!(
            observed_of_alert(&alert),
            vec![json!({"type": "ipv6-addr", "value": "2001:db8::1"})]
        );
    }
}
