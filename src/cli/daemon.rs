//! Talking to the running `n3xnetd` over D-Bus (`io.n3x.Net1` on the
//! system bus; `DBUS_SYSTEM_BUS_ADDRESS` overrides where that is):
//! `pause`, `resume`, `reload`, `reconcile`, and the connection `status`
//! uses.
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
        }
        .map_err(Failure::from)
    })??;
    println!("{}", request.done());
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
