//! The values the store traits take and return.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shield_event::{Alert, AlertKind, Level};

use crate::StoreError;

/// The most alerts one [`AlertQuery`] page returns, whatever its `limit`.
pub const MAX_PAGE: usize = 1000;

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, token management included.
    Admin,
    /// Read alerts, run hunts, manage rules.
    Analyst,
    /// Send events.
    Ingest,
    /// A neighbour node or hub exchanging intel.
    Peer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Ingest, Role::Peer];

    /// The lowercase name (`admin`, `analyst`, `ingest`, `peer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Ingest => "ingest",
            Role::Peer => "peer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role '{0}' (expected admin, analyst, ingest or peer)")]
pub struct ParseRoleError(pub String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "ingest" => Ok(Role::Ingest),
            "peer" => Ok(Role::Peer),
            _ => Err(ParseRoleError(s.to_owned())),
        }
    }
}

/// An API token as the store describes it. The secret itself is never stored, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Token id (a UUID), used to list and revoke it.
    pub id: String,
    /// Human name (`winlogbeat-dc01`, `hub-eu`).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Organisation it acts for; events ingested with it are attributed to this organisation.
    pub org: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Whether it was revoked (a revoked token no longer verifies).
    pub revoked: bool,
}

/// Which alerts to return, newest first. Times compare at microsecond precision.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertQuery {
    /// Only alerts created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only alerts created strictly before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only alerts at least this severe.
    pub min_level: Option<Level>,
    /// Only alerts of this rule.
    pub rule_id: Option<String>,
    /// Only alerts of this kind.
    pub kind: Option<AlertKind>,
    /// Only alerts of this organisation.
    pub org: Option<String>,
    /// Continue after the page that returned this cursor.
    pub cursor: Option<String>,
    /// Page size; 0 is read as 1 and anything above [`MAX_PAGE`] as [`MAX_PAGE`].
    pub limit: usize,
}

impl Default for AlertQuery {
    /// Every alert, 100 per page.
    fn default() -> Self {
        AlertQuery {
            since: None,
            until: None,
            min_level: None,
            rule_id: None,
            kind: None,
            org: None,
            cursor: None,
            limit: 100,
        }
    }
}

impl AlertQuery {
    /// The page size actually served.
    pub fn effective_limit(&self) -> usize {
        self.limit.clamp(1, MAX_PAGE)
    }

    /// Whether `alert` passes every filter (not the cursor).
    pub fn matches(&self, alert: &Alert) -> bool {
        let created = alert.created.timestamp_micros();
        self.since.is_none_or(|t| created >= t.timestamp_micros())
            && self.until.is_none_or(|t| created < t.timestamp_micros())
            && self.min_level.is_none_or(|l| alert.rule.level >= l)
            && self.rule_id.as_deref().is_none_or(|r| alert.rule.id == r)
            && self.kind.is_none_or(|k| alert.kind == k)
            && self
                .org
                .as_deref()
                .is_none_or(|o| alert.org.as_deref() == Some(o))
    }
}

/// One page of alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPage {
    /// The alerts, newest first.
    pub alerts: Vec<Alert>,
    /// Cursor for the next page; `None` when this page is the last.
    pub next_cursor: Option<String>,
}

/// What the node ingested since its store was created.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IngestTotals {
    /// Events accepted, all inputs.
    pub events_ingested: u64,
    /// Events rejected (unparsable, over limits), all inputs.
    pub events_rejected: u64,
    /// Bytes received, all inputs.
    pub bytes: u64,
    /// The same per input, by input name.
    pub per_input: Vec<InputTotals>,
}

/// What one input ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputTotals {
    /// Input name (`http`, `bulk`, `syslog-udp`, …).
    pub input: String,
    /// Events accepted.
    pub events_ingested: u64,
    /// Events rejected.
    pub events_rejected: u64,
    /// Bytes received.
    pub bytes: u64,
    /// When the input last delivered a batch.
    pub last_seen: Option<DateTime<Utc>>,
}

/// One administrative action, for the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it (token name or id).
    pub actor: String,
    /// What (`token.create`, `rules.reload`, …).
    pub action: String,
    /// On what (token id, rule pack, …).
    pub target: String,
    /// Anything else worth keeping.
    pub details: serde_json::Value,
}

/// Longest state key, input name or audit text field accepted, in bytes.
pub const MAX_KEY_LEN: usize = 1024;

/// Largest state value or audit `details` accepted, in bytes (of JSON for `details`).
pub const MAX_VALUE_LEN: usize = 1 << 20;

fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.len() > max {
        return Err(StoreError::InvalidInput {
            field,
            reason: format!("longer than {max} bytes"),
        });
    }
    Ok(())
}

fn check_key(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::InvalidInput {
            field,
            reason: "empty".into(),
        });
    }
    check_len(field, value, MAX_KEY_LEN)
}

/// Checks a state entry before it is stored.
pub(crate) fn check_state(key: &str, value: &str) -> Result<(), StoreError> {
    check_key("state key", key)?;
    check_len("state value", value, MAX_VALUE_LEN)
}

/// Checks an input name before counters are added to it.
pub(crate) fn check_input_name(input: &str) -> Result<(), StoreError> {
    check_key("input name", input)
}

/// Checks an audit entry and returns its `details` as JSON text.
pub(crate) fn check_audit(e: &AuditEntry) -> Result<String, StoreError> {
    check_key("audit actor", &e.actor)?;
    check_key("audit action", &e.action)?;
    check_len("audit target", &e.target, MAX_KEY_LEN)?;
    let details = serde_json::to_string(&e.details).map_err(|err| StoreError::InvalidInput {
        field: "audit details",
        reason: err.to_string(),
    })?;
    check_len("audit details", &details, MAX_VALUE_LEN)?;
    Ok(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_display_and_serialise_lowercase() {
        for role in Role::ALL {
            assert_eq!(role.to_string().parse::<Role>(), Ok(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role}\""));
        }
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
        assert_eq!("root".parse::<Role>(), Err(ParseRoleError("root".into())));
    }

    #[test]
    fn limit_is_clamped() {
        let mut q = AlertQuery::default();
        assert_eq!(q.effective_limit(), 100);
        q.limit = 0;
        assert_eq!(q.effective_limit(), 1);
        q.limit = 1_000_000;
        assert_eq!(q.effective_limit(), MAX_PAGE);
    }
}
