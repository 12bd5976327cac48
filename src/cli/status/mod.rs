//! `n3xnetctl status`: the node's network. When n3xnetd runs (for the same
//! network namespace), its view over D-Bus first: state, health, drift,
//! last apply; then, and otherwise alone, the kernel read in one dump:
//! links with bond ports and LACP state, VLANs, addresses, routes and
//! whether there is a default route. `--watch` follows the daemon's
//! `HealthChanged` signal instead.

mod daemon;
mod kernel;
mod watch;

use serde::Serialize;

use std::path::PathBuf;

use crate::api::report::{ReportStatus, DEFAULT_REPORT_DIR, REPORT_FILE};
use crate::api::status::DaemonStatus;
use crate::exit;
use crate::state::{KernelState, STATE_SCHEMA_VERSION};

use super::confirm::{self, StateArgs};
use super::plan_apply::{with_handle, Target};
use super::{block_on, Failure};
use crate::api::status::ChangeStatus;
use daemon::{render_ctl_change, render_daemon, render_report};
use kernel::{has_default_route, render};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Follow n3xnetd's health: the current one, then a line per change (with --json one
    /// JSON object per line) until interrupted. Needs a running n3xnetd (exit 69 otherwise).
    #[arg(long)]
    pub watch: bool,
    /// Read the kernel only, even when n3xnetd runs.
    #[arg(long, conflicts_with = "watch")]
    pub kernel: bool,
    /// n3xnet-report's runtime directory: its report.json (Kubernetes
    /// feedback, NFD and Prometheus files) is shown with n3xnetd's status.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_REPORT_DIR)]
    pub report_dir: PathBuf,
    /// Where `apply --confirm-within` journals its change: shown when one is there.
    #[command(flatten)]
    pub state: StateArgs,
}

/// `n3xnetctl apply --confirm-within`'s change in `status --json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CtlChange<'a> {
    #[serde(flatten)]
    change: &'a ChangeStatus,
    /// Its watcher runs; `false` while pending: an orphan, which only
    /// `n3xnetctl rollback` or `confirm` ends.
    watched: bool,
}

/// `status --json`, schema version [`STATE_SCHEMA_VERSION`]: the
/// [`KernelState`] fields plus a summary and, when n3xnetd answered
/// (`source: "daemon"`), its status as in `status.json`; fields are only
/// ever added within one version.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut<'a> {
    schema_version: u32,
    /// `daemon` when n3xnetd answered over D-Bus, `kernel` otherwise.
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_default_route: Option<bool>,
    #[serde(flatten)]
    state: Option<&'a KernelState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    daemon: Option<&'a DaemonStatus>,
    /// n3xnet-report's `report.json`, when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a ReportStatus>,
    /// Why the kernel could not be read when the daemon answered anyway
    /// (an unprivileged caller cannot enter another network namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_error: Option<&'a str>,
    /// `n3xnetctl apply --confirm-within`'s change, pending or the record
    /// of its revert.
    #[serde(skip_serializing_if = "Option::is_none")]
    change: Option<CtlChange<'a>>,
}

pub fn run(a: &Args) -> Result<u8, Failure> {
    let netns = a.target.netns.as_deref();
    if a.watch {
        block_on(watch::watch(netns, a.target.json))??;
        return Ok(exit::OK);
    }
    let daemon = if a.kernel {
        Err("--kernel given".to_owned())
    } else {
        block_on(daemon_status(netns))?.map_err(|f| f.message)
    };
    let state = with_handle(netns, async |h| h.dump().await);
    // Without the daemon the kernel is all there is: its failure is ours.
    let state = match (&daemon, state) {
        (_, Ok(s)) => Ok(s),
        (Ok(_), Err(f)) => Err(f.message),
        (Err(_), Err(f)) => return Err(f),
    };
    let kernel = state.as_ref().ok();
    let ctl_change = confirm::status(&a.state);
    let report = daemon
        .as_ref()
        .ok()
        .and_then(|_| read_report(&a.report_dir.join(REPORT_FILE)));
    if a.target.json {
        let out = StatusOut {
            schema_version: STATE_SCHEMA_VERSION,
            source: if daemon.is_ok() { "daemon" } else { "kernel" },
            netns,
            has_default_route: kernel.map(has_default_route),
            state: kernel,
            daemon: daemon.as_ref().ok(),
            report: report.as_ref(),
            kernel_error: state.as_ref().err().map(String::as_str),
            change: ctl_change.as_ref().map(|(change, watched)| CtlChange {
                change,
                watched: *watched,
            }),
        };
        let s = serde_json::to_string_pretty(&out)
            .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot encode JSON: {e}")))?;
        println!("{s}");
        return Ok(exit::OK);
    }
    match &daemon {
        Ok(d) => println!(
            "{}{}",
            render_daemon(d),
            report.as_ref().map(render_report).unwrap_or_default()
        ),
        Err(why) => println!("from the kernel; {why}\n"),
    }
    if let Some((c, watched)) = &ctl_change {
        println!("change   {}\n", render_ctl_change(c, *watched));
    }
    match &state {
        Ok(s) => print!("{}", render(s)),
        Err(e) => println!("kernel not read: {e}"),
    }
    Ok(exit::OK)
}

/// n3xnet-report's status, if it runs (its file is there) and is readable.
fn read_report(path: &std::path::Path) -> Option<ReportStatus> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// n3xnetd's status over D-Bus (its `status.json`), if it runs and
/// supervises `netns` (`None`: its own namespace). The inner `Err` says why
/// not, for the fallback's header; the outer one is a runtime failure.
pub(super) async fn daemon_status(netns: Option<&str>) -> Result<DaemonStatus, Failure> {
    let proxy = super::daemon::connect().await?;
    let json = proxy.status_json().await?;
    let status: DaemonStatus = serde_json::from_str(&json).map_err(|e| {
        Failure::new(
            exit::IO,
            format!("n3xnetd sent a status this n3xnetctl cannot read: {e}"),
        )
    })?;
    let theirs = status.netns.as_deref();
    if theirs != netns {
        return Err(Failure {
            code: exit::UNAVAILABLE,
            message: match theirs {
                Some(n) => format!("n3xnetd supervises the network namespace {n}"),
                None => "n3xnetd supervises its own network namespace".to_owned(),
            },
        });
    }
    Ok(status)
}
