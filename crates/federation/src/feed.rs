//! TAXII feeds: collections of other servers pulled into a local collection, on a schedule,
//! from where the last pull stopped.
//!
//! A feed's position is the `X-TAXII-Date-Added-Last` of the last page stored, kept in the
//! [`StateStore`] under `feed:<name>:added_after` and written after each page is stored: a node
//! stopped in the middle of a pull fetches at most one page again, and storing is idempotent by
//! (id, version), so nothing is lost or doubled. Objects the server sends that are not valid STIX
//! are skipped and counted, one error each; the rest of the page is kept.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::Url;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shield_intel::tlp::Tlp;
use shield_store::intel::{IncomingObject, IntelWrite, Provenance};
use shield_store::{IntelStore, StateStore, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::{ClientOptions, Credentials, ObjectsRequest, TaxiiClient};
use crate::error::FederationError;
use crate::taxii::config::tlp_text;

/// Most pages one pull fetches (a server that always says "more" cannot keep it forever).
const MAX_PAGES_PER_PULL: usize = 100_000;
/// Empty pages in a row after which a pull stops even if the server says "more".
const MAX_EMPTY_PAGES: usize = 3;
/// Errors kept word for word in a [`PullReport`].
const MAX_REPORTED_ERRORS: usize = 10;
/// Shortest interval between pulls.
const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// A secret from the configuration; never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"…\"")
    }
}

/// One `[[intel.feeds]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Unique name; provenance of what it brings (`feed:<name>`) and key of its cursor.
    pub name: String,
    /// The remote API root URL (`https://hub.example/taxii2/shield/`).
    pub url: String,
    /// The remote collection's id (or alias, for Shield servers).
    pub collection: String,
    /// The local collection (id or alias) objects go to.
    #[serde(default = "default_into")]
    pub into: String,
    /// Time between pulls (`30s`, `15m`, `1h`, `1d`, or seconds).
    #[serde(default = "default_interval", with = "duration_text")]
    pub interval: Duration,
    /// TLP level of objects that carry no TLP marking.
    #[serde(default = "default_tlp", with = "tlp_text")]
    pub default_tlp: Tlp,
    /// Organisation that owns the pulled objects on this node (default: the node's).
    #[serde(default)]
    pub org: Option<String>,
    /// Bearer token.
    #[serde(default)]
    pub token: Option<Secret>,
    /// Environment variable holding the bearer token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// HTTP Basic user name (with `password` or `password_env`).
    #[serde(default)]
    pub username: Option<String>,
    /// HTTP Basic password.
    #[serde(default)]
    pub password: Option<Secret>,
    /// Environment variable holding the HTTP Basic password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// PEM file of extra trusted root certificates (a private hub's CA).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Objects per request.
    #[serde(default = "default_page_size")]
    pub page_size: usize,
    /// Only these STIX types (`match[type]`), all when empty.
    #[serde(default)]
    pub types: Vec<String>,
}

fn default_into() -> String {
    "indicators".into()
}
fn default_interval() -> Duration {
    Duration::from_secs(3600)
}
fn default_tlp() -> Tlp {
    Tlp::Amber
}
fn default_page_size() -> usize {
    500
}

impl FeedConfig {
    /// A feed of one remote collection with every other setting at its default (for
    /// `shield intel pull URL --collection ID`).
    pub fn adhoc(name: &str, url: &str, collection: &str) -> FeedConfig {
        FeedConfig {
            name: name.to_owned(),
            url: url.to_owned(),
            collection: collection.to_owned(),
            into: default_into(),
            interval: default_interval(),
            default_tlp: default_tlp(),
            org: None,
            token: None,
            token_env: None,
            username: None,
            password: None,
            password_env: None,
            ca_file: None,
            page_size: default_page_size(),
            types: Vec::new(),
        }
    }

    /// The `StateStore` key of the feed's position.
    pub fn cursor_key(&self) -> String {
        format!("feed:{}:added_after", self.name)
    }

    /// Checks the settings; `at` names the entry (`intel.feeds[2]`) in the message.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 100
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !name_ok {
            return Err(format!(
                "{at}.name: 1 to 100 letters, digits, '-', '_' or '.'"
            ));
        }
        let url = Url::parse(&self.url).map_err(|e| format!("{at}.url: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{at}.url: http or https only"));
        }
        if self.collection.is_empty() || self.collection.contains(['/', '?', '#']) {
            return Err(format!("{at}.collection: a collection id"));
        }
        if self.interval < MIN_INTERVAL {
            return Err(format!(
                "{at}.interval: at least {}s",
                MIN_INTERVAL.as_secs()
            ));
        }
        if self.page_size == 0 || self.page_size > 10_000 {
            return Err(format!("{at}.page_size: 1 to 10000"));
        }
        if self.token.is_some() && self.token_env.is_some() {
            return Err(format!("{at}: token and token_env exclude each other"));
        }
        let basic = self.username.is_some();
        let password = self.password.is_some() || self.password_env.is_some();
        if basic != password {
            return Err(format!(
                "{at}: username needs password or password_env, and the other way round"
            ));
        }
        if basic && (self.token.is_some() || self.token_env.is_some()) {
            return Err(format!(
                "{at}: choose a token or username/password, not both"
            ));
        }
        Ok(())
    }

    fn error(&self, reason: impl Into<String>) -> FederationError {
        FederationError::Config {
            feed: self.name.clone(),
            reason: reason.into(),
        }
    }

    fn env(&self, var: &str) -> Result<String, FederationError> {
        std::env::var(var).map_err(|_| self.error(format!("environment variable {var} is not set")))
    }

    /// The client settings: credentials (reading the environment variables named), extra roots.
    pub fn client_options(&self) -> Result<ClientOptions, FederationError> {
        let credentials = if let Some(user) = &self.username {
            let password = match (&self.password, &self.password_env) {
                (Some(p), _) => p.0.clone(),
                (None, Some(var)) => self.env(var)?,
                (None, None) => return Err(self.error("username without a password")),
            };
            Credentials::Basic {
                user: user.clone(),
                password,
            }
        } else if let Some(token) = &self.token {
            Credentials::Bearer(token.0.clone())
        } else if let Some(var) = &self.token_env {
            Credentials::Bearer(self.env(var)?)
        } else {
            Credentials::None
        };
        let extra_roots_pem = match &self.ca_file {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| self.error(format!("ca_file {}: {e}", path.display())))?,
            ),
            None => None,
        };
        Ok(ClientOptions {
            credentials,
            extra_roots_pem,
            ..ClientOptions::default()
        })
    }

    /// A client for this feed.
    pub fn client(&self) -> Result<TaxiiClient, FederationError> {
        TaxiiClient::new(self.client_options()?)
    }
}

/// Where pulled objects go.
#[derive(Clone)]
pub struct FeedContext {
    /// The intel store.
    pub store: Arc<dyn IntelStore>,
    /// Where feed positions are kept.
    pub state: Arc<dyn StateStore>,
    /// The node's organisation: owner of pulled objects unless the feed names another.
    pub node_org: String,
}

/// What one pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PullReport {
    /// The feed.
    pub feed: String,
    /// Pages fetched.
    pub pages: usize,
    /// Objects received (valid or not).
    pub received: usize,
    /// New versions stored.
    pub added: usize,
    /// Versions already stored.
    pub duplicates: usize,
    /// Objects refused as invalid STIX.
    pub invalid: usize,
    /// The first few refusals, word for word.
    pub errors: Vec<String>,
    /// The position after the pull (`added_after` of the next one).
    pub cursor: Option<String>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, FederationError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| {
            FederationError::Store(StoreError::InvalidInput {
                field: "feed task",
                reason: e.to_string(),
            })
        })?
        .map_err(FederationError::from)
}

/// Pulls what the feed's collection added since the last pull into the local collection.
pub async fn pull(
    client: &TaxiiClient,
    feed: &FeedConfig,
    ctx: &FeedContext,
) -> Result<PullReport, FederationError> {
    let api_root = Url::parse(&feed.url).map_err(|e| feed.error(format!("url: {e}")))?;
    let store = ctx.store.clone();
    let into = feed.into.clone();
    let local = blocking(move || store.collection(&into))
        .await?
        .ok_or_else(|| feed.error(format!("no local collection '{}'", feed.into)))?;
    let provenance = Provenance {
        source: format!("feed:{}", feed.name),
        org: feed.org.clone().unwrap_or_else(|| ctx.node_org.clone()),
        default_tlp: feed.default_tlp,
        shared_with: Vec::new(),
    };
    let source = PullSource {
        name: &feed.name,
        api_root: &api_root,
        collection: &feed.collection,
        cursor_key: &feed.cursor_key(),
        page_size: feed.page_size,
        types: &feed.types,
        all_versions: false,
    };
    let store = ctx.store.clone();
    let sink: PageSink = Arc::new(move |objects| {
        let write = IntelWrite {
            collection: local.id.clone(),
            objects,
            provenance: provenance.clone(),
            received: Utc::now(),
            status_id: None,
        };
        let stored = store.put_objects(&write)?;
        Ok((stored.added(), stored.duplicates()))
    });
    pull_pages(client, &source, ctx.state.clone(), sink).await
}

/// Stores one page of pulled objects (on a blocking thread): how many versions were new and how
/// many already stored.
pub type PageSink =
    Arc<dyn Fn(Vec<IncomingObject>) -> Result<(usize, usize), FederationError> + Send + Sync>;

/// A remote collection read from a persisted position: what [`pull_pages`] needs to know.
#[derive(Debug, Clone, Copy)]
pub struct PullSource<'a> {
    /// The name reports and logs use (the feed's, the peer's).
    pub name: &'a str,
    /// The remote API root.
    pub api_root: &'a Url,
    /// The remote collection (id, or alias on Shield servers).
    pub collection: &'a str,
    /// The [`StateStore`] key of the position (`X-TAXII-Date-Added-Last` of the last page).
    pub cursor_key: &'a str,
    /// Objects per request.
    pub page_size: usize,
    /// Only these STIX types (all when empty).
    pub types: &'a [String],
    /// `match[version]=all` (every version added; otherwise the server's default, the latest).
    pub all_versions: bool,
}

/// Pulls the pages `source` added after its persisted position, hands the valid objects of each
/// page to `store_page` (on a blocking thread), and
/// moves the position after each page was stored: what feeds and the federation's pulls from
/// peers share. A page the server filtered down to nothing (a peer's sharing policy holding its
/// versions back) still moves the position; a pull stops after a few pages in a row that move
/// nothing.
pub async fn pull_pages(
    client: &TaxiiClient,
    source: &PullSource<'_>,
    state: Arc<dyn StateStore>,
    store_page: PageSink,
) -> Result<PullReport, FederationError> {
    let key = source.cursor_key.to_owned();
    let read_state = state.clone();
    let read_key = key.clone();
    let cursor = blocking(move || read_state.get_state(&read_key)).await?;
    let mut report = PullReport {
        feed: source.name.to_owned(),
        cursor: cursor.clone(),
        ..PullReport::default()
    };
    let mut request = ObjectsRequest {
        added_after: cursor,
        limit: Some(source.page_size),
        types: source.types.to_vec(),
        versions: if source.all_versions {
            vec!["all".to_owned()]
        } else {
            Vec::new()
        },
        ..ObjectsRequest::default()
    };
    let mut idle_pages = 0;
    while report.pages < MAX_PAGES_PER_PULL {
        let page = client
            .get_objects(source.api_root, source.collection, &request)
            .await?;
        report.pages += 1;
        report.received += page.objects.len() + page.invalid.len();
        report.invalid += page.invalid.len();
        for e in &page.invalid {
            tracing::warn!(source = %source.name, "invalid object skipped: {e}");
            if report.errors.len() < MAX_REPORTED_ERRORS {
                report.errors.push(e.to_string());
            }
        }
        let moved = page
            .date_added_last
            .as_ref()
            .is_some_and(|last| report.cursor.as_ref() != Some(last));
        idle_pages = if page.objects.is_empty() && page.invalid.is_empty() && !moved {
            idle_pages + 1
        } else {
            0
        };
        if !page.objects.is_empty() {
            let sink = Arc::clone(&store_page);
            let objects = page.objects;
            let (added, duplicates) = tokio::task::spawn_blocking(move || sink(objects))
                .await
                .map_err(|e| {
                FederationError::Store(StoreError::InvalidInput {
                    field: "feed task",
                    reason: e.to_string(),
                })
            })??;
            report.added += added;
            report.duplicates += duplicates;
        }
        if let Some(last) = &page.date_added_last {
            let (state, key, value) = (state.clone(), key.clone(), last.clone());
            blocking(move || state.set_state(&key, &value)).await?;
            report.cursor = Some(last.clone());
        }
        if !page.more || idle_pages >= MAX_EMPTY_PAGES {
            break;
        }
        match (page.next, page.date_added_last) {
            (Some(next), _) => request.next = Some(next),
            // No cursor from the server: continue after the last object it sent.
            (None, Some(last)) => {
                request.next = None;
                request.added_after = Some(last);
            }
            (None, None) => break,
        }
    }
    Ok(report)
}

/// Starts one task per feed that pulls it now and then every `interval`, until `shutdown`
/// turns true. Feeds whose settings cannot be used fail here, before any task starts.
pub fn spawn_feeds(
    feeds: Vec<FeedConfig>,
    ctx: FeedContext,
    shutdown: watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, FederationError> {
    let clients = feeds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            f.validate(&format!("intel.feeds[{i}]"))
                .map_err(|reason| f.error(reason))?;
            f.client()
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(feeds
        .into_iter()
        .zip(clients)
        .map(|(feed, client)| {
            let ctx = ctx.clone();
            let mut shutdown = shutdown.clone();
            tokio::spawn(async move {
                loop {
                    match pull(&client, &feed, &ctx).await {
                        Ok(r) => tracing::info!(
                            feed = %feed.name, pages = r.pages, added = r.added,
                            duplicates = r.duplicates, invalid = r.invalid, "feed pulled"
                        ),
                        Err(e) => tracing::warn!(feed = %feed.name, "feed pull failed: {e}"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(feed.interval) => {}
                        _ = shutdown.wait_for(|stop| *stop) => return,
                    }
                }
            })
        })
        .collect())
}

/// Durations as text: `30s`, `15m`, `1h`, `1d`, or a number of seconds.
pub mod duration_text {
    use super::*;

    /// Parses `30s`, `15m`, `1h`, `2d` or `90`.
    pub fn parse(text: &str) -> Result<Duration, String> {
        let text = text.trim();
        let (number, unit) = text.split_at(
            text.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len()),
        );
        let n: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration like 30s, 15m, 1h or 1d"))?;
        let factor = match unit.trim() {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            _ => return Err(format!("{text:?}: unit must be s, m, h or d")),
        };
        n.checked_mul(factor)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{text:?} is too long"))
    }

    /// Serialises as seconds with `s`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", d.as_secs()))
    }

    /// Reads text or a number of seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Seconds(u64),
            Text(String),
        }
        match Form::deserialize(d)? {
            Form::Seconds(n) => Ok(Duration::from_secs(n)),
            Form::Text(t) => parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Intel {
        feeds: Vec<FeedConfig>,
    }

    #[test]
    fn parses_feed_configs() {
        let intel: Intel = toml::from_str(
            r#"
            [[feeds]]
            name = "hub-eu"
            url = "https://hub.example/taxii2/shield/"
            collection = "indicators"
            interval = "15m"
            default_tlp = "green"
            username = "node-ee"
            password_env = "HUB_PASSWORD"

            [[feeds]]
            name = "osint"
            url = "https://osint.example/taxii2/root/"
            collection = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
            into = "shared"
            interval = 600
            token = "abc"
            types = ["indicator"]
            "#,
        )
        .unwrap();
        let [hub, osint] = &intel.feeds[..] else {
            panic!("two feeds")
        };
        assert_eq!(hub.interval, Duration::from_secs(900));
        assert_eq!(hub.default_tlp, Tlp::Green);
        assert_eq!(hub.into, "indicators");
        hub.validate("intel.feeds[0]").unwrap();
        assert!(!format!("{osint:?}").contains("abc"));
        assert_eq!(osint.interval, Duration::from_secs(600));
        osint.validate("intel.feeds[1]").unwrap();
        assert_eq!(osint.cursor_key(), "feed:osint:added_after");
        assert!(matches!(
            osint.client_options().unwrap().credentials,
            Credentials::Bearer(t) if t == "abc"
        ));
        // SAFETY of the test: the variable name is unique to this test.
        assert!(hub.client_options().is_err(), "HUB_PASSWORD is not set");
    }

    #[test]
    fn refuses_bad_feeds() {
        let ok = FeedConfig::adhoc("f", "https://hub.example/taxii2/r/", "c");
        ok.validate("f").unwrap();
        let cases: Vec<(FeedConfig, &str)> = vec![
            (
                FeedConfig {
                    name: "a b".into(),
                    ..ok.clone()
                },
                "name",
            ),
            (
                FeedConfig {
                    url: "ftp://x/".into(),
                    ..ok.clone()
                },
                "url",
            ),
            (
                FeedConfig {
                    collection: "a/b".into(),
                    ..ok.clone()
                },
                "collection",
            ),
            (
                FeedConfig {
                    interval: Duration::from_secs(1),
                    ..ok.clone()
                },
                "interval",
            ),
            (
                FeedConfig {
                    page_size: 0,
                    ..ok.clone()
                },
                "page_size",
            ),
            (
                FeedConfig {
                    username: Some("u".into()),
                    ..ok.clone()
                },
                "username",
            ),
        ];
        for (feed, key) in cases {
            let e = feed.validate("intel.feeds[0]").unwrap_err();
            assert!(e.contains(key), "{e}");
        }
        assert!(duration_text::parse("5x").is_err());
        assert_eq!(
            duration_text::parse("2d").unwrap(),
            Duration::from_secs(172_800)
        );
    }
}
