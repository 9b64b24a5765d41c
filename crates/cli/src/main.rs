//! `shield`: run a node, ingest files into it, manage tokens and configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: JSON-heavy ingest and detection spend much of their time allocating; it is markedly
/// faster than the system allocator there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod demo;
mod hunt;
mod ingest;
mod intel;
mod keys;
mod rules;
mod serve;
mod token;

/// Shield: security telemetry, detection and cross-border sharing for SOCs.
#[derive(Debug, Parser)]
#[command(name = "shield", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node: HTTP API and ingest, syslog listeners, detection, storage.
    Serve(serve::ServeArgs),
    /// Send log files and folders (EVTX, JSON, NDJSON, syslog text) to a running node.
    Ingest(ingest::IngestArgs),
    /// Hunt offline: run Sigma rules over log files and folders (EVTX, JSON, NDJSON, syslog).
    Hunt(hunt::HuntArgs),
    /// Sigma rules.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Manage API tokens in a node's data directory.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Threat intelligence: import, search, export, pull from TAXII servers.
    #[command(subcommand)]
    Intel(intel::IntelCommand),
    /// Configuration files.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The node's signing key for federation.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// A hub and three members on loopback playing the cross-border loop.
    Demo(demo::DemoArgs),
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a commented configuration file with every key at its default.
    Default,
    /// Validate a configuration file (and the SHIELD_* environment) and print the result.
    Check {
        /// The file to check.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Hunt(args) => hunt::run(args),
        Command::Rules(cmd) => rules::run(cmd),
        Command::Token(cmd) => token::run(cmd),
        Command::Intel(cmd) => intel::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Config(ConfigCommand::Default) => {
            print!("{}", shield_server::config::DEFAULT_TOML);
            Ok(())
        }
        Command::Config(ConfigCommand::Check { file }) => {
            shield_server::NodeConfig::load(Some(&file), std::env::vars())
                .map(|c| {
                    println!(
                        "{}: valid (listen {}, data {})",
                        file.display(),
                        c.server.listen,
                        c.server.data_dir.display()
                    )
                })
                .map_err(anyhow::Error::from)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up logging to stderr at `level` (a level or a tracing filter), as text or JSON.
pub fn init_logging(level: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Installs the process-wide TLS crypto provider (ring) once.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
