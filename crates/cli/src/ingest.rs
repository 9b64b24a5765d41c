//! `shield ingest PATH...`: reads log files and folders and sends their events to a running node over
//! its ingest API, in NDJSON batches, honouring 429 back-pressure.
//!
//! Reading and parsing run on a thread of their own while batches are in flight, so the node and the
//! reader work at the same time. A file that cannot be read, or a record that cannot be parsed, is
//! reported with its place and the rest goes on.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use shield_event::parse::{ParseContext, discover_files, read_file};

/// Options of `shield ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files and folders (folders are searched recursively for .evtx, .json, .jsonl, .ndjson, .log, .txt).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// URL of the node.
    #[arg(long, env = "SHIELD_URL", default_value = "http://127.0.0.1:8600")]
    url: String,
    /// An ingest or admin token.
    #[arg(long, env = "SHIELD_TOKEN", hide_env_values = true)]
    token: String,
    /// Events per request.
    #[arg(long, default_value_t = 5000)]
    batch: usize,
    /// Accept a node certificate that does not verify (self-signed test nodes only).
    #[arg(long)]
    insecure: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

struct Batch {
    body: Vec<u8>,
    events: usize,
}

/// Runs the command.
pub fn run(args: IngestArgs) -> anyhow::Result<()> {
    crate::install_tls_provider();
    let batch_size = args.batch.clamp(1, 100_000);
    let (files, problems) = discover_files(&args.paths);
    for p in &problems {
        eprintln!("warning: {p}");
    }
    if files.is_empty() {
        bail!("no log files found in the given paths");
    }
    let progress = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(files.len() as u64)
    };
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (tx, rx) = crossbeam_channel::bounded::<Batch>(4);
    let reader_progress = progress.clone();
    let reader = std::thread::Builder::new()
        .name("shield-ingest-read".to_owned())
        .spawn(move || read_all(files, batch_size, &tx, &reader_progress))
        .context("cannot start the reader thread")?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let started = Instant::now();
    let sent = runtime.block_on(send_all(&args, rx, &progress, started));
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread failed"))?;
    progress.finish_and_clear();
    let (accepted, rejected_by_node) = sent?;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    println!(
        "{} files, {} events sent, {} accepted, {} rejected by the node, {} unreadable records, {:.2}s, {:.0} events/s",
        read.files,
        read.events,
        accepted,
        rejected_by_node,
        read.errors,
        elapsed,
        accepted as f64 / elapsed
    );
    Ok(())
}

#[derive(Default)]
struct ReadSummary {
    files: usize,
    events: u64,
    errors: u64,
}

fn read_all(
    files: Vec<PathBuf>,
    batch_size: usize,
    tx: &crossbeam_channel::Sender<Batch>,
    progress: &ProgressBar,
) -> ReadSummary {
    let mut summary = ReadSummary::default();
    let mut body = Vec::with_capacity(batch_size * 1024);
    let mut in_batch = 0usize;
    for path in files {
        summary.files += 1;
        let ctx = ParseContext {
            input: Arc::from("file"),
            org: None,
            path: Some(Arc::from(path.display().to_string())),
        };
        match read_file(&path, &ctx) {
            Err(e) => {
                summary.errors += 1;
                progress.suspend(|| eprintln!("warning: {e}"));
            }
            Ok(records) => {
                for record in records {
                    match record {
                        Ok(event) => {
                            if serde_json::to_writer(&mut body, &event.data).is_err() {
                                summary.errors += 1;
                                continue;
                            }
                            body.push(b'\n');
                            in_batch += 1;
                            summary.events += 1;
                            if in_batch >= batch_size {
                                let full = std::mem::replace(
                                    &mut body,
                                    Vec::with_capacity(batch_size * 1024),
                                );
                                if tx
                                    .send(Batch {
                                        body: full,
                                        events: in_batch,
                                    })
                                    .is_err()
                                {
                                    return summary;
                                }
                                in_batch = 0;
                            }
                        }
                        Err(e) => {
                            summary.errors += 1;
                            progress.suspend(|| eprintln!("warning: {e}"));
                        }
                    }
                }
            }
        }
        progress.inc(1);
    }
    if in_batch > 0 {
        let _ = tx.send(Batch {
            body,
            events: in_batch,
        });
    }
    summary
}

async fn send_all(
    args: &IngestArgs,
    rx: crossbeam_channel::Receiver<Batch>,
    progress: &ProgressBar,
    started: Instant,
) -> anyhow::Result<(u64, u64)> {
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(args.insecure)
        .timeout(Duration::from_secs(120))
        .build()
        .context("cannot build the HTTP client")?;
    let url = format!("{}/api/v1/events", args.url.trim_end_matches('/'));
    let (mut accepted, mut rejected) = (0u64, 0u64);
    loop {
        let next = {
            let rx = rx.clone();
            tokio::task::spawn_blocking(move || rx.recv().ok())
                .await
                .context("reader channel failed")?
        };
        let Some(batch) = next else { break };
        let (a, r) = post_batch(&client, &url, &args.token, batch).await?;
        accepted += a;
        rejected += r;
        let rate = accepted as f64 / started.elapsed().as_secs_f64().max(1e-9);
        progress.set_message(format!("{accepted} events, {rate:.0}/s"));
    }
    Ok((accepted, rejected))
}

async fn post_batch(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    batch: Batch,
) -> anyhow::Result<(u64, u64)> {
    let mut gz = flate2::write::GzEncoder::new(
        Vec::with_capacity(batch.body.len() / 4),
        flate2::Compression::fast(),
    );
    gz.write_all(&batch.body)?;
    let body = bytes::Bytes::from(gz.finish()?);
    for attempt in 0u32.. {
        let response = client
            .post(url)
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(body.clone())
            .send()
            .await
            .with_context(|| format!("cannot reach {url}"))?;
        let status = response.status();
        if status.as_u16() == 429 {
            let wait = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_millis(
                (wait * 1000).min(200 * u64::from(attempt + 1)),
            ))
            .await;
            continue;
        }
        let answer: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        if !status.is_success() && status.as_u16() != 400 {
            bail!(
                "the node answered {status}: {}",
                answer["error"]["message"].as_str().unwrap_or("no message")
            );
        }
        let accepted = answer["accepted"]
            .as_u64()
            .or(answer["error"]["details"]["accepted"].as_u64())
            .unwrap_or(0);
        let rejected = answer["rejected"]
            .as_u64()
            .or(answer["error"]["details"]["rejected"].as_u64())
            .unwrap_or(0);
        if accepted + rejected != batch.events as u64 {
            tracing::warn!(
                "node accounted for {} of {} events",
                accepted + rejected,
                batch.events
            );
        }
        return Ok((accepted, rejected));
    }
    bail!("retries exhausted")
}
