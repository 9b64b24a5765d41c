//! The error of the TAXII client and of feed pulls.

use shield_store::StoreError;

/// What can go wrong talking to another TAXII server or storing what it sent.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    /// The request could not be made or its answer not read (connection, TLS, timeout).
    #[error("{url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status (its TAXII error title and description, when it
    /// sent an error resource).
    #[error("{url}: HTTP {status}{}{}", title.as_deref().map(|t| format!(": {t}")).unwrap_or_default(), description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Server {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The error resource's `title`.
        title: Option<String>,
        /// The error resource's `description`.
        description: Option<String>,
    },
    /// The answer is larger than the client reads.
    #[error("{url}: the answer exceeds {limit} bytes")]
    ResponseTooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// The answer is not the TAXII resource expected.
    #[error("{url}: unexpected answer: {reason}")]
    InvalidResponse {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A URL that cannot be used (or built from a server's answer).
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// TLS set-up failed (bad extra root certificates).
    #[error("TLS: {0}")]
    Tls(String),
    /// A feed configuration that cannot be used.
    #[error("feed {feed}: {reason}")]
    Config {
        /// The feed's name.
        feed: String,
        /// What is wrong.
        reason: String,
    },
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
