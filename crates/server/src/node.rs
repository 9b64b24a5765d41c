//! Starting and stopping a node: store, admin token, detectors, pipeline, listeners.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use shield_event::{Alert, Detector, Event, Level};
use shield_federation::feed::{FeedContext, spawn_feeds};
use shield_intel::matcher::IntelDetector;
use shield_store::archive::FramePosition;
use shield_store::archive::{ArchiveConfig, EventArchive};
use shield_store::{IntelStore, Role, SqliteStore, StateStore, Store, TokenStore};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::Authenticator;
use crate::config::NodeConfig;
use crate::detectors::{ReloadReport, RuleReloader};
use crate::error::ServerError;
use crate::journal::{
    DETECTED_KEY, IngestJournal, JOURNAL_DIR, JOURNAL_SEGMENT_BYTES, LogMode, Marks, WriterContext,
};
use crate::pipeline::{Output, Pipeline, PipelineConfig};
use crate::state::{AppState, SharedState};
use crate::stats::IngestStats;

/// How often in-memory ingest counters are written to the store.
const STATS_FLUSH: Duration = Duration::from_secs(1);
/// How often the output stores the detected watermark (and at stop).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);
/// How often the store is asked whether intel changed.
const INTEL_REFRESH: Duration = Duration::from_secs(1);

/// A node that is running.
pub struct RunningNode {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Whether the API speaks TLS.
    pub tls: bool,
    /// Where the syslog UDP listener is bound, if on.
    pub syslog_udp: Option<SocketAddr>,
    /// Where the syslog TCP listener is bound, if on.
    pub syslog_tcp: Option<SocketAddr>,
    /// The admin token created at this start (first start without `SHIELD_ADMIN_TOKEN`); print it once.
    pub created_admin_token: Option<String>,
    state: SharedState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningNode {
    /// The shared state (for embedding and tests).
    pub fn state(&self) -> &SharedState {
        &self.state
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.http_addr)
    }

    /// Reloads the Sigma rules (as SIGHUP does).
    pub fn reload(&self) -> Result<ReloadReport, String> {
        reload_detectors(&self.state)
    }

    /// Stops the listeners, lets in-flight requests finish, drains the pipeline so every accepted event
    /// is stored, and flushes the statistics.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        let state = Arc::clone(&self.state);
        let drained = tokio::task::spawn_blocking(move || {
            state.journal.shutdown();
            state.pipeline.shutdown();
            state.stats.flush(state.store.as_ref())
        })
        .await;
        match drained {
            Ok(Ok(())) => tracing::info!("node stopped; every accepted event was stored"),
            Ok(Err(e)) => {
                tracing::error!("node stopped, but the last statistics could not be written: {e}")
            }
            Err(e) => tracing::error!("stopping the pipeline failed: {e}"),
        }
    }
}

/// Rebuilds the detectors and swaps them into the running pipeline.
pub fn reload_detectors(state: &AppState) -> Result<ReloadReport, String> {
    let (set, report) = state.reloader.build()?;
    state.pipeline.set_detectors(set);
    tracing::info!(
        "detectors reloaded: {} rules, {} rejected",
        report.rules_loaded,
        report.rules_rejected
    );
    Ok(report)
}

/// Starts a node. `admin_token` is the value of `SHIELD_ADMIN_TOKEN`, if set.
pub async fn start(
    config: NodeConfig,
    admin_token: Option<String>,
) -> Result<RunningNode, ServerError> {
    let data_dir = config.server.data_dir.clone();
    std::fs::create_dir_all(&data_dir).map_err(|e| {
        ServerError::io(
            format!("cannot create data directory {}", data_dir.display()),
            e,
        )
    })?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&data_dir)?);
    let org = config.server.organisation.clone();

    let created_admin_token = ensure_admin_token(store.as_ref(), admin_token.as_deref(), &org)?;

    let min_level = config
        .sigma
        .min_level
        .as_deref()
        .map(|l| l.parse::<Level>())
        .transpose()
        .map_err(|e| ServerError::Config {
            key: "sigma.min_level".to_owned(),
            message: e.to_string(),
        })?;
    crate::intel::ensure_default_collections(store.as_ref())?;
    let federation = crate::federation::start_federation(&config, store.as_ref())?;
    if config.taxii.enabled {
        let created =
            crate::taxii::install_configured_collections(store.as_ref(), &config.taxii.server)?;
        if created > 0 {
            tracing::info!("{created} TAXII collections created from taxii.collections");
        }
    }
    let (indicators, load) = crate::intel::build_indicator_set(store.as_ref(), Utc::now())?;
    tracing::info!(
        "{} indicators ({} values) in the live matcher",
        load.indicators,
        load.values
    );
    let intel = Arc::new(IntelDetector::new(indicators));
    let reloader = RuleReloader::new(
        config.sigma.rules.clone(),
        config.sigma.mapping.clone(),
        min_level,
    )
    .with_detectors(vec![Arc::clone(&intel) as Arc<dyn Detector>]);
    let (detectors, report) = reloader.build().map_err(|message| ServerError::Config {
        key: "sigma.rules".to_owned(),
        message,
    })?;
    if report.rules_rejected > 0 {
        tracing::warn!(
            "{} Sigma rules could not be loaded; GET /api/v1/rules lists them",
            report.rules_rejected
        );
    }

    // The journal: the archive itself, or a log of its own when the archive is off.
    let (mut log, mode) = if config.archive.enabled {
        let cfg = ArchiveConfig {
            retention: Duration::from_secs(config.archive.retention_days.saturating_mul(86_400)),
            segment_max_bytes: config.archive.segment_max_mib.saturating_mul(1024 * 1024),
            ..ArchiveConfig::default()
        };
        (EventArchive::open(&data_dir, cfg)?, LogMode::Archive)
    } else {
        let cfg = ArchiveConfig {
            retention: Duration::ZERO,
            segment_max_bytes: JOURNAL_SEGMENT_BYTES,
            segment_max_age: Duration::ZERO,
            ..ArchiveConfig::default()
        };
        let dir = data_dir.join(JOURNAL_DIR);
        (EventArchive::open_dir(&dir, cfg)?, LogMode::JournalOnly)
    };
    if let Some(torn) = log.torn_tail() {
        tracing::warn!(
            "journal: torn tail cut off {} at byte {} ({} bytes dropped): a write interrupted by \
             a crash, never acknowledged to a sender",
            torn.segment.display(),
            torn.offset,
            torn.dropped_bytes
        );
    }
    let end = log.end_position();
    let detected = crate::journal::detected_watermark(store.as_ref(), end)?;
    let stats = Arc::new(IngestStats::load(store.as_ref(), end)?);
    let recorded = detected.max(stats.through().unwrap_or(detected));
    if log.continue_after(recorded)? {
        tracing::warn!(
            "journal: the files end before the recorded position {recorded}; new frames go after it"
        );
    }
    let workers = match config.ingest.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        n => n,
    };
    let marks = Arc::new(Marks::default());
    marks.set_detected(detected);
    let output = NodeOutput {
        org: org.clone(),
        store: Arc::clone(&store),
        marks: Arc::clone(&marks),
        detected: None,
        last_checkpoint: Instant::now(),
    };
    let pipeline = Arc::new(Pipeline::start(
        PipelineConfig {
            queue_events: config.ingest.queue_events,
            workers,
        },
        detectors,
        Box::new(output),
    ));
    let replayed = {
        let (pipeline, stats) = (Arc::clone(&pipeline), Arc::clone(&stats));
        tokio::task::spawn_blocking(move || {
            let report = crate::journal::replay(&log, detected, &pipeline, &stats);
            (log, report)
        })
        .await
    };
    let (log, _report) = replayed.map_err(|e| {
        ServerError::io(
            "journal replay failed",
            std::io::Error::other(e.to_string()),
        )
    })?;
    let zstd_level = ArchiveConfig::default().zstd_level;
    let journal = IngestJournal::start(
        log,
        zstd_level,
        WriterContext {
            pipeline: Arc::clone(&pipeline),
            stats: Arc::clone(&stats),
            marks,
            mode,
        },
    )?;
    let state: SharedState = Arc::new(AppState {
        auth: Authenticator::new(Arc::clone(&store) as Arc<dyn TokenStore>, org.clone()),
        store,
        pipeline,
        journal,
        stats,
        reloader,
        intel: Arc::clone(&intel),
        intel_load: parking_lot::Mutex::new(load),
        started: Instant::now(),
        federation: federation.clone(),
        config,
    });

    let (shutdown, shutdown_rx) = watch::channel(false);
    let mut tasks = Vec::new();

    // HTTP API.
    let listen = state.config.listen_addr()?;
    let tcp = TcpListener::bind(listen)
        .await
        .map_err(|e| ServerError::io(format!("cannot listen on {listen} (server.listen)"), e))?;
    let http_addr = tcp
        .local_addr()
        .map_err(|e| ServerError::io("cannot read the listen address", e))?;
    let mut router = crate::api::router(Arc::clone(&state));
    if state.config.taxii.enabled {
        router = router.merge(crate::taxii::router(&state));
    }
    let tls = match (&state.config.server.tls_cert, &state.config.server.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::server_config(cert, key)?),
        _ => None,
    };
    let is_tls = tls.is_some();
    let mut rx = shutdown_rx.clone();
    let graceful = async move {
        let _ = rx.changed().await;
    };
    tasks.push(match tls {
        Some(config) => {
            let listener = crate::tls::TlsListener::new(tcp, config)
                .map_err(|e| ServerError::io("cannot start the TLS listener", e))?;
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(graceful)
                    .await
                {
                    tracing::error!("https server failed: {e}");
                }
            })
        }
        None => tokio::spawn(async move {
            if let Err(e) = axum::serve(tcp, router)
                .with_graceful_shutdown(graceful)
                .await
            {
                tracing::error!("http server failed: {e}");
            }
        }),
    });

    // Syslog.
    let mut syslog_udp = None;
    if let Some(addr) = &state.config.ingest.syslog_udp {
        let socket = UdpSocket::bind(addr).await.map_err(|e| {
            ServerError::io(
                format!("cannot bind syslog udp {addr} (ingest.syslog_udp)"),
                e,
            )
        })?;
        syslog_udp = socket.local_addr().ok();
        tasks.push(tokio::spawn(crate::syslog::run_udp(
            socket,
            Arc::clone(&state),
            shutdown_rx.clone(),
        )));
    }
    let mut syslog_tcp = None;
    if let Some(addr) = &state.config.ingest.syslog_tcp {
        let listener = TcpListener::bind(addr).await.map_err(|e| {
            ServerError::io(
                format!("cannot bind syslog tcp {addr} (ingest.syslog_tcp)"),
                e,
            )
        })?;
        syslog_tcp = listener.local_addr().ok();
        tasks.push(tokio::spawn(crate::syslog::run_tcp(
            listener,
            Arc::clone(&state),
            shutdown_rx.clone(),
        )));
    }

    // Intel feeds: remote TAXII collections pulled on their schedule.
    if !state.config.intel.feeds.is_empty() {
        let ctx = FeedContext {
            store: Arc::clone(&state.store) as Arc<dyn IntelStore>,
            state: Arc::clone(&state.store) as Arc<dyn StateStore>,
            node_org: org.clone(),
        };
        let feeds = spawn_feeds(state.config.intel.feeds.clone(), ctx, shutdown_rx.clone())
            .map_err(|e| ServerError::Config {
                key: "intel.feeds".to_owned(),
                message: e.to_string(),
            })?;
        tracing::info!("{} intel feeds started", feeds.len());
        tasks.extend(feeds);
    }

    // Statistics flusher.
    let flush_state = Arc::clone(&state);
    let mut rx = shutdown_rx.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(STATS_FLUSH) => {}
                _ = rx.changed() => return,
            }
            let st = Arc::clone(&flush_state);
            let flushed =
                tokio::task::spawn_blocking(move || st.stats.flush(st.store.as_ref())).await;
            if let Ok(Err(e)) = flushed {
                tracing::warn!("cannot write ingest statistics (kept for the next try): {e}");
            }
        }
    }));

    // Live indicators: rebuild the matcher when stored intel changed.
    let intel_state = Arc::clone(&state);
    let mut rx = shutdown_rx.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(INTEL_REFRESH) => {}
                _ = rx.changed() => return,
            }
            let st = Arc::clone(&intel_state);
            let refreshed = tokio::task::spawn_blocking(move || refresh_indicators(&st)).await;
            if let Ok(Err(e)) = refreshed {
                tracing::warn!("cannot refresh the live indicators (the previous ones stay): {e}");
            }
        }
    }));

    if let Some(federation) = &federation {
        tasks.extend(crate::federation::spawn_tasks(
            &state,
            federation,
            &shutdown_rx,
        ));
    }

    Ok(RunningNode {
        http_addr,
        tls: is_tls,
        syslog_udp,
        syslog_tcp,
        created_admin_token,
        state,
        shutdown,
        tasks,
    })
}

/// Rebuilds the live IOC matcher when the store's intel generation moved; `true` when rebuilt.
pub fn refresh_indicators(state: &AppState) -> Result<bool, ServerError> {
    let generation = state.store.intel_generation()?;
    if generation == state.intel_load.lock().generation {
        return Ok(false);
    }
    let (set, load) = crate::intel::build_indicator_set(state.store.as_ref(), Utc::now())?;
    state.intel.replace(set);
    tracing::debug!("live matcher rebuilt: {} indicators", load.indicators);
    *state.intel_load.lock() = load;
    Ok(true)
}

/// Makes sure an admin can log in: imports `SHIELD_ADMIN_TOKEN` when given, otherwise creates an
/// admin token when there is none and returns it (to be printed once).
pub fn ensure_admin_token(
    store: &dyn Store,
    from_env: Option<&str>,
    org: &str,
) -> Result<Option<String>, ServerError> {
    if let Some(secret) = from_env.map(str::trim).filter(|s| !s.is_empty()) {
        if secret.len() < 16 {
            return Err(ServerError::Config {
                key: "SHIELD_ADMIN_TOKEN".to_owned(),
                message: "must be at least 16 characters".to_owned(),
            });
        }
        store.import_token("admin (SHIELD_ADMIN_TOKEN)", Role::Admin, Some(org), secret)?;
        return Ok(None);
    }
    if store.count_tokens(Some(Role::Admin))? > 0 {
        return Ok(None);
    }
    let (_, secret) = store.create_token("admin", Role::Admin, Some(org))?;
    Ok(Some(secret))
}

/// Writes processed batches: alerts to the store (the events are in the archive already, written
/// by the journal), and the detected watermark after them.
struct NodeOutput {
    org: String,
    store: Arc<dyn Store>,
    marks: Arc<Marks>,
    /// The watermark not yet stored.
    detected: Option<FramePosition>,
    last_checkpoint: Instant,
}

impl NodeOutput {
    fn store_checkpoint(&mut self) {
        let Some(p) = self.detected.take() else {
            return;
        };
        match self.store.set_state(DETECTED_KEY, &p.to_string()) {
            Ok(()) => self.marks.set_detected(p),
            Err(e) => {
                tracing::warn!("cannot store the detected watermark (kept for the next try): {e}");
                self.detected = Some(p);
            }
        }
        self.last_checkpoint = Instant::now();
    }
}

impl Output for NodeOutput {
    fn write(&mut self, _events: &[Event], alerts: &[Alert]) -> Result<(), String> {
        if alerts.is_empty() {
            return Ok(());
        }
        // Both writes are idempotent (alert ids and sightings are derived from the journal
        // position), so a batch written again after a crash stores nothing twice.
        let mut errors = Vec::new();
        if let Err(e) = self.store.insert_alerts(alerts) {
            errors.push(format!("alerts: {e}"));
        }
        let sightings = crate::intel::sightings_for(alerts, &self.org);
        if let Err(e) = crate::intel::store_sightings(self.store.as_ref(), sightings, &self.org) {
            errors.push(format!("sightings: {e}"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    fn checkpoint(&mut self, detected: FramePosition) {
        self.detected = Some(detected);
        if self.last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
            self.store_checkpoint();
        }
    }

    fn finish(&mut self) {
        self.store_checkpoint();
    }
}
