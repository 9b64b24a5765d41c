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
use shield_intel::convert::{IocIndicatorWriter, indicator_for_ioc};
use shield_intel::lists::{ListFormat, import as import_list};
use shield_intel::matcher::IntelDetector;
use shield_intel::stix::{Bundle, Limits, StixObject, Timestamp, parse_bundle_partial};
use shield_intel::tlp::Tlp;
use shield_server::intel::{
    INDICATORS, IndicatorLoad, IndicatorSetBuilder, ensure_default_collections,
};
use shield_store::intel::{BulkObject, BulkWrite, IncomingObject, ObjectQuery, Provenance, Reader};
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

/// Imports one source; returns (added, already stored, problems). Each source is stored in one
/// transaction ([`IntelStore::put_bulk`]). The indicators of a list are written straight to
/// their JSON text ([`BulkObject::ioc_indicator`]) on worker threads while this thread stores
/// them, so a list of millions of indicators is never in memory as STIX objects, and building
/// them runs beside the store's writer.
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
        let (added, duplicates) = store_objects(
            store,
            collection,
            &mut objects
                .into_iter()
                .map(|o| BulkObject::from(IncomingObject::new(o))),
            file,
            org,
            tlp,
            derived,
        )?;
        return Ok((added, duplicates, problems));
    };
    let name = file.display().to_string();
    let list = import_list(&text, ListFormat::Auto, &name);
    drop(text);
    let problems: Vec<String> = list.errors.iter().map(ToString::to_string).collect();
    let writer = IocIndicatorWriter::new(Timestamp::now(), Some(tlp));
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(usize, Vec<BulkObject>)>(4 * workers);
    let entries = &list.entries;
    let chunks = entries.len().div_ceil(BUILD_CHUNK);
    let (stored, built) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let sender = sender.clone();
                let writer = &writer;
                scope.spawn(move || {
                    // Worker w builds chunks w, w + workers, …
                    for chunk in (worker..chunks).step_by(workers) {
                        let start = chunk * BUILD_CHUNK;
                        let part = &entries[start..(start + BUILD_CHUNK).min(entries.len())];
                        let objects: Vec<BulkObject> = part
                            .iter()
                            .map(|e| {
                                BulkObject::ioc_indicator(writer, &e.ioc, e.comment.as_deref())
                            })
                            .collect();
                        if sender.send((chunk, objects)).is_err() {
                            break; // the writer failed; its error is reported
                        }
                    }
                })
            })
            .collect();
        drop(sender);
        let stored = store_objects(
            store,
            collection,
            &mut InOrder::new(receiver.iter()),
            file,
            org,
            tlp,
            true,
        );
        // A failed write drops the receiver, so the workers stop.
        drop(receiver);
        let built = handles.into_iter().all(|h| h.join().is_ok());
        (stored, built)
    });
    let (added, duplicates) = stored?;
    if !built {
        bail!("{name}: building the indicators failed");
    }
    Ok((added, duplicates, problems))
}

/// Indicators built (and handed to the writer) at a time by one worker.
const BUILD_CHUNK: usize = 2048;

/// The objects of numbered chunks, in chunk order whatever order the chunks arrive in: a list
/// is stored as if read line by line (the first of two lines with the same indicator wins).
struct InOrder<I> {
    chunks: I,
    next: usize,
    waiting: std::collections::BTreeMap<usize, Vec<BulkObject>>,
    current: std::vec::IntoIter<BulkObject>,
}

impl<I: Iterator<Item = (usize, Vec<BulkObject>)>> InOrder<I> {
    fn new(chunks: I) -> Self {
        InOrder {
            chunks,
            next: 0,
            waiting: std::collections::BTreeMap::new(),
            current: Vec::new().into_iter(),
        }
    }
}

impl<I: Iterator<Item = (usize, Vec<BulkObject>)>> Iterator for InOrder<I> {
    type Item = BulkObject;

    fn next(&mut self) -> Option<BulkObject> {
        loop {
            if let Some(object) = self.current.next() {
                return Some(object);
            }
            let chunk = match self.waiting.remove(&self.next) {
                Some(chunk) => chunk,
                None => loop {
                    let Some((index, chunk)) = self.chunks.next() else {
                        // Every sender is gone: what is left (nothing, unless a worker
                        // stopped early) in chunk order.
                        let (_, chunk) = self.waiting.pop_first()?;
                        break chunk;
                    };
                    if index == self.next {
                        break chunk;
                    }
                    self.waiting.insert(index, chunk);
                },
            };
            self.next += 1;
            self.current = chunk.into_iter();
        }
    }
}

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

/// Stores objects in one transaction; returns (added, duplicates). With `skip_known`, objects
/// whose id is already in the collection (in a version the importing organisation may see, or
/// earlier in this import) count as duplicates.
fn store_objects(
    store: &SqliteStore,
    collection: &str,
    objects: &mut dyn Iterator<Item = BulkObject>,
    file: &Path,
    org: &str,
    tlp: Tlp,
    skip_known: bool,
) -> anyhow::Result<(usize, usize)> {
    let id = store
        .collection(collection)?
        .map(|c| c.id)
        .with_context(|| format!("no collection '{collection}'"))?;
    let report = store.put_bulk(
        &BulkWrite {
            collection: id,
            provenance: Provenance {
                source: format!("import:{}", file.display()),
                org: org.to_owned(),
                default_tlp: tlp,
                shared_with: Vec::new(),
            },
            received: Utc::now(),
            skip_known_ids: skip_known,
        },
        objects,
    )?;
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok((count(report.added), count(report.duplicates)))
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
