//! How object bodies are stored: the JSON text as received, in the `body` column of
//! `intel_objects` (declared `ANY`, so a packed form can sit beside plain text later without a
//! migration).

use rusqlite::types::{FromSqlError, ValueRef};

/// The stored form of a body.
pub(crate) fn pack(json: &str) -> &str {
    json
}

/// A stored body back as JSON text.
pub(crate) fn read(value: ValueRef<'_>) -> rusqlite::Result<String> {
    match value {
        ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec()).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, value.data_type(), Box::new(e))
        }),
        other => Err(rusqlite::Error::FromSqlConversionFailure(
            0,
            other.data_type(),
            Box::new(FromSqlError::InvalidType),
        )),
    }
}
