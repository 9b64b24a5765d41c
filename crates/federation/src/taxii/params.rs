//! Query parameters of the object, manifest and version endpoints: `added_after`, `limit`,
//! `next` and the `match[...]` filters.

use chrono::{DateTime, Utc};
use shield_intel::stix::Timestamp;
use shield_store::intel::{DeleteRequest, ObjectQuery, VersionMatch};

use super::error::TaxiiError;

/// Most values all `match[...]` filters of one request may list together.
const MAX_FILTER_VALUES: usize = 200;

/// Longest accepted value of one parameter, in bytes.
const MAX_PARAM_LEN: usize = 16 * 1024;

/// The parsed parameters of one request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    /// `added_after`.
    pub added_after: Option<DateTime<Utc>>,
    /// `limit`, when given.
    pub limit: Option<usize>,
    /// `next`.
    pub next: Option<String>,
    /// `match[id]`.
    pub ids: Vec<String>,
    /// `match[type]`.
    pub types: Vec<String>,
    /// `match[version]`.
    pub versions: Vec<VersionMatch>,
    /// `match[spec_version]`.
    pub spec_versions: Vec<String>,
}

/// Which parameters an endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// Get objects, get manifest: everything.
    Objects,
    /// Get an object: no `match[id]`/`match[type]` (the id is in the path).
    Object,
    /// Object versions: `added_after`, `limit`, `next`, `match[spec_version]`.
    Versions,
    /// Delete an object: `match[version]`, `match[spec_version]`.
    Delete,
}

impl Endpoint {
    fn takes(self, name: &str) -> bool {
        match self {
            Endpoint::Objects => true,
            Endpoint::Object => !matches!(name, "match[id]" | "match[type]"),
            Endpoint::Versions => {
                matches!(
                    name,
                    "added_after" | "limit" | "next" | "match[spec_version]"
                )
            }
            Endpoint::Delete => matches!(name, "match[version]" | "match[spec_version]"),
        }
    }
}

fn timestamp(name: &str, value: &str) -> Result<DateTime<Utc>, TaxiiError> {
    Timestamp::parse(value.trim())
        .map(|t| t.as_datetime())
        .map_err(|why| {
            TaxiiError::bad_request(format!(
                "parameter '{name}': {value:?} is not a STIX timestamp ({why})"
            ))
        })
}

/// Parses the query pairs of a request to `endpoint`. Unknown `match[...]` filters, parameters
/// the endpoint does not take, bad timestamps and a `limit` that is not a positive integer are
/// 400s naming the parameter; other parameters are ignored.
pub fn parse(pairs: &[(String, String)], endpoint: Endpoint) -> Result<Params, TaxiiError> {
    let mut p = Params::default();
    let mut values = 0usize;
    for (name, value) in pairs {
        if value.len() > MAX_PARAM_LEN {
            return Err(TaxiiError::bad_request(format!(
                "parameter '{name}' is longer than {MAX_PARAM_LEN} bytes"
            )));
        }
        let known = matches!(
            name.as_str(),
            "added_after"
                | "limit"
                | "next"
                | "match[id]"
                | "match[type]"
                | "match[version]"
                | "match[spec_version]"
        );
        if !known {
            if name.starts_with("match[") {
                return Err(TaxiiError::bad_request(format!(
                    "filter '{name}' is not supported (supported: match[id], match[type], \
                     match[version], match[spec_version])"
                )));
            }
            continue;
        }
        if !endpoint.takes(name) {
            return Err(TaxiiError::bad_request(format!(
                "parameter '{name}' does not apply to this endpoint"
            )));
        }
        let list = || value.split(',').map(str::trim).filter(|v| !v.is_empty());
        if name.starts_with("match[") {
            values += list().count();
            if values > MAX_FILTER_VALUES {
                return Err(TaxiiError::bad_request(format!(
                    "more than {MAX_FILTER_VALUES} filter values"
                )));
            }
        }
        match name.as_str() {
            "added_after" => p.added_after = Some(timestamp(name, value)?),
            "limit" => {
                let limit = value.trim().parse::<usize>().ok().filter(|l| *l > 0);
                p.limit = Some(limit.ok_or_else(|| {
                    TaxiiError::bad_request(format!(
                        "parameter 'limit': {value:?} is not a positive integer"
                    ))
                })?);
            }
            "next" => p.next = Some(value.clone()),
            "match[id]" => p.ids.extend(list().map(str::to_owned)),
            "match[type]" => p.types.extend(list().map(str::to_owned)),
            "match[spec_version]" => p.spec_versions.extend(list().map(str::to_owned)),
            _ => {
                for v in list() {
                    p.versions.push(match v {
                        "last" => VersionMatch::Last,
                        "first" => VersionMatch::First,
                        "all" => VersionMatch::All,
                        t => VersionMatch::At(timestamp(name, t)?),
                    });
                }
            }
        }
    }
    Ok(p)
}

impl Params {
    /// The store query for collection `collection`, with the page size asked for (or
    /// `default_page`), capped at `max_page`.
    pub fn query(
        &self,
        collection: &str,
        default_page: usize,
        max_page: usize,
        with_json: bool,
    ) -> ObjectQuery {
        ObjectQuery {
            collection: collection.to_owned(),
            added_after: self.added_after,
            ids: self.ids.clone(),
            types: self.types.clone(),
            versions: self.versions.clone(),
            spec_versions: self.spec_versions.clone(),
            limit: self.limit.unwrap_or(default_page).min(max_page),
            next: self.next.clone(),
            with_json,
        }
    }

    /// The store request deleting object `id` of `collection`.
    pub fn delete(&self, collection: &str, id: &str) -> DeleteRequest {
        DeleteRequest {
            collection: collection.to_owned(),
            id: id.to_owned(),
            versions: self.versions.clone(),
            spec_versions: self.spec_versions.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn parses_filters() {
        let p = parse(
            &pairs(&[
                ("added_after", "2024-05-01T00:00:00.123456Z"),
                ("limit", "50"),
                ("match[type]", "indicator,malware"),
                ("match[type]", "report"),
                ("match[version]", "first,last,2024-05-01T00:00:00.000Z"),
                ("match[spec_version]", "2.1"),
                ("unrelated", "x"),
            ]),
            Endpoint::Objects,
        )
        .unwrap();
        assert_eq!(p.added_after.unwrap().timestamp_subsec_micros(), 123_456);
        assert_eq!(p.limit, Some(50));
        assert_eq!(p.types, vec!["indicator", "malware", "report"]);
        assert_eq!(p.versions.len(), 3);
        assert!(matches!(p.versions[2], VersionMatch::At(_)));
        assert_eq!(p.query("c", 100, 20, true).limit, 20);
        assert_eq!(Params::default().query("c", 100, 1000, true).limit, 100);
    }

    #[test]
    fn rejects_what_it_cannot_honour() {
        for bad in [
            ("limit", "0"),
            ("limit", "-3"),
            ("limit", "many"),
            ("added_after", "yesterday"),
            ("match[version]", "newest"),
            ("match[created_by_ref]", "identity--x"),
        ] {
            let e = parse(&pairs(&[bad]), Endpoint::Objects).unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{bad:?}");
            assert!(e.description.as_deref().unwrap().contains(bad.0), "{bad:?}");
        }
        assert!(parse(&pairs(&[("match[id]", "x")]), Endpoint::Object).is_err());
        assert!(parse(&pairs(&[("match[version]", "all")]), Endpoint::Versions).is_err());
        assert!(parse(&pairs(&[("limit", "1")]), Endpoint::Delete).is_err());
        let many = vec!["x"; 300].join(",");
        assert!(parse(&pairs(&[("match[id]", &many)]), Endpoint::Objects).is_err());
    }
}
