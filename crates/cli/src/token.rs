//! `shield token create|list|revoke`: token administration on a data directory (the node may be
//! running: SQLite in WAL mode takes both).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use shield_store::{Role, SqliteStore, TokenStore};

/// Token commands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown once).
    Create {
        /// Role: admin, analyst, ingest or peer.
        #[arg(long)]
        role: Role,
        /// A name that says who uses it (e.g. winlogbeat-dc01).
        #[arg(long)]
        name: String,
        /// Organisation the token acts for [default: the node's].
        #[arg(long)]
        org: Option<String>,
        /// Data directory of the node.
        #[arg(long, env = "SHIELD_DATA", default_value = "./shield-data")]
        data: PathBuf,
    },
    /// List tokens (never their secrets).
    List {
        /// Data directory of the node.
        #[arg(long, env = "SHIELD_DATA", default_value = "./shield-data")]
        data: PathBuf,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `shield token list`).
        id: String,
        /// Data directory of the node.
        #[arg(long, env = "SHIELD_DATA", default_value = "./shield-data")]
        data: PathBuf,
    },
}

/// Runs a token command.
pub fn run(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            role,
            name,
            org,
            data,
        } => {
            let store = open(&data)?;
            let (info, secret) = store.create_token(&name, role, org.as_deref())?;
            eprintln!(
                "created {} token '{}' (id {})",
                info.role, info.name, info.id
            );
            println!("{secret}");
        }
        TokenCommand::List { data } => {
            let store = open(&data)?;
            for t in store.list_tokens()? {
                println!(
                    "{}\t{}\t{}\t{}\t{}{}",
                    t.id,
                    t.role,
                    t.name,
                    t.org.as_deref().unwrap_or("-"),
                    t.created.to_rfc3339(),
                    if t.revoked { "\trevoked" } else { "" }
                );
            }
        }
        TokenCommand::Revoke { id, data } => {
            let store = open(&data)?;
            if !store.revoke_token(&id)? {
                anyhow::bail!("no token with id {id}");
            }
            println!("revoked {id}");
        }
    }
    Ok(())
}

fn open(data: &PathBuf) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    SqliteStore::open(data).with_context(|| format!("cannot open the store in {}", data.display()))
}
