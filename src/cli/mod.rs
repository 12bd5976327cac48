//! `n3xnetctl`: the operator's window and the offline tools.

mod confirm;
mod daemon;
mod error;
mod k3s_flags;
mod plan_apply;
mod profile_args;
mod render;
mod status;
mod supervised;
mod validate;
mod wait_online;

use std::future::Future;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::change::pending::Event;
use crate::exit;
pub use error::Failure;
pub use profile_args::ProfileArgs;

// The about line is the doc comment, not the crate's description (no bare
// `about`): that one is about both binaries, and it is the man page's NAME.
/// n3xnet control: validate, plan and apply node network profiles; inspect
/// and render them for k3s and systemd-networkd.
#[derive(Debug, Parser)]
#[command(name = "n3xnetctl", version, after_help = exit::help(exit::CTL))]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check profiles and report every problem at once (exit 0 valid, 65 invalid, 66 unreadable).
    Validate(validate::Args),
    /// Print the k3s flags that agree with the node's network (n3x's rule).
    K3sFlags(k3s_flags::Args),
    /// Render the profile for other tools: systemd-networkd, Multus, or the desired state.
    Render(render::Args),
    /// Show what apply would change (exit 0 nothing to do, 2 changes pending).
    Plan(plan_apply::Args),
    /// Apply the profile to this node, all or nothing, one writer at a time (exit 0 applied or in
    /// sync, 1 rolled back, 75 another writer holds the namespace, 79 n3xnetd supervises it with
    /// another profile, 80 a confirmed change is pending).
    Apply(plan_apply::ApplyArgs),
    /// Compare the kernel with the profile, attribute by attribute (exit 0 in sync, 1 drift).
    Check(plan_apply::Args),
    /// Show the node's network: n3xnetd's health and drift over D-Bus when it runs, and the
    /// kernel's links, bond ports and LACP state, addresses and routes.
    Status(status::Args),
    /// Ask n3xnetd to stop repairing drift (it still reports it) until `resume` (root).
    Pause,
    /// Ask n3xnetd to repair again, reconciling now (root).
    Resume,
    /// Ask n3xnetd to re-read its configuration and profile (exit 65: invalid, old one kept; 80 a
    /// confirmed change is pending) (root).
    Reload(daemon::ReloadArgs),
    /// Keep the pending confirmed change, n3xnetctl apply's or n3xnetd's (exit 81: none pending,
    /// it was reverted) (root).
    Confirm(confirm::StateArgs),
    /// Revert the pending confirmed change now, n3xnetctl apply's (also when its watcher is gone)
    /// or n3xnetd's (exit 81: none pending) (root).
    Rollback(confirm::StateArgs),
    /// Ask n3xnetd to apply the profile now, whatever the drift policy and backoff (root).
    Reconcile,
    /// Wait until n3xnetd says the node is online (exit 0), or fail naming what blocks it (exit 1 on timeout).
    WaitOnline(wait_online::Args),
    /// The watcher of `apply --confirm-within`'s change (started by it, detached).
    #[command(hide = true)]
    WatchChange(confirm::WatchArgs),
}

/// Parses the command line and runs the command; returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let (name, result) = match cli.command {
        Command::Validate(a) => ("validate", validate::run(&a)),
        Command::K3sFlags(a) => ("k3s-flags", k3s_flags::run(&a)),
        Command::Render(a) => ("render", render::run(&a)),
        Command::Plan(a) => ("plan", plan_apply::plan(&a)),
        Command::Apply(a) => ("apply", plan_apply::apply(&a)),
        Command::Check(a) => ("check", plan_apply::check(&a)),
        Command::Status(a) => ("status", status::run(&a)),
        Command::Pause => ("pause", daemon::run(daemon::Request::Pause)),
        Command::Resume => ("resume", daemon::run(daemon::Request::Resume)),
        Command::Reload(a) => ("reload", daemon::reload(&a)),
        Command::Confirm(a) => ("confirm", decide(&a, Event::Confirm)),
        Command::Rollback(a) => ("rollback", decide(&a, Event::Rollback)),
        Command::Reconcile => ("reconcile", daemon::run(daemon::Request::Reconcile)),
        Command::WaitOnline(a) => ("wait-online", wait_online::run(&a)),
        Command::WatchChange(a) => ("watch-change", confirm::watch(&a)),
    };
    ExitCode::from(result.unwrap_or_else(|f| {
        eprintln!("n3xnetctl {name}: {}", f.message);
        f.code
    }))
}

/// `confirm`, `rollback`: of n3xnetctl's change when the journal holds
/// one, else n3xnetd's, over D-Bus.
fn decide(a: &confirm::StateArgs, event: Event) -> Result<u8, Failure> {
    if let Some(code) = confirm::decide(a, event)? {
        return Ok(code);
    }
    let asked = daemon::run(match event {
        Event::Rollback => daemon::Request::Rollback,
        _ => daemon::Request::Confirm,
    });
    match asked {
        // Neither has a change: say that, not only who is missing.
        Err(f) if f.code == exit::UNAVAILABLE && !a.journal().path.exists() => Err(Failure::new(
            exit::NOTHING_PENDING,
            format!(
                "no confirmed change is pending: no journal in {}, and {}",
                a.state_dir.display(),
                f.message
            ),
        )),
        asked => asked,
    }
}

/// Runs `f` on a single-threaded runtime ([`crate::runtime`]).
fn block_on<F: Future>(f: F) -> Result<F::Output, Failure> {
    let rt = crate::runtime::current_thread()
        .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot start the runtime: {e}")))?;
    Ok(rt.block_on(f))
}
