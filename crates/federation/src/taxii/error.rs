//! TAXII error resources: every failure of the TAXII API is answered with one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use shield_intel::stix::StixError;
use shield_store::StoreError;

use super::media::TAXII_MEDIA_TYPE;

/// A TAXII 2.1 error: the error resource (boxed, so results stay small) with its HTTP status.
/// Dereferences to the [`ErrorResource`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaxiiError(Box<ErrorResource>);

impl std::ops::Deref for TaxiiError {
    type Target = ErrorResource;

    fn deref(&self) -> &ErrorResource {
        &self.0
    }
}

/// A TAXII 2.1 error resource.
///
/// `title` says what failed in a few words, `description` why, naming the input (the parameter,
/// the header, the object's index, id and property path); `details` carries the same facts as
/// data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorResource {
    /// Short human title (required by TAXII).
    pub title: String,
    /// What exactly is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A unique id of this occurrence, also logged, to find it in the node's log.
    pub error_id: String,
    /// A stable machine-readable code (`invalid-stix`, `unsupported-media-type`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The HTTP status, as a string (TAXII's type for it).
    pub http_status: String,
    /// Where to read more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_details: Option<String>,
    /// Facts about the error as data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(skip)]
    status: StatusCode,
}

impl TaxiiError {
    /// An error with `status`, a code, a title and a description.
    pub fn new(
        status: StatusCode,
        code: &str,
        title: impl Into<String>,
        description: impl Into<String>,
    ) -> TaxiiError {
        TaxiiError(Box::new(ErrorResource {
            title: title.into(),
            description: Some(description.into()),
            error_id: uuid::Uuid::new_v4().to_string(),
            error_code: Some(code.to_owned()),
            http_status: status.as_u16().to_string(),
            external_details: None,
            details: None,
            status,
        }))
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: Value) -> TaxiiError {
        self.0.details = Some(details);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 400: a malformed request (parameter, body).
    pub fn bad_request(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            description,
        )
    }

    /// 401: no or unknown credentials.
    pub fn unauthorized(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Authentication required",
            description,
        )
    }

    /// 403: known caller, not allowed.
    pub fn forbidden(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed",
            description,
        )
    }

    /// 404: unknown API root, collection, object or status (or one the caller may not see).
    pub fn not_found(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(StatusCode::NOT_FOUND, "not-found", "Not found", description)
    }

    /// 406: the client accepts no media type this endpoint answers with.
    pub fn not_acceptable(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not-acceptable",
            "Not acceptable",
            description,
        )
    }

    /// 413: the body exceeds `max_content_length`, or holds too many objects.
    pub fn too_large(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request too large",
            description,
        )
    }

    /// 415: a body of a media type this endpoint does not take.
    pub fn unsupported_media_type(description: impl Into<String>) -> TaxiiError {
        TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            description,
        )
    }

    /// 422: an object that is not valid STIX 2.1; nothing of the request was stored.
    pub fn invalid_stix(e: &StixError) -> TaxiiError {
        TaxiiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-stix",
            "Invalid STIX object",
            format!("{e}; nothing from this request was stored"),
        )
        .with_details(serde_json::json!({
            "index": e.index,
            "id": e.object_id,
            "property": e.path,
            "reason": e.reason.to_string(),
        }))
    }

    /// 500: the node failed; the cause is logged under the error id, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> TaxiiError {
        let e = TaxiiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the node failed to answer; its log has the cause under this error_id",
        );
        tracing::error!(error_id = %e.error_id, "TAXII request failed: {cause}");
        e
    }
}

impl From<StoreError> for TaxiiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidCursor(reason) => TaxiiError::bad_request(format!(
                "parameter 'next' is not a cursor this server issued ({reason})"
            )),
            e if e.is_invalid_request() => TaxiiError::bad_request(e.to_string()),
            e => TaxiiError::internal(e),
        }
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(TAXII_MEDIA_TYPE),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"taxii\", Bearer realm=\"taxii\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_a_taxii_error_resource() {
        let e = TaxiiError::not_found("no collection 'x'");
        let v = serde_json::to_value(&*e).unwrap();
        assert_eq!(v["title"], "Not found");
        assert_eq!(v["http_status"], "404");
        assert_eq!(v["description"], "no collection 'x'");
        assert!(v["error_id"].as_str().unwrap().len() == 36);
        assert!(v.get("details").is_none());
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/taxii+json;version=2.1"
        );
    }

    #[test]
    fn bad_cursors_are_the_clients_fault() {
        let e: TaxiiError = StoreError::InvalidCursor("not base64url".into()).into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}
