//! What the two long-running services, `n3xnetd` and `n3xnet-report`,
//! share as systemd services: the notification protocol ([`notify`]) and
//! logging to the journal ([`logging`]).

pub mod logging;
pub mod notify;

pub use notify::Notifier;

use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::exit;

/// `name` in the service's runtime directory: `dir` when given
/// (`--runtime-dir`), else [`runtime_directory`]; `None` without either.
pub fn runtime_file(dir: Option<&std::path::Path>, name: &str) -> Option<PathBuf> {
    dir.map(ToOwned::to_owned)
        .or_else(runtime_directory)
        .map(|d| d.join(name))
}

/// Where n3xnetd keeps what must outlive it (DHCP leases, the journal of a
/// confirmed change) unless `$STATE_DIRECTORY` (systemd's
/// `StateDirectory=n3xnet`) says otherwise.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/n3xnet";

/// The state directory: the first entry of `$STATE_DIRECTORY`, else
/// [`DEFAULT_STATE_DIR`].
pub fn state_dir() -> PathBuf {
    first_entry("STATE_DIRECTORY").unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
}

/// The first entry of `$RUNTIME_DIRECTORY` (systemd sets it from
/// `RuntimeDirectory=`, joining several with ':').
fn runtime_directory() -> Option<PathBuf> {
    first_entry("RUNTIME_DIRECTORY")
}

/// The first entry of a directory list systemd passes (several joined
/// with ':'), if there is a non-empty one.
fn first_entry(var: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os(var)?;
    let first = dirs.to_str()?.split(':').next()?.to_owned();
    (!first.is_empty()).then(|| PathBuf::from(first))
}

/// A service's whole program: parse the command line (`--help` and
/// `--version` exit 0, a usage error 64), start logging as `name`, run.
pub fn main<A: clap::Parser>(name: &str, run: impl FnOnce(&A) -> u8) -> ExitCode {
    let args = match A::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    logging::init(name);
    ExitCode::from(run(&args))
}

/// Logs why a service cannot start, a line per problem.
pub fn cannot_start(e: &dyn Display) {
    tracing::error!("cannot start:");
    for line in e.to_string().lines() {
        tracing::error!("{line}");
    }
}

/// The service's runtime ([`crate::runtime::current_thread`]); the exit
/// code when there is none.
pub fn runtime() -> Result<tokio::runtime::Runtime, u8> {
    crate::runtime::current_thread().map_err(|e| {
        tracing::error!("cannot start the runtime: {e}");
        exit::SOFTWARE
    })
}
