//! The D-Bus front end: `io.n3x.Net1` at `/io/n3x/Net1` on the system bus
//! (`DBUS_SYSTEM_BUS_ADDRESS` overrides where that is, as for every D-Bus
//! client), fed by a [`Control`] like every other front end.
//!
//! Read-only properties mirror the status (`PropertiesChanged` on every
//! change, one signal per change); `HealthChanged` carries the health on
//! every health change; `Reload`, `Reconcile`, `Pause` and `Resume` answer
//! with `io.n3x.Net1.Error.*` carrying the problems, one per line. Who may
//! call what is the bus policy's business
//! (`systemd/dbus-1/system.d/io.n3x.Net1.conf`: methods root only, reads
//! and signals for anyone), not ours.
//!
//! The bus is optional: a daemon without one (early boot, tests, a
//! container) supervises the network all the same, logs once, and tries
//! again as soon as the bus's socket appears (inotify), or after 10 s,
//! doubling up to 5 min, so an idle daemon without a bus wakes up only that
//! rarely. A lost connection is re-established the same way. The socket's
//! file exists from the bus's `bind()`, but connections are refused until
//! its `listen()` a moment later, so a socket that just appeared gets a few
//! quick tries ([`JUST_APPEARED`]) before the timed ones.
//!
//! The interface's names, errors and client proxy are the contract with
//! `n3xnetctl`: they live in [`crate::api::bus`].
mod bus_socket;
mod object;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zbus::fdo::RequestNameReply;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Value;
use zbus::Connection;

use super::supervisor::Control;
use crate::api::bus::{BUS_NAME, OBJECT_PATH};
use crate::api::status::DaemonStatus;
use object::{health_json, Net1Object, PROPERTIES};

/// The first wait before connecting again, and the longest.
const RETRY_FIRST: Duration = Duration::from_secs(10);
const RETRY_MAX: Duration = Duration::from_secs(300);

/// The waits between tries while a socket that just appeared refuses
/// (~1.6 s in all: a loaded machine can hold the bus between its `bind()`
/// and `listen()` that long). Bounded, so a dead socket costs a handful of
/// wakeups, then the timed retries take over.
const JUST_APPEARED: [Duration; 6] = [
    Duration::from_millis(20),
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
];

/// Serves `io.n3x.Net1` for as long as the supervisor runs, (re)connecting
/// with backoff whenever there is no bus. Spawn it beside the supervisor.
pub async fn serve(control: Control) {
    let mut retry = RETRY_FIRST;
    let mut failing = false;
    // The quick tries made since the socket appeared (none left at start:
    // an absent bus is said at once).
    let mut quick = JUST_APPEARED.len();
    loop {
        match connect(&control).await {
            Ok((conn, reply)) => {
                if reply == RequestNameReply::InQueue {
                    tracing::warn!("D-Bus: {BUS_NAME} is owned by another process: queued for it");
                } else {
                    tracing::info!("D-Bus: serving {BUS_NAME} on the system bus");
                }
                failing = false;
                retry = RETRY_FIRST;
                quick = JUST_APPEARED.len();
                tokio::select! {
                    r = forward(&conn, control.status()) => match r {
                        // The supervisor has stopped.
                        Ok(()) => return,
                        Err(e) => tracing::warn!("D-Bus: cannot emit a signal: {e}; reconnecting"),
                    },
                    () = conn.closed() => tracing::warn!("D-Bus: the system bus closed the connection; reconnecting"),
                }
            }
            Err(e) if quick < JUST_APPEARED.len() => {
                tracing::debug!("D-Bus: the bus's new socket refused ({e}); trying again");
                tokio::time::sleep(JUST_APPEARED[quick]).await;
                quick += 1;
                continue;
            }
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(
                    "D-Bus: cannot serve {BUS_NAME} on the system bus ({e}): running without \
                     it, trying again when its socket appears, or in {} s and less and less often",
                    retry.as_secs()
                );
            }
            Err(e) => tracing::debug!("D-Bus: still no system bus: {e}"),
        }
        if wait_for_bus(retry).await {
            quick = 0;
        }
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Sleeps `retry`, or less if the bus's socket appears meanwhile (boot:
/// `dbus.socket` comes after us); `true` if it did.
async fn wait_for_bus(retry: Duration) -> bool {
    let missing = bus_socket::path().filter(|p| !p.exists());
    let created = async {
        match missing {
            Some(socket) => match crate::files::created(&socket).await {
                Ok(()) => {
                    tracing::debug!(socket = %socket.display(), "D-Bus: the bus socket appeared")
                }
                Err(e) => {
                    tracing::debug!("D-Bus: cannot watch for the bus socket: {e}");
                    std::future::pending().await
                }
            },
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = tokio::time::sleep(retry) => false,
        () = created => true,
    }
}

/// Connects, serves the object and asks for the name (queued behind an
/// owner, never replacing it).
async fn connect(control: &Control) -> zbus::Result<(Connection, RequestNameReply)> {
    let net1 = Net1Object::new(control);
    let conn = zbus::connection::Builder::system()?
        .serve_at(OBJECT_PATH, net1)?
        .build()
        .await?;
    let reply = conn
        .request_name_with_flags(BUS_NAME, Default::default())
        .await?;
    Ok((conn, reply))
}

/// Emits `PropertiesChanged` and `HealthChanged` for every status change
/// until the supervisor stops (`Ok`) or emitting fails.
async fn forward(
    conn: &Connection,
    mut rx: watch::Receiver<Arc<DaemonStatus>>,
) -> zbus::Result<()> {
    let emitter = SignalEmitter::new(conn, OBJECT_PATH)?;
    let interface = zbus::names::InterfaceName::from_static_str(BUS_NAME)?;
    let mut prev = rx.borrow_and_update().clone();
    while rx.changed().await.is_ok() {
        let next = rx.borrow_and_update().clone();
        let changed: HashMap<&str, Value<'_>> = PROPERTIES
            .iter()
            .filter_map(|(name, value)| {
                let v = value(&next);
                (value(&prev) != v).then_some((*name, v))
            })
            .collect();
        if !changed.is_empty() {
            zbus::fdo::Properties::properties_changed(
                &emitter,
                interface.clone(),
                changed,
                Cow::Borrowed(&[]),
            )
            .await?;
        }
        if let Some(health) = next
            .health
            .as_ref()
            .filter(|h| prev.health.as_ref() != Some(h))
        {
            Net1Object::health_changed(
                &emitter,
                &health_json(&next),
                health.online,
                health.level.as_str(),
                &health.summary,
            )
            .await?;
        }
        prev = next;
    }
    Ok(())
}
