//! `shield serve`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use shield_server::NodeConfig;

/// Options of `shield serve`; each overrides the configuration file and the environment.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address of the HTTP API [default: 127.0.0.1:8600].
    #[arg(long)]
    listen: Option<String>,
    /// Data directory [default: ./shield-data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Configuration file (TOML); every key optional. `shield config default` prints one.
    #[arg(long, env = "SHIELD_CONFIG")]
    config: Option<PathBuf>,
    /// Syslog over UDP listener address, e.g. 0.0.0.0:514 (off unless set).
    #[arg(long)]
    syslog_udp: Option<String>,
    /// Syslog over TCP listener address, e.g. 0.0.0.0:514 (off unless set).
    #[arg(long)]
    syslog_tcp: Option<String>,
    /// Sigma rule folder or file to run on every event (repeatable).
    #[arg(long = "rules")]
    rules: Vec<PathBuf>,
}

/// Loads the configuration with the command-line overrides applied last.
fn configuration(args: &ServeArgs) -> anyhow::Result<NodeConfig> {
    let mut config = NodeConfig::load(args.config.as_deref(), std::env::vars())?;
    if let Some(listen) = &args.listen {
        config.server.listen = listen.clone();
    }
    if let Some(data) = &args.data {
        config.server.data_dir = data.clone();
    }
    if args.syslog_udp.is_some() {
        config.ingest.syslog_udp = args.syslog_udp.clone();
    }
    if args.syslog_tcp.is_some() {
        config.ingest.syslog_tcp = args.syslog_tcp.clone();
    }
    if !args.rules.is_empty() {
        config.sigma.rules = args.rules.clone();
    }
    config.validate()?;
    Ok(config)
}

/// Runs the node until SIGINT or SIGTERM; SIGHUP reloads the Sigma rules.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = configuration(&args)?;
    crate::init_logging(&config.log.level, config.log.format == "json");
    crate::install_tls_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("shield-io")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let admin = std::env::var("SHIELD_ADMIN_TOKEN").ok();
        let data_dir = config.server.data_dir.clone();
        let node = shield_server::start(config, admin).await?;
        println!("Shield node listening on {}", node.url());
        println!("data directory: {}", data_dir.display());
        if let Some(addr) = node.syslog_udp {
            println!("syslog udp on {addr}");
        }
        if let Some(addr) = node.syslog_tcp {
            println!("syslog tcp on {addr}");
        }
        if let Some(token) = &node.created_admin_token {
            println!();
            println!("Admin token (shown once, keep it safe): {token}");
            println!("Create more with: shield token create --role ingest --name winlogbeat");
            println!();
        }
        wait_for_stop(&node).await;
        eprintln!("stopping: draining the ingest queue…");
        node.stop().await;
        anyhow::Ok(())
    })
}

#[cfg(unix)]
async fn wait_for_stop(node: &shield_server::RunningNode) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                match node.reload() {
                    Ok(r) => tracing::info!("SIGHUP: {} rules loaded, {} rejected", r.rules_loaded, r.rules_rejected),
                    Err(e) => tracing::error!("SIGHUP: rules not reloaded, the running rules stay: {e}"),
                }
            }
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_stop(_node: &shield_server::RunningNode) {
    let _ = tokio::signal::ctrl_c().await;
}
