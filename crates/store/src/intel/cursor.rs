//! The `next` cursor of object pages: the `date_added` of the last version served.
//!
//! `date_added` is strictly increasing within a collection and versions are served in its order,
//! so "after this `date_added`" names the rest of a result exactly, however many versions are
//! added meanwhile (they all come later). The cursor is base64url so clients treat it as opaque;
//! it carries a format tag so another encoding can follow.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::StoreError;

/// Longest cursor accepted, in bytes.
const MAX_CURSOR_LEN: usize = 64;

/// The cursor naming the position after the version added at `date_added` (µs).
pub(crate) fn encode(date_added: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("a1:{date_added}"))
}

/// The `date_added` (µs) a cursor names.
pub(crate) fn decode(cursor: &str) -> Result<i64, StoreError> {
    let bad = |why: &str| StoreError::InvalidCursor(why.to_owned());
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(bad("too long"));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad("not base64url"))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad("not UTF-8"))?;
    let micros = text
        .strip_prefix("a1:")
        .ok_or_else(|| bad("unknown format"))?;
    micros.parse::<i64>().map_err(|_| bad("bad position"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        assert_eq!(
            decode(&encode(1_714_557_600_123_456)).unwrap(),
            1_714_557_600_123_456
        );
        for bad in ["", "!!", "YWI", &"A".repeat(100)] {
            assert!(
                matches!(decode(bad), Err(StoreError::InvalidCursor(_))),
                "{bad}"
            );
        }
    }
}
