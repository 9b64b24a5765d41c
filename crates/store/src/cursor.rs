//! Keyset pagination cursors.
//!
//! A cursor names the last alert of a page by its sort key, (`created` in microseconds, `id`); the next
//! page holds the alerts strictly below that key. Unlike an offset, the key stays valid while alerts
//! are inserted, so a client paging through never sees an alert twice or misses one that existed when
//! it started. The key is base64url-encoded so clients treat it as opaque; every backend shares this
//! encoding, so a cursor survives a change of backend.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use shield_event::Alert;

use crate::StoreError;

/// Longest cursor accepted, in bytes.
const MAX_CURSOR_LEN: usize = 512;

/// Longest alert id a cursor may carry, in bytes.
pub(crate) const MAX_ALERT_ID_LEN: usize = 200;

/// The sort key of an alert: newest first means descending on both parts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct AlertKey {
    /// `created`, microseconds since the Unix epoch.
    pub created: i64,
    /// The alert id as stored.
    pub id: String,
}

impl AlertKey {
    /// The key of `alert`.
    pub fn of(alert: &Alert) -> Self {
        AlertKey {
            created: alert.created.timestamp_micros(),
            id: stored_alert_id(&alert.id),
        }
    }

    /// The opaque cursor naming this key.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.created, self.id))
    }

    /// The key named by a cursor.
    pub fn decode(cursor: &str) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::InvalidCursor(why.to_owned());
        if cursor.len() > MAX_CURSOR_LEN {
            return Err(bad("too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| bad("not base64url"))?;
        let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let (created, id) = text
            .split_once(':')
            .ok_or_else(|| bad("no key separator"))?;
        let created = created.parse::<i64>().map_err(|_| bad("bad time"))?;
        if id.is_empty() || id.len() > MAX_ALERT_ID_LEN {
            return Err(bad("bad alert id"));
        }
        Ok(AlertKey {
            created,
            id: id.to_owned(),
        })
    }
}

/// The form in which an alert id is stored and compared: a UUID in its lowercase hyphenated form
/// (so `get_alert(&Uuid)` finds it however it was written), anything else as it is.
pub(crate) fn stored_alert_id(id: &str) -> String {
    match uuid::Uuid::try_parse(id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(_) => id.to_owned(),
    }
}

/// Checks an alert id before it is stored.
pub(crate) fn check_alert_id(id: &str) -> Result<(), StoreError> {
    if id.is_empty() || id.len() > MAX_ALERT_ID_LEN || id.chars().any(char::is_control) {
        return Err(StoreError::InvalidInput {
            field: "alert id",
            reason: format!("must be 1 to {MAX_ALERT_ID_LEN} printable bytes"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let key = AlertKey {
            created: 1_714_557_600_123_456,
            id: "0190f3a2-0000-7000-8000-000000000001".into(),
        };
        assert_eq!(AlertKey::decode(&key.encode()).unwrap(), key);
        let negative = AlertKey {
            created: -5,
            id: "a:b".into(),
        };
        assert_eq!(AlertKey::decode(&negative.encode()).unwrap(), negative);
    }

    #[test]
    fn malformed_cursors_are_rejected() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for bad in [
            "!!!".to_owned(),
            enc("no-separator"),
            enc("12x:id"),
            enc("12:"),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, b':', b'a']),
            "A".repeat(MAX_CURSOR_LEN + 1),
        ] {
            assert!(
                matches!(AlertKey::decode(&bad), Err(StoreError::InvalidCursor(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn uuids_are_normalised() {
        assert_eq!(
            stored_alert_id("0190F3A2-0000-7000-8000-000000000001"),
            "0190f3a2-0000-7000-8000-000000000001"
        );
        assert_eq!(stored_alert_id("custom-1"), "custom-1");
        assert!(check_alert_id("").is_err());
        assert!(check_alert_id("a\u{0}").is_err());
    }
}
