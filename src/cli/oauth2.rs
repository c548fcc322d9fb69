//! `cfpd oauth2 authorize`: sign in once in a browser and store the refresh
//! token where `[oauth2]` says (the flow itself is in [`crate::oauth2`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;

use crate::config::Secret;

/// OAuth2 subcommands.
#[derive(Debug, Subcommand)]
pub enum Oauth2Cmd {
    /// Open the printed URL in a browser, sign in as the CFP mailbox and
    /// consent; the refresh token is written to oauth2.refresh_token_file
    /// (mode 0600). The browser must reach this machine's loopback: on a
    /// server, forward the port (`ssh -L PORT:127.0.0.1:PORT server`).
    Authorize {
        /// Loopback port of the redirect listener (0: any free port). Use a
        /// fixed one when the app registration lists an exact redirect URI.
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Write the refresh token here instead of oauth2.refresh_token_file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Run an OAuth2 subcommand.
pub async fn run(config: &Path, cmd: Oauth2Cmd) -> anyhow::Result<()> {
    let Oauth2Cmd::Authorize { port, out } = cmd;
    let cfg = super::load_config(config)?;
    let Some(o) = &cfg.oauth2 else {
        bail!(
            "{}: no [oauth2] table: add one (see README \"Mail providers\") before authorizing",
            config.display()
        );
    };
    let target = match (out, &o.refresh_token) {
        (Some(p), _) => p,
        (None, Secret::File(p)) => p.clone(),
        (None, other) => bail!(
            "the refresh token is read from {}, which authorize cannot write: set oauth2.refresh_token_file, or pass --out FILE",
            other.location()
        ),
    };
    let tokens = crate::oauth2::TokenSource::new(o)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("listening on 127.0.0.1:{port}"))?;
    let redirect = format!("http://127.0.0.1:{}/", listener.local_addr()?.port());
    println!("redirect URI: {redirect}");
    let refresh = tokens
        .authorize(
            listener,
            &redirect,
            |url| {
                println!("open this URL in a browser and sign in as the CFP mailbox:\n{url}");
            },
            Duration::from_secs(600),
        )
        .await?;
    crate::oauth2::write_private(&target, &refresh)
        .with_context(|| format!("writing the refresh token to {}", target.display()))?;
    println!(
        "stored the refresh token in {} (mode 0600); `cfpd check` tries it",
        target.display()
    );
    Ok(())
}
