//! Talking to the running `n3xnetd` over D-Bus (`io.n3x.Net1` on the
//! system bus; `DBUS_SYSTEM_BUS_ADDRESS` overrides where that is):
//! `pause`, `resume`, `reload` (with `--confirm-within`, a change that
//! reverts unless kept), `confirm`, `rollback`, `reconcile`, and the
//! connection `status` uses.
//!
//! What each D-Bus error earns as exit code is [`Failure`]'s `From`.

use std::time::Duration;

use zbus::proxy::CacheProperties;

use super::{block_on, Failure};
use crate::api::bus::Net1Proxy;
use crate::exit;

/// How long a method may take: a reload or reconcile applies the profile,
/// which takes milliseconds; a daemon not answering by then is stuck.
const METHOD_TIMEOUT: Duration = Duration::from_secs(30);

/// A request to the daemon.
#[derive(Debug, Clone, Copy)]
pub enum Request {
    Pause,
    Resume,
    Reload,
    Reconcile,
    Confirm,
    Rollback,
}

impl Request {
    /// What the daemon does now, for the operator.
    fn done(self) -> &'static str {
        match self {
            Request::Pause => {
                "n3xnetd paused: drift is reported, not repaired, and a reload is checked but \
                 not applied until `n3xnetctl resume`"
            }
            Request::Resume => "n3xnetd resumed: the profile was reconciled",
            Request::Reload => "n3xnetd reloaded the configuration and the profile",
            Request::Reconcile => "n3xnetd reconciled the profile",
            Request::Confirm => "n3xnetd keeps the change",
            Request::Rollback => "n3xnetd reverted the change: the previous profile runs",
        }
    }
}

/// Runs `request` against the daemon; the exit code.
pub fn run(request: Request) -> Result<u8, Failure> {
    block_on(async {
        let proxy = connect().await?;
        match request {
            Request::Pause => proxy.pause().await,
            Request::Resume => proxy.resume().await,
            Request::Reload => proxy.reload().await,
            Request::Reconcile => proxy.reconcile().await,
            Request::Confirm => proxy.confirm().await,
            Request::Rollback => proxy.rollback().await,
        }
        .map_err(Failure::from)
    })??;
    println!("{}", request.done());
    Ok(exit::OK)
}

/// `reload`'s options.
#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    /// Make the reload a confirmed change: n3xnetd reverts to the profile it ran before unless
    /// `n3xnetctl confirm` (or --confirm-when) keeps it within DURATION (`90s`, `2min`, `500ms`).
    /// The change is journalled on disk first, so a crash or reboot reverts it too.
    #[arg(long, value_name = "DURATION", value_parser = confirm_duration)]
    pub confirm_within: Option<Duration>,
    /// What keeps the change besides `n3xnetctl confirm`: `reachable` (the profile's serverApi, or
    /// a peer server's, answering TCP, and its gateway answering ARP) or `reachable=HOST:PORT`.
    #[arg(long, value_name = "WHEN", requires = "confirm_within")]
    pub confirm_when: Option<String>,
}

pub(super) fn confirm_duration(s: &str) -> Result<Duration, String> {
    match crate::config::parse_duration(s) {
        Some(Some(d)) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "found {s:?}, expected a duration above zero like 90s, 2min or 500ms"
        )),
    }
}

/// `reload`, plain or confirmed; the exit code.
pub fn reload(a: &ReloadArgs) -> Result<u8, Failure> {
    let Some(within) = a.confirm_within else {
        return run(Request::Reload);
    };
    let when = a.confirm_when.as_deref().unwrap_or("confirmed");
    let within_ms = u64::try_from(within.as_millis()).unwrap_or(u64::MAX);
    block_on(async {
        connect()
            .await?
            .reload_confirmed(within_ms, when)
            .await
            .map_err(Failure::from)
    })??;
    println!(
        "n3xnetd applied the change; it reverts in {:.1} s unless {}",
        within.as_secs_f64(),
        if when == "confirmed" {
            "`n3xnetctl confirm` keeps it".to_owned()
        } else {
            format!("the network answers ({when}) or `n3xnetctl confirm` keeps it")
        }
    );
    Ok(exit::OK)
}

/// A proxy of the daemon's object on the system bus. Connecting succeeds
/// without a daemon (the bus answers); the first call tells.
pub async fn connect() -> Result<Net1Proxy<'static>, Failure> {
    let conn = zbus::connection::Builder::system()
        .map(|b| b.method_timeout(METHOD_TIMEOUT))
        .map_err(|e| Failure::not_running(&format!("no system bus: {e}")))?
        .build()
        .await
        .map_err(|e| Failure::not_running(&format!("no system bus: {e}")))?;
    Ok(Net1Proxy::builder(&conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await?)
}
