//! What the two long-running services, `n3xnetd` and `n3xnet-report`,
//! share as systemd services: the notification protocol ([`notify`]) and
//! logging to the journal ([`logging`]).

pub mod logging;
pub mod notify;

pub use notify::Notifier;

use std::path::PathBuf;

/// The first entry of `$RUNTIME_DIRECTORY` (systemd sets it from
/// `RuntimeDirectory=`, joining several with ':').
pub fn runtime_directory() -> Option<PathBuf> {
    let dirs = std::env::var_os("RUNTIME_DIRECTORY")?;
    let first = dirs.to_str()?.split(':').next()?.to_owned();
    (!first.is_empty()).then(|| PathBuf::from(first))
}
