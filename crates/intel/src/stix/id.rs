//! STIX identifiers: `type--UUID`, random for most objects, deterministic for cyber observables.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::canonical::canonical_json;
use super::kind::{ObjectKind, is_valid_type_name};

/// The UUIDv5 namespace STIX 2.1 fixes for deterministic cyber-observable identifiers.
pub const SCO_NAMESPACE: Uuid = Uuid::from_u128(0x00abedb4_aa42_466c_9c01_fed23315a9b7);

/// Splits a STIX identifier into its type and UUID, checking both: the type is a valid type name and
/// the UUID is written `8-4-4-4-12` in hexadecimal, with an RFC 4122 variant and a version from 1 to 5.
pub fn split_identifier(id: &str) -> Result<(&str, Uuid), &'static str> {
    let (object_type, uuid) = id.split_once("--").ok_or("no `--` between type and UUID")?;
    if !is_valid_type_name(object_type) {
        return Err("the type part is not a valid object type");
    }
    Ok((object_type, parse_uuid(uuid)?))
}

/// Whether `id` is a valid STIX identifier (see [`split_identifier`]).
pub fn is_identifier(id: &str) -> bool {
    split_identifier(id).is_ok()
}

/// The type part of an identifier (`indicator` for `indicator--…`), without validating the rest.
pub fn identifier_type(id: &str) -> Option<&str> {
    id.split_once("--").map(|(t, _)| t)
}

fn parse_uuid(text: &str) -> Result<Uuid, &'static str> {
    let b = text.as_bytes();
    let shape = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if !shape {
        return Err("the UUID part is not of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
    }
    if !(b'1'..=b'5').contains(&b[14]) {
        return Err("the UUID version must be 1 to 5 (STIX uses 4, and 5 for cyber observables)");
    }
    if !matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B') {
        return Err("the UUID is not of the RFC 4122 variant");
    }
    Uuid::parse_str(text).map_err(|_| "the UUID part does not parse")
}

/// A fresh random (UUIDv4) identifier for an object of `object_type`.
pub fn new_identifier(object_type: &str) -> String {
    format!("{object_type}--{}", Uuid::new_v4())
}

/// The properties whose values determine a cyber observable's identifier, per type.
pub fn id_contributing_properties(kind: ObjectKind) -> &'static [&'static str] {
    use ObjectKind::*;
    match kind {
        Artifact => &["hashes", "payload_bin"],
        AutonomousSystem => &["number"],
        Directory => &["path"],
        DomainName | EmailAddr | Ipv4Addr | Ipv6Addr | MacAddr | Url => &["value"],
        EmailMessage => &["from_ref", "subject", "body"],
        File => &["hashes", "name", "extensions", "parent_directory_ref"],
        Mutex => &["name"],
        NetworkTraffic => &[
            "start",
            "end",
            "src_ref",
            "dst_ref",
            "src_port",
            "dst_port",
            "protocols",
            "extensions",
        ],
        Software => &["name", "cpe", "swid", "vendor", "version"],
        UserAccount => &["account_type", "user_id", "account_login"],
        WindowsRegistryKey => &["key", "values"],
        X509Certificate => &["hashes", "serial_number"],
        _ => &[],
    }
}

/// The deterministic identifier STIX 2.1 gives a cyber observable: UUIDv5 in [`SCO_NAMESPACE`] over
/// the canonical JSON of its id-contributing properties (of `hashes`, only one: MD5, else SHA-1,
/// else SHA-256, else SHA-512, else the first). `None` when the object has none of those properties
/// (it then takes a random id) or `object_type` is not a cyber-observable type.
pub fn observable_identifier(object_type: &str, properties: &Map<String, Value>) -> Option<String> {
    let kind = ObjectKind::from_name(object_type);
    let mut contributing = Map::new();
    for name in id_contributing_properties(kind) {
        let Some(value) = properties.get(*name) else {
            continue;
        };
        if *name == "hashes" {
            if let Some(one) = value.as_object().and_then(choose_one_hash) {
                contributing.insert("hashes".to_owned(), one);
            }
        } else {
            contributing.insert((*name).to_owned(), value.clone());
        }
    }
    if contributing.is_empty() {
        return None;
    }
    let canonical = canonical_json(&Value::Object(contributing));
    Some(format!(
        "{object_type}--{}",
        Uuid::new_v5(&SCO_NAMESPACE, canonical.as_bytes())
    ))
}

fn choose_one_hash(hashes: &Map<String, Value>) -> Option<Value> {
    let key = ["MD5", "SHA-1", "SHA-256", "SHA-512"]
        .into_iter()
        .find(|k| hashes.contains_key(*k))
        .or_else(|| hashes.keys().next().map(String::as_str))?;
    let mut one = Map::new();
    one.insert(key.to_owned(), hashes.get(key)?.clone());
    Some(Value::Object(one))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_are_checked_strictly() {
        let (t, u) = split_identifier("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f").unwrap();
        assert_eq!(t, "indicator");
        assert_eq!(u.get_version_num(), 4);
        for bad in [
            "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
            "indicator--{8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f}",
            "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f",
            "indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f",
            "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3",
            "--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        ] {
            assert!(!is_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn new_identifiers_are_valid_v4() {
        let id = new_identifier("sighting");
        let (t, u) = split_identifier(&id).unwrap();
        assert_eq!((t, u.get_version_num()), ("sighting", 4));
    }

    #[test]
    fn observable_ids_follow_the_specification() {
        // Reference values computed independently: uuid5(SCO namespace, canonical JSON).
        let ip = json!({"value": "198.51.100.3"});
        let id = observable_identifier("ipv4-addr", ip.as_object().unwrap()).unwrap();
        let expected = Uuid::new_v5(&SCO_NAMESPACE, br#"{"value":"198.51.100.3"}"#);
        assert_eq!(id, format!("ipv4-addr--{expected}"));
        assert_eq!(split_identifier(&id).unwrap().1.get_version_num(), 5);

        let file = json!({"name": "a.exe", "size": 10, "hashes": {"SHA-256": "aa", "MD5": "bb"}});
        let id = observable_identifier("file", file.as_object().unwrap()).unwrap();
        let expected = Uuid::new_v5(&SCO_NAMESPACE, br#"{"hashes":{"MD5":"bb"},"name":"a.exe"}"#);
        assert_eq!(id, format!("file--{expected}"));

        assert_eq!(
            observable_identifier("process", json!({"pid": 4}).as_object().unwrap()),
            None
        );
        assert_eq!(
            observable_identifier("indicator", ip.as_object().unwrap()),
            None
        );
    }
}
