//! Token secrets and the checks every backend applies to token arguments.
//!
//! A secret is `shd_` followed by the base64url (unpadded) encoding of 32 bytes from the operating
//! system's random number generator: 256 bits, so a SHA-256 of it needs no salt or slow hash, and
//! lookup by hash needs no constant-time comparison (an attacker cannot steer which row is compared).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{Role, StoreError, TokenInfo};

/// Prefix of every secret the store generates (lets secret scanners recognise leaked tokens).
pub const SECRET_PREFIX: &str = "shd_";

/// Longest token name or organisation accepted, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// Longest secret accepted (by import or verify), in bytes.
pub const MAX_SECRET_LEN: usize = 1024;

/// A new random secret.
pub(crate) fn generate_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(format!("{SECRET_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// A new token's description: a random id, created now (to the microsecond, as stored).
pub(crate) fn new_token_info(name: &str, role: Role, org: Option<&str>) -> TokenInfo {
    TokenInfo {
        id: Uuid::new_v4().to_string(),
        name: name.to_owned(),
        role,
        org: org.map(str::to_owned),
        created: now_micros(),
        revoked: false,
    }
}

/// Now, truncated to the microsecond (the precision every backend keeps).
pub(crate) fn now_micros() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// The SHA-256 of a secret, the only form in which it is stored.
pub(crate) fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Checks a token's name and organisation.
pub(crate) fn check_token_fields(name: &str, org: Option<&str>) -> Result<(), StoreError> {
    check_name("token name", name)?;
    if let Some(org) = org {
        check_name("token org", org)?;
    }
    Ok(())
}

/// Checks a secret given by the operator.
pub(crate) fn check_imported_secret(secret: &str) -> Result<(), StoreError> {
    if secret.trim().is_empty() {
        return Err(invalid("token secret", "empty".into()));
    }
    if secret.len() > MAX_SECRET_LEN {
        return Err(invalid(
            "token secret",
            format!("longer than {MAX_SECRET_LEN} bytes"),
        ));
    }
    Ok(())
}

/// Whether a presented secret could be a stored one at all (cheap rejection of junk).
pub(crate) fn plausible_secret(secret: &str) -> bool {
    !secret.is_empty() && secret.len() <= MAX_SECRET_LEN
}

fn check_name(field: &'static str, value: &str) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "empty".into()));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(invalid(field, format!("longer than {MAX_NAME_LEN} bytes")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters".into()));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: String) -> StoreError {
    StoreError::InvalidInput { field, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_have_prefix_length_and_alphabet() {
        let a = generate_secret().unwrap();
        let b = generate_secret().unwrap();
        assert_ne!(a, b);
        let body = a.strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(body.len(), 43);
        assert!(
            body.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap().len(), 32);
    }

    #[test]
    fn hash_is_sha256() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let h = hash_secret("abc");
        assert_eq!(h[..4], [0xba, 0x78, 0x16, 0xbf]);
        assert_eq!(h[28..], [0xf2, 0x00, 0x15, 0xad]);
    }

    #[test]
    fn field_checks() {
        assert!(check_token_fields("dc01", Some("ee-cert")).is_ok());
        assert!(check_token_fields(" ", None).is_err());
        assert!(check_token_fields("a\nb", None).is_err());
        assert!(check_token_fields(&"x".repeat(MAX_NAME_LEN + 1), None).is_err());
        assert!(check_token_fields("ok", Some("")).is_err());
        assert!(check_imported_secret("").is_err());
        assert!(check_imported_secret(&"s".repeat(MAX_SECRET_LEN + 1)).is_err());
        assert!(check_imported_secret("operator-chosen").is_ok());
    }
}
