//! `shield keys generate|show`: the node's Ed25519 key, whose public half peers put in their
//! configuration to verify what this node's organisation signs.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use shield_federation::identity::{NodeKey, derived_identity_id};
use shield_server::federation::config::DEFAULT_KEY_FILE;

/// Key commands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create the node key (mode 0600) and print its public key and key id.
    Generate {
        /// Data directory of the node (the key goes to node-key.pem in it).
        #[arg(long, env = "SHIELD_DATA", default_value = "./shield-data")]
        data: PathBuf,
        /// Write the key to this file instead.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Replace an existing key (peers must then be given the new public key).
        #[arg(long)]
        force: bool,
        /// Also print the STIX identity id derived from this organisation name.
        #[arg(long)]
        organisation: Option<String>,
    },
    /// Print the public key and key id of an existing node key.
    Show {
        /// Data directory of the node.
        #[arg(long, env = "SHIELD_DATA", default_value = "./shield-data")]
        data: PathBuf,
        /// Read the key from this file instead.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Also print the STIX identity id derived from this organisation name.
        #[arg(long)]
        organisation: Option<String>,
    },
}

/// Runs a key command.
pub fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    match cmd {
        KeysCommand::Generate {
            data,
            out,
            force,
            organisation,
        } => {
            let path = out.unwrap_or_else(|| data.join(DEFAULT_KEY_FILE));
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let key = NodeKey::generate().context("cannot generate a key")?;
            key.write_file(&path, force).with_context(|| {
                format!("cannot write {} (--force replaces a key)", path.display())
            })?;
            print_key(&key, &path, organisation.as_deref());
            Ok(())
        }
        KeysCommand::Show {
            data,
            key,
            organisation,
        } => {
            let path = key.unwrap_or_else(|| data.join(DEFAULT_KEY_FILE));
            let key = NodeKey::read_file(&path)
                .with_context(|| format!("cannot read the node key {}", path.display()))?;
            print_key(&key, &path, organisation.as_deref());
            Ok(())
        }
    }
}

fn print_key(key: &NodeKey, path: &Path, organisation: Option<&str>) {
    let public = key.public_key();
    println!("key file:   {}", path.display());
    println!("public key: {}", public.to_config_string());
    println!("key id:     {}", public.key_id());
    if let Some(name) = organisation {
        println!("identity:   {}", derived_identity_id(name));
    }
}
