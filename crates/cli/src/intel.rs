//! `shield intel import|search|export|pull`: threat intelligence in a node's data directory (the node
//! may be running: it picks up changes within a second).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use shield_event::{Alert, Detector, Event, Level};
use shield_federation::feed::{FeedConfig, FeedContext, Secret};
use shield_intel::convert::indicator_for_ioc;
use shield_intel::lists::{ListFormat, import as import_list};
use shield_intel::matcher::IntelDetector;
use shield_intel::stix::{Bundle, Limits, StixObject, Timestamp, parse_bundle_partial};
use shield_intel::tlp::Tlp;
use shield_server::intel::{
    INDICATORS, IndicatorLoad, IndicatorSetBuilder, ensure_default_collections,
};
use shield_store::intel::{IncomingObject, IntelWrite, ObjectQuery, Provenance, Reader};
use shield_store::{IntelStore, Role, SqliteStore};

/// Intel commands.
#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Import STIX bundles, MISP events or feed folders, CSV or one-IOC-per-line lists.
    Import {
        /// Files or folders (a folder with manifest.json is a MISP feed; other folders are searched
        /// for .json, .csv and .txt files).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// TLP of objects that carry no marking.
        #[arg(long, default_value = "amber")]
        tlp: String,
        /// Collection to import into.
        #[arg(long, default_value = INDICATORS)]
        collection: String,
        #[command(flatten)]
        node: NodeData,
    },
    /// Find indicators that look for a value (address, domain, URL, hash, e-mail).
    Search {
        /// The value.
        value: String,
        #[command(flatten)]
        node: NodeData,
    },
    /// Pull a collection of a TAXII 2.1 server into the local store, once (feeds in the node's
    /// configuration pull on a schedule). The position is kept, so the next pull of the same
    /// collection continues where this one stopped.
    Pull {
        /// The remote API root URL (`https://hub.example/taxii2/shield/`).
        url: String,
        /// The remote collection's id (or alias, on Shield servers).
        #[arg(long)]
        collection: String,
        /// Bearer token.
        #[arg(long, conflicts_with = "user")]
        token: Option<String>,
        /// HTTP Basic user name (with --password; Shield servers take the token as password).
        #[arg(long, requires = "password")]
        user: Option<String>,
        /// HTTP Basic password.
        #[arg(long, requires = "user")]
        password: Option<String>,
        /// Local collection to store into.
        #[arg(long, default_value = INDICATORS)]
        into: String,
        /// TLP of objects that carry no marking.
        #[arg(long, default_value = "amber")]
        tlp: String,
        /// Name under which the position is kept [default: derived from URL and collection].
        #[arg(long)]
        name: Option<String>,
        /// PEM file of extra trusted root certificates (a private hub's CA).
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// Organisation that owns the pulled objects [default: the node's, `local`].
        #[arg(long, env = "SHIELD_ORGANISATION", default_value = "local")]
        org: String,
        /// Data directory of the node.
        #[arg(long, env = "SHIELD_DATA", default_value = "./shield-data")]
        data: PathBuf,
    },
    /// Export a collection as a STIX bundle, a MISP event or a CSV list, to standard output.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Stix)]
        format: ExportFormat,
        /// Collection to export.
        #[arg(long, default_value = INDICATORS)]
        collection: String,
        #[command(flatten)]
        node: NodeData,
    },
}

/// The node's data directory and the organisation acting: the owner of imported objects, the
/// reader of searches and exports (the TLP rule applies to it).
#[derive(Debug, Args)]
pub struct NodeData {
    /// Organisation acting [default: the node's, `local`].
    #[arg(long, env = "SHIELD_ORGANISATION", default_value = "local")]
    org: String,
    /// Data directory of the node.
    #[arg(long, env = "SHIELD_DATA", default_value = "./shield-data")]
    data: PathBuf,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// A STIX 2.1 bundle.
    Stix,
    /// A MISP event (JSON).
    Misp,
    /// `type,value` lines of the indicators' values.
    Csv,
}

/// Runs an intel command.
pub fn run(cmd: IntelCommand) -> anyhow::Result<()> {
    match cmd {
        IntelCommand::Import {
            paths,
            tlp,
            collection,
            node: NodeData { org, data },
        } => {
            let tlp: Tlp = tlp.parse().map_err(|_| {
                anyhow::anyhow!("--tlp: '{tlp}' is not clear, green, amber, amber+strict or red")
            })?;
            let store = open(&data)?;
            let mut total = (0usize, 0usize, 0usize);
            for path in paths {
                for file in import_files(&path)? {
                    let (added, duplicates, problems) =
                        import_file(&store, &collection, &file, &org, tlp)?;
                    for p in &problems {
                        eprintln!("warning: {p}");
                    }
                    println!(
                        "{}: {added} added, {duplicates} already stored, {} problems",
                        file.display(),
                        problems.len()
                    );
                    total.0 += added;
                    total.1 += duplicates;
                    total.2 += problems.len();
                }
            }
            println!(
                "imported {} objects ({} already stored, {} problems)",
                total.0, total.1, total.2
            );
        }
        IntelCommand::Search {
            value,
            node: NodeData { org, data },
        } => {
            let store = open(&data)?;
            let found = store.lookup_observable(&Reader::new(org, Role::Admin, "cli"), &value)?;
            if found.is_empty() {
                println!("no indicator looks for {value}");
            }
            for o in found {
                let name = o
                    .json
                    .as_deref()
                    .and_then(|j| serde_json::from_str::<Value>(j).ok())
                    .and_then(|v| v["name"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                println!(
                    "{}\t{}\t{}\t{}{}{}",
                    o.id,
                    o.tlp,
                    o.source,
                    name,
                    if o.revoked { "\trevoked" } else { "" },
                    if o.valid_until.is_some_and(|t| t < Utc::now()) {
                        "\texpired"
                    } else {
                        ""
                    }
                );
            }
        }
        IntelCommand::Export {
            format,
            collection,
            node: NodeData { org, data },
        } => {
            let store = open(&data)?;
            let objects = all_objects(&store, &collection, &Reader::new(org, Role::Admin, "cli"))?;
            match format {
                ExportFormat::Stix => {
                    let bundle = Bundle::new(objects);
                    println!("{}", bundle.to_json());
                }
                ExportFormat::Misp => {
                    let values: Vec<Value> = objects.iter().map(StixObject::to_value).collect();
                    let export = shield_intel::misp::export_event(
                        &values,
                        &shield_intel::misp::ExportOptions::default(),
                    );
                    for issue in &export.issues {
                        eprintln!("warning: {issue}");
                    }
                    println!("{}", serde_json::to_string_pretty(&export.event)?);
                }
                ExportFormat::Csv => {
                    let mut iocs = Vec::new();
                    for o in &objects {
                        if let Some(p) = o
                            .as_indicator()
                            .and_then(|i| i.stix_pattern())
                            .and_then(Result::ok)
                        {
                            if let Some(found) = shield_intel::matcher::pattern_iocs(&p) {
                                iocs.extend(found.iocs);
                            }
                        }
                    }
                    print!("{}", shield_intel::lists::export_csv(iocs.iter()));
                }
            }
        }
        IntelCommand::Pull {
            url,
            collection,
            token,
            user,
            password,
            into,
            tlp,
            name,
            ca_file,
            org,
            data,
        } => pull(PullOptions {
            url,
            collection,
            token,
            user,
            password,
            into,
            tlp: parse_tlp(&tlp)?,
            name,
            ca_file,
            org,
            data,
        })?,
    }
    Ok(())
}

fn parse_tlp(tlp: &str) -> anyhow::Result<Tlp> {
    tlp.parse().map_err(|_| {
        anyhow::anyhow!("--tlp: '{tlp}' is not clear, green, amber, amber+strict or red")
    })
}

/// Options of `shield intel pull`.
struct PullOptions {
    url: String,
    collection: String,
    token: Option<String>,
    user: Option<String>,
    password: Option<String>,
    into: String,
    tlp: Tlp,
    name: Option<String>,
    ca_file: Option<PathBuf>,
    org: String,
    data: PathBuf,
}

/// A feed name for a pull without `--name`: the URL (without scheme) and the collection, with
/// every other character as `-`.
fn pull_name(url: &str, collection: &str) -> String {
    let url = url.split_once("://").map_or(url, |(_, rest)| rest);
    let raw = format!("pull-{}-{collection}", url.trim_end_matches('/'));
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(100)
        .collect()
}

fn pull(o: PullOptions) -> anyhow::Result<()> {
    let name = o.name.unwrap_or_else(|| pull_name(&o.url, &o.collection));
    let mut feed = FeedConfig::adhoc(&name, &o.url, &o.collection);
    feed.into = o.into;
    feed.default_tlp = o.tlp;
    feed.org = Some(o.org.clone());
    feed.token = o.token.map(Secret);
    feed.username = o.user;
    feed.password = o.password.map(Secret);
    feed.ca_file = o.ca_file;
    feed.validate("pull")
        .map_err(|e| anyhow::anyhow!("{}", e.trim_start_matches("pull.")))?;
    let store = Arc::new(open(&o.data)?);
    let ctx = FeedContext {
        store: store.clone(),
        state: store,
        node_org: o.org,
    };
    crate::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        let client = feed.client()?;
        shield_federation::feed::pull(&client, &feed, &ctx).await
    });
    let report =
        report.with_context(|| format!("pull of {} from {}", feed.collection, feed.url))?;
    for e in &report.errors {
        eprintln!("warning: {e}");
    }
    println!(
        "pulled {} objects in {} pages: {} added, {} already stored, {} invalid (position kept as feed '{}')",
        report.received, report.pages, report.added, report.duplicates, report.invalid, feed.name
    );
    Ok(())
}

fn open(data: &Path) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    let store = SqliteStore::open(data)
        .with_context(|| format!("cannot open the store in {}", data.display()))?;
    ensure_default_collections(&store)?;
    Ok(store)
}

/// The files an import path stands for: itself, a MISP feed folder (as one entry), or the importable
/// files of a folder.
pub(crate) fn import_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() || path.join("manifest.json").is_file() {
        return Ok(vec![path.to_owned()]);
    }
    if !path.is_dir() {
        bail!("{} does not exist", path.display());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| ["json", "csv", "txt"].contains(&e.to_string_lossy().as_ref()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Imports one source; returns (added, already stored, problems). Lists are converted and stored
/// batch by batch, so a list of millions of indicators never has all its STIX objects in memory.
fn import_file(
    store: &SqliteStore,
    collection: &str,
    file: &Path,
    org: &str,
    tlp: Tlp,
) -> anyhow::Result<(usize, usize, Vec<String>)> {
    let list_text = if file.is_dir() {
        None
    } else {
        std::fs::read_to_string(file)
            .ok()
            .filter(|t| !t.trim_start().starts_with('{'))
    };
    let Some(text) = list_text else {
        let (objects, problems, derived) = objects_of(file, tlp);
        let (added, duplicates) =
            store_objects(store, collection, objects, file, org, tlp, derived)?;
        return Ok((added, duplicates, problems));
    };
    let name = file.display().to_string();
    let list = import_list(&text, ListFormat::Auto, &name);
    drop(text);
    let mut problems: Vec<String> = list.errors.iter().map(ToString::to_string).collect();
    let now = Timestamp::now();
    let (mut added, mut duplicates) = (0, 0);
    for chunk in list.entries.chunks(STORE_BATCH) {
        let mut objects = Vec::with_capacity(chunk.len());
        for entry in chunk {
            match indicator_for_ioc(&entry.ioc, now, entry.comment.as_deref(), &[], Some(tlp)) {
                Ok(o) => objects.push(o),
                Err(e) => problems.push(format!("{name}:{}: {e}", entry.line)),
            }
        }
        let (a, d) = store_objects(store, collection, objects, file, org, tlp, true)?;
        added += a;
        duplicates += d;
    }
    Ok((added, duplicates, problems))
}

/// Objects stored per transaction.
const STORE_BATCH: usize = 100_000;

/// Reads one import source into STIX objects, with a message per problem (naming file and place),
/// and whether the objects were derived here from plain IOCs (ids from the IOC, fresh timestamps):
/// such an indicator already stored is not stored again as a new version.
fn objects_of(path: &Path, tlp: Tlp) -> (Vec<StixObject>, Vec<String>, bool) {
    let (objects, problems) = source_objects(path, tlp);
    let derived = !path.is_dir()
        && !std::fs::read_to_string(path).is_ok_and(|t| t.trim_start().starts_with('{'));
    (objects, problems, derived)
}

pub(crate) fn source_objects(path: &Path, tlp: Tlp) -> (Vec<StixObject>, Vec<String>) {
    let name = path.display().to_string();
    if path.is_dir() {
        let manifest = match std::fs::read_to_string(path.join("manifest.json")) {
            Ok(m) => m,
            Err(e) => return (Vec::new(), vec![format!("{name}/manifest.json: {e}")]),
        };
        let feed = shield_intel::misp::import_feed(&manifest, |file| {
            std::fs::read_to_string(path.join(file)).map_err(|e| e.to_string())
        });
        return match feed {
            Ok(feed) => {
                let mut problems: Vec<String> =
                    feed.issues.iter().map(ToString::to_string).collect();
                let mut objects = Vec::new();
                for event in feed.events {
                    problems.extend(event.issues.iter().map(ToString::to_string));
                    objects.extend(stix_values(event.objects, &name, &mut problems));
                }
                (objects, problems)
            }
            Err(e) => (Vec::new(), vec![e.to_string()]),
        };
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return (Vec::new(), vec![format!("{name}: {e}")]),
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let value: Value = match serde_json::from_str(trimmed) {
            Ok(v) => v,
            Err(e) => {
                return (
                    Vec::new(),
                    vec![format!("{name}:{}:{}: {e}", e.line(), e.column())],
                );
            }
        };
        if value["type"] == "bundle" {
            return match parse_bundle_partial(text.as_bytes(), &Limits::default()) {
                Ok((bundle, errors)) => (
                    bundle.into_objects(),
                    errors.iter().map(|e| format!("{name}: {e}")).collect(),
                ),
                Err(e) => (Vec::new(), vec![format!("{name}: {e}")]),
            };
        }
        return match shield_intel::misp::import_event_value(&value, &name) {
            Ok(event) => {
                let mut problems: Vec<String> =
                    event.issues.iter().map(ToString::to_string).collect();
                let objects = stix_values(event.objects, &name, &mut problems);
                (objects, problems)
            }
            Err(e) => (Vec::new(), vec![e.to_string()]),
        };
    }
    let list = import_list(&text, ListFormat::Auto, &name);
    let mut problems: Vec<String> = list.errors.iter().map(ToString::to_string).collect();
    let now = Timestamp::now();
    let mut objects = Vec::with_capacity(list.entries.len());
    for entry in list.entries {
        match indicator_for_ioc(&entry.ioc, now, entry.comment.as_deref(), &[], Some(tlp)) {
            Ok(o) => objects.push(o),
            Err(e) => problems.push(format!("{name}:{}: {e}", entry.line)),
        }
    }
    (objects, problems)
}

fn stix_values(values: Vec<Value>, name: &str, problems: &mut Vec<String>) -> Vec<StixObject> {
    values
        .into_iter()
        .filter_map(|v| match StixObject::from_value(v) {
            Ok(o) => Some(o),
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                None
            }
        })
        .collect()
}

/// Stores objects in batches; returns (added, duplicates). With `skip_known`, objects whose id is
/// already in the collection (in a version the importing organisation may see) count as duplicates.
fn store_objects(
    store: &SqliteStore,
    collection: &str,
    objects: Vec<StixObject>,
    file: &Path,
    org: &str,
    tlp: Tlp,
    skip_known: bool,
) -> anyhow::Result<(usize, usize)> {
    let id = store
        .collection(collection)?
        .map(|c| c.id)
        .with_context(|| format!("no collection '{collection}'"))?;
    let (mut added, mut duplicates) = (0, 0);
    let mut objects = objects.into_iter().peekable();
    while objects.peek().is_some() {
        let mut batch: Vec<StixObject> = objects.by_ref().take(STORE_BATCH).collect();
        if skip_known {
            let known = known_ids(store, &id, org, &batch)?;
            let before = batch.len();
            batch.retain(|o| !known.contains(o.id()));
            duplicates += before - batch.len();
            if batch.is_empty() {
                continue;
            }
        }
        let batch: Vec<IncomingObject> = batch.into_iter().map(IncomingObject::new).collect();
        let report = store.put_objects(&IntelWrite {
            collection: id.clone(),
            objects: batch,
            provenance: Provenance {
                source: format!("import:{}", file.display()),
                org: org.to_owned(),
                default_tlp: tlp,
                shared_with: Vec::new(),
            },
            received: Utc::now(),
            status_id: None,
        })?;
        added += report.added();
        duplicates += report.duplicates();
    }
    Ok((added, duplicates))
}

/// The ids among `objects` that `collection` already holds in a version `org` may see.
fn known_ids(
    store: &SqliteStore,
    collection: &str,
    org: &str,
    objects: &[StixObject],
) -> anyhow::Result<std::collections::HashSet<String>> {
    let reader = Reader::new(org, Role::Admin, "cli");
    let mut known = std::collections::HashSet::new();
    for chunk in objects.chunks(200) {
        let mut q = ObjectQuery::new(collection.to_owned());
        q.ids = chunk.iter().map(|o| o.id().to_owned()).collect();
        q.limit = shield_store::intel::MAX_INTEL_PAGE;
        q.with_json = false;
        let page = store.query_objects(&reader, &q)?;
        known.extend(page.objects.into_iter().map(|o| o.id));
    }
    Ok(known)
}

/// Every current object of a collection that `reader` may see.
fn all_objects(
    store: &SqliteStore,
    collection: &str,
    reader: &Reader,
) -> anyhow::Result<Vec<StixObject>> {
    let id = store
        .collection(collection)?
        .map(|c| c.id)
        .with_context(|| format!("no collection '{collection}'"))?;
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let mut q = ObjectQuery::new(id.clone());
        q.limit = shield_store::intel::MAX_INTEL_PAGE;
        q.next = next.take();
        q.with_json = true;
        let page = store.query_objects(reader, &q)?;
        for o in page.objects {
            if let Some(json) = o.json {
                out.push(StixObject::from_json(json.as_bytes())?);
            }
        }
        match page.next {
            Some(n) if page.more => next = Some(n),
            _ => break,
        }
    }
    Ok(out)
}

/// The IOC matcher of `shield hunt --intel`: the indicators of every file (as `import` reads them),
/// each hit at `level`. Problems with the files are printed as warnings; no indicator at all is
/// an error.
pub(crate) fn sweep_detector(
    paths: &[PathBuf],
    level: Level,
) -> anyhow::Result<(Arc<dyn Detector>, IndicatorLoad)> {
    let mut builder = IndicatorSetBuilder::new();
    for path in paths {
        for file in import_files(path)? {
            let (objects, problems) = source_objects(&file, Tlp::Amber);
            for p in &problems {
                eprintln!("warning: {p}");
            }
            for o in &objects {
                builder.add(o);
            }
        }
    }
    if builder.load().indicators == 0 {
        bail!(
            "no indicator with values to look up in {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let (set, load) = builder.build()?;
    let detector = SweepDetector {
        inner: IntelDetector::new(set),
        level,
    };
    Ok((Arc::new(detector), load))
}

/// The IOC matcher with every hit at one level.
struct SweepDetector {
    inner: IntelDetector,
    level: Level,
}

impl Detector for SweepDetector {
    fn name(&self) -> &str {
        "intel"
    }

    fn detect(&self, events: &[Event], alerts: &mut Vec<Alert>) {
        let first = alerts.len();
        self.inner.detect(events, alerts);
        for alert in &mut alerts[first..] {
            alert.rule.level = self.level;
        }
    }
}
