//! Media types: what a client accepts (`Accept`, 406 otherwise) and what it sends
//! (`Content-Type`, 415 otherwise).

use axum::http::{HeaderMap, header};

use super::error::TaxiiError;

/// The media type of every TAXII 2.1 resource.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";

/// The media type of STIX 2.1 content.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";

/// One media range of an `Accept` header or a `Content-Type`: type/subtype, `version` parameter
/// and quality.
#[derive(Debug, PartialEq)]
struct MediaRange<'a> {
    essence: String,
    version: Option<&'a str>,
    quality_zero: bool,
}

fn parse_range(text: &str) -> MediaRange<'_> {
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let mut version = None;
    let mut quality_zero = false;
    for param in parts {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match name.trim().to_ascii_lowercase().as_str() {
            "version" => version = Some(value),
            "q" => quality_zero = value.parse::<f32>().is_ok_and(|q| q <= 0.0),
            _ => {}
        }
    }
    MediaRange {
        essence,
        version,
        quality_zero,
    }
}

/// Whether a range names TAXII 2.1 (or any version of it, or a wildcard covering it).
fn covers_taxii(range: &MediaRange<'_>) -> bool {
    match range.essence.as_str() {
        "*/*" | "application/*" => true,
        "application/taxii+json" => range.version.is_none_or(|v| v == "2.1"),
        _ => false,
    }
}

/// Passes when the request's `Accept` admits `application/taxii+json;version=2.1`: absent,
/// a wildcard, or that type without a version or with version 2.1. Otherwise a 406 naming what
/// the endpoint answers with.
pub fn require_taxii_accept(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let Some(accept) = headers.get(header::ACCEPT) else {
        return Ok(());
    };
    let text = accept
        .to_str()
        .map_err(|_| TaxiiError::not_acceptable("the Accept header is not ASCII"))?;
    if text.trim().is_empty()
        || text
            .split(',')
            .map(parse_range)
            .any(|r| !r.quality_zero && covers_taxii(&r))
    {
        return Ok(());
    }
    Err(TaxiiError::not_acceptable(format!(
        "this endpoint answers with {TAXII_MEDIA_TYPE}, which the Accept header '{}' excludes",
        text.chars().take(200).collect::<String>()
    )))
}

/// Passes when a POST body is TAXII 2.1 or STIX 2.1 JSON (without a version, or version 2.1);
/// otherwise a 415 naming the media types taken.
pub fn require_content_type(headers: &HeaderMap) -> Result<(), TaxiiError> {
    let unsupported = |what: &str| {
        TaxiiError::unsupported_media_type(format!(
            "the body is {what}; send {TAXII_MEDIA_TYPE} (an envelope) or {STIX_MEDIA_TYPE} (a bundle)"
        ))
    };
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("without a Content-Type"));
    };
    let text = value
        .to_str()
        .map_err(|_| unsupported("of a non-ASCII Content-Type"))?;
    let range = parse_range(text);
    let ok = matches!(
        range.essence.as_str(),
        "application/taxii+json" | "application/stix+json"
    ) && range.version.is_none_or(|v| v == "2.1");
    if ok {
        Ok(())
    } else {
        Err(unsupported(&format!(
            "'{}'",
            text.chars().take(200).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn accept_negotiation() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/taxii+json; version=\"2.1\"",
            "application/taxii+json",
            "application/json, */*;q=0.1",
            "text/html, application/*",
            "",
        ] {
            assert!(
                require_taxii_accept(&with(header::ACCEPT, ok)).is_ok(),
                "{ok}"
            );
        }
        assert!(require_taxii_accept(&HeaderMap::new()).is_ok());
        for bad in [
            "application/taxii+json;version=2.0",
            "application/vnd.oasis.taxii+json",
            "text/html",
            "application/json",
            "application/stix+json;version=2.1",
            "*/*;q=0",
        ] {
            let e = require_taxii_accept(&with(header::ACCEPT, bad)).unwrap_err();
            assert_eq!(e.status().as_u16(), 406, "{bad}");
        }
    }

    #[test]
    fn content_types() {
        for ok in [
            "application/taxii+json;version=2.1",
            "application/stix+json;version=2.1",
            "Application/TAXII+json",
        ] {
            assert!(
                require_content_type(&with(header::CONTENT_TYPE, ok)).is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "application/json",
            "text/plain",
            "application/taxii+json;version=2.0",
        ] {
            let e = require_content_type(&with(header::CONTENT_TYPE, bad)).unwrap_err();
            assert_eq!(e.status().as_u16(), 415, "{bad}");
        }
        assert!(require_content_type(&HeaderMap::new()).is_err());
    }
}
