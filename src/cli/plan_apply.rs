//! `plan`, `apply`, `check`: a profile against the kernel, each on one
//! node, optionally inside a named network namespace; `apply` through the
//! transactional [`crate::engine`], holding the namespace's writer lock
//! ([`crate::engine::lock`]), and only after asking n3xnetd's status
//! whether it supervises the namespace with another network
//! ([`super::supervised`]). `plan` and `check` only read: no lock.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::desired::DesiredNetwork;
use crate::engine::{self, ApplyOptions, EngineError};
use crate::netlink::Handle;
use crate::plan::{self, CheckRow, Op};

use super::confirm::{self, Begin};
use super::profile_args::ProfileArgs;
use super::{supervised, Failure};
use crate::api::status::DEFAULT_RUNTIME_DIR;
use crate::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub target: Target,
}

/// `apply`'s own options beside the profile and the target.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub common: Args,
    /// While another writer (n3xnetctl, n3xnetd) holds the namespace, wait
    /// up to SECS seconds for it, then exit 75 (0: do not wait).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub wait: u64,
    /// Exit 75 at once while another writer holds the namespace.
    #[arg(long, conflicts_with = "wait")]
    pub no_wait: bool,
    /// Apply even though n3xnetd supervises the namespace with another
    /// profile and is not paused (an enforcing n3xnetd repairs it back).
    #[arg(long)]
    pub force: bool,
    /// n3xnetd's runtime directory (where its status.json is).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_RUNTIME_DIR)]
    pub runtime_dir: PathBuf,
    #[command(flatten)]
    pub confirm: confirm::ConfirmArgs,
}

/// Where and how the command reads and writes the kernel.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Act inside the named network namespace (/run/netns/NAME).
    #[arg(long, value_name = "NAME")]
    pub netns: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `f` with an open netlink handle (see [`super::block_on`]).
pub fn with_handle<T, E: Into<EngineError>>(
    netns: Option<&str>,
    f: impl AsyncFnOnce(&Handle) -> Result<T, E>,
) -> Result<T, Failure> {
    Ok(super::block_on(async {
        let handle = Handle::open(netns)?;
        f(&handle).await.map_err(Into::into)
    })??)
}

fn print_json(v: &impl Serialize) -> Result<(), Failure> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot encode JSON: {e}")))?;
    println!("{s}");
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanOut<'a> {
    node: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    changes: usize,
    ops: &'a [Op],
}

/// `plan`: exit 0 when in sync, 2 when changes are pending.
pub fn plan(a: &Args) -> Result<u8, Failure> {
    let (_, desired) = a.profile.resolve()?;
    let state = with_handle(a.target.netns.as_deref(), async |h| h.dump().await)?;
    let p = plan::plan(&desired, &state).map_err(EngineError::from)?;
    if a.target.json {
        print_json(&PlanOut {
            node: &desired.node,
            netns: a.target.netns.as_deref(),
            changes: p.ops.len(),
            ops: &p.ops,
        })?;
    } else if p.is_empty() {
        println!("{}: in sync, nothing to do", desired.node);
    } else {
        println!("{}: {} change(s):", desired.node, p.ops.len());
        for op in &p.ops {
            println!("  {op}");
        }
    }
    Ok(if p.is_empty() {
        exit::OK
    } else {
        exit::CHANGES_PENDING
    })
}

/// `apply`: one transactional apply; exit 0 applied or in sync, 1 rolled
/// back, 75 another writer kept the namespace, 79 n3xnetd supervises it
/// with another profile (or at all, for a confirmed change), 80 a
/// confirmed change is pending. With `--confirm-within`, a confirmed
/// change ([`confirm`]).
pub fn apply(aa: &ApplyArgs) -> Result<u8, Failure> {
    let a = &aa.common;
    let netns = a.target.netns.as_deref();
    crate::trust::check(&a.profile.profile)?;
    let (profile, desired) = a.profile.resolve()?;
    confirm::may_change(&aa.confirm.state.journal())?;
    let begin = match aa.confirm.confirm_within {
        Some(within) => {
            supervised::refuse_confirmed(&aa.runtime_dir, netns)?;
            let defaults = crate::change::reach::default_targets(&profile.profile, &desired);
            Some(Begin {
                args: &aa.confirm,
                within,
                netns,
                digest: desired.digest(),
                targets: Begin::targets(aa.confirm.confirm_when.as_ref(), &defaults)?,
            })
        }
        None => {
            supervised::check(&aa.runtime_dir, netns, &desired, aa.force)?;
            None
        }
    };
    let wait = Duration::from_secs(if aa.no_wait { 0 } else { aa.wait });
    let opts = ApplyOptions::default();
    let mut refused = None;
    let r = with_handle(netns, async |h| {
        // Before the engine's dump: a writer that waited plans afresh.
        let lock = engine::lock::acquire(h.netns(), Some(wait)).await?;
        match &begin {
            None => engine::apply(h, &desired, &opts, &lock).await,
            Some(b) => {
                let journal = |undo| b.journal(undo, &mut refused);
                engine::apply_journalled(h, &desired, &opts, &lock, journal).await
            }
        }
    });
    let r = match (r, refused) {
        (_, Some(f)) => return Err(f),
        (r, None) => r?,
    };
    if begin.is_some() && !r.outcome.converged() {
        confirm::applied(&aa.confirm, r.outcome, a.target.json)?;
    }
    if a.target.json {
        // A failed apply still has a report worth printing whole.
        print_json(&r)?;
    }
    if !r.outcome.converged() {
        eprintln!("n3xnetctl apply: {}", r.summary());
        return Ok(exit::DRIFT_OR_FAILED);
    }
    if !a.target.json {
        for op in &r.applied {
            println!("  {op}");
        }
        println!("{}: {}", desired.node, r.summary());
    }
    if begin.is_some() {
        confirm::applied(&aa.confirm, r.outcome, a.target.json)?;
    }
    Ok(exit::OK)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckOut<'a> {
    node: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    in_sync: bool,
    rows: &'a [CheckRow],
}

/// `check`: one row per desired attribute; exit 0 in sync, 1 drift.
pub fn check(a: &Args) -> Result<u8, Failure> {
    let (_, desired) = a.profile.resolve()?;
    let state = with_handle(a.target.netns.as_deref(), async |h| h.dump().await)?;
    let rows = plan::check(&desired, &state);
    let in_sync = rows.iter().all(|r| r.ok);
    if a.target.json {
        print_json(&CheckOut {
            node: &desired.node,
            netns: a.target.netns.as_deref(),
            in_sync,
            rows: &rows,
        })?;
    } else {
        print_rows(&desired, &rows, in_sync);
    }
    Ok(if in_sync {
        exit::OK
    } else {
        exit::DRIFT_OR_FAILED
    })
}

fn print_rows(desired: &DesiredNetwork, rows: &[CheckRow], in_sync: bool) {
    let width = rows.iter().map(|r| r.path.len()).max().unwrap_or(0);
    for r in rows {
        let mark = if r.ok { "pass" } else { "FAIL" };
        let current = r.current.as_deref().unwrap_or("absent");
        if r.ok {
            println!("[{mark}] {:width$}  {}", r.path, r.desired);
        } else {
            println!(
                "[{mark}] {:width$}  desired {}, current {current}",
                r.path, r.desired
            );
        }
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    if in_sync {
        println!("{}: in sync ({} checks)", desired.node, rows.len());
    } else {
        println!(
            "{}: DRIFT in {failed} of {} checks",
            desired.node,
            rows.len()
        );
    }
}
