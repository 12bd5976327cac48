//! `n3xnetd`: the node's network supervisor (systemd `Type=notify`).
//!
//! Start: load and check the configuration and the profile (a problem is
//! exit 65, an unreadable file 66, each problem logged), open netlink,
//! apply the profile transactionally, then supervise on kernel events
//! ([`Supervisor`]) until SIGTERM/SIGINT, which leave the network as it is.
//!
//! Front ends hook in through [`Control`] (from [`Supervisor::start`]):
//! [`Control::status`] is a watch of the status
//! ([`crate::api::status::DaemonStatus`], health included),
//! updated on every change; [`Control::reload`] and [`Control::reconcile`]
//! answer with the outcome. The SIGHUP forwarder and the D-Bus service
//! (`io.n3x.Net1`) are front ends, spawned beside it in [`run`]; the status
//! file is written by the supervisor itself, before any front end hears of
//! a change.

mod backoff;
mod dbus;
mod dhcp_driver;
mod health_log;
mod repair;
mod setup;
mod status_line;
mod supervisor;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::api::status::STATUS_FILE;
use crate::config::DEFAULT_PATH;
use crate::exit;

pub use crate::service::Notifier;
pub use setup::{Setup, SetupError};
pub use supervisor::{
    ConfirmWhen, Control, ControlError, ControlRequest, Reply, RunError, Supervisor,
};

/// n3xnet supervisor daemon: applies the node's network profile and keeps
/// it applied (systemd Type=notify service).
#[derive(Debug, Parser)]
#[command(name = "n3xnetd", version, about, after_help = exit::help(exit::DAEMON))]
pub struct Args {
    /// Configuration file.
    #[arg(long, short = 'c', value_name = "FILE", default_value = DEFAULT_PATH)]
    pub config: PathBuf,
    /// Supervise the network namespace /run/netns/NAME instead of the
    /// daemon's own (tests, containers).
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
    /// Directory for status.json [default: $RUNTIME_DIRECTORY, which systemd
    /// sets from RuntimeDirectory=; no status file without either].
    #[arg(long, value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
}

/// The whole program: parse the command line, log, run; the exit code.
pub fn main() -> ExitCode {
    crate::service::main("n3xnetd", run)
}

/// Runs the daemon with `args` until it stops; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let setup = match Setup::load(&args.config) {
        Ok(s) => s,
        Err(e) => {
            crate::service::cannot_start(&e);
            return e.exit_code();
        }
    };
    let runtime = match crate::service::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let status_file = crate::service::runtime_file(args.runtime_dir.as_deref(), STATUS_FILE);
    let netns = args.netns.as_deref();
    let result = runtime.block_on(async {
        let state_dir = crate::service::state_dir();
        let (supervisor, control) =
            Supervisor::start(setup, netns, Notifier::from_env(), status_file, &state_dir)?;
        tokio::spawn(supervisor::forward_hangups(control.clone())?);
        tokio::spawn(dbus::serve(control.clone()));
        supervisor.run().await
    });
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!("{e}");
            match e {
                RunError::Netlink(e) => exit::of_netlink(&e),
                RunError::Signal(..) => exit::SOFTWARE,
            }
        }
    }
}
