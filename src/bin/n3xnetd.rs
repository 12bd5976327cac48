//! `n3xnetd`: the node's network supervisor service.
//!
//! Until the supervisor lands it validates its configuration and profile, so
//! a broken deployment is caught early, then refuses to run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use n3xnet::cli::{exit, node_name};
use n3xnet::config::{DaemonConfig, DEFAULT_PATH};

/// n3xnet supervisor daemon (systemd Type=notify service).
#[derive(Debug, Parser)]
#[command(name = "n3xnetd", version, about)]
struct Args {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = DEFAULT_PATH)]
    config: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match DaemonConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("n3xnetd: {e}");
            return ExitCode::from(exit::INVALID_PROFILE);
        }
    };
    let loaded = match n3xnet::profile::load(&config.profile) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("n3xnetd: {e}");
            return ExitCode::from(exit::INVALID_PROFILE);
        }
    };
    let node = node_name(config.node.as_deref());
    if let Err(d) = n3xnet::profile::resolve(&loaded.profile, &node) {
        eprintln!(
            "n3xnetd: {}",
            n3xnet::profile::Report::new(&config.profile, d)
        );
        return ExitCode::from(exit::INVALID_PROFILE);
    }
    eprintln!(
        "n3xnetd: configuration and profile valid for node {node}; the supervisor is not implemented yet (use `n3xnetctl apply`)"
    );
    ExitCode::from(exit::UNAVAILABLE)
}
