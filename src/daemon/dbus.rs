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
//! rarely. A lost connection is re-established the same way.
//!
//! The interface's names, errors and client proxy are the contract with
//! `n3xnetctl`: they live in [`crate::api::bus`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zbus::fdo::RequestNameReply;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Value;
use zbus::Connection;

use super::bus_socket;
use super::supervisor::{Control, ControlError};
use crate::api::bus::{MethodError, BUS_NAME, OBJECT_PATH};
use crate::api::status::DaemonStatus;

/// The first wait before connecting again, and the longest.
const RETRY_FIRST: Duration = Duration::from_secs(10);
const RETRY_MAX: Duration = Duration::from_secs(300);

/// A property: its D-Bus name and its value in a status.
type Property = (&'static str, fn(&DaemonStatus) -> Value<'static>);

/// Every property, for `PropertiesChanged` (the getters below use the same
/// functions, so a signal never disagrees with a `Get`).
const PROPERTIES: [Property; 11] = [
    ("State", |s| Value::from(state(s))),
    ("Node", |s| Value::from(s.node.clone())),
    ("Profile", |s| Value::from(profile(s))),
    ("Ready", |s| Value::from(s.ready)),
    ("Paused", |s| Value::from(s.paused)),
    ("Status", |s| Value::from(s.status.clone())),
    ("Online", |s| Value::from(online(s))),
    ("Overall", |s| Value::from(overall(s))),
    ("HealthJson", |s| Value::from(health_json(s))),
    ("StatusJson", |s| Value::from(status_json(s))),
    ("Pid", |s| Value::from(s.pid)),
];

fn state(s: &DaemonStatus) -> &'static str {
    s.phase.as_str()
}

fn profile(s: &DaemonStatus) -> String {
    s.profile.display().to_string()
}

fn online(s: &DaemonStatus) -> bool {
    s.health.as_ref().is_some_and(|h| h.online)
}

/// `ok`, `degraded`, `down`, or `unknown` before the first read of the
/// kernel.
fn overall(s: &DaemonStatus) -> &'static str {
    s.health.as_ref().map_or("unknown", |h| h.level.as_str())
}

/// The health as JSON (as `health` in `status.json`);
/// `null` before the first read of the kernel.
fn health_json(s: &DaemonStatus) -> String {
    serde_json::to_string(&s.health).unwrap_or_else(|e| json_error(&e))
}

/// The whole status, as in `status.json`.
fn status_json(s: &DaemonStatus) -> String {
    serde_json::to_string(s).unwrap_or_else(|e| json_error(&e))
}

/// Serializing our own plain types cannot fail; if it ever did, readers
/// get valid JSON saying why rather than a broken property.
fn json_error(e: &serde_json::Error) -> String {
    serde_json::json!({ "error": e.to_string() }).to_string()
}

/// The object at [`OBJECT_PATH`].
struct Net1Object {
    control: Control,
    status: watch::Receiver<Arc<DaemonStatus>>,
}

impl Net1Object {
    fn now(&self) -> Arc<DaemonStatus> {
        self.status.borrow().clone()
    }
}

#[zbus::interface(name = "io.n3x.Net1")]
impl Net1Object {
    /// Re-reads the configuration and the profile; applies valid ones as a
    /// minimal diff (not while paused), keeps the running ones otherwise.
    async fn reload(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), MethodError> {
        log_caller("reload", &header, conn).await;
        self.control.reload().await.map_err(method_error)
    }

    /// Applies the profile now, whatever the drift policy and the backoff.
    async fn reconcile(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), MethodError> {
        log_caller("reconcile", &header, conn).await;
        self.control.reconcile().await.map_err(method_error)
    }

    /// Stops repairing drift until `Resume`.
    async fn pause(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), MethodError> {
        log_caller("pause", &header, conn).await;
        self.control.pause().await.map_err(method_error)
    }

    /// Repairs again, reconciling now.
    async fn resume(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), MethodError> {
        log_caller("resume", &header, conn).await;
        self.control.resume().await.map_err(method_error)
    }

    /// `starting`, `running`, `reloading` or `stopped`.
    #[zbus(property)]
    fn state(&self) -> &'static str {
        state(&self.now())
    }

    #[zbus(property)]
    fn node(&self) -> String {
        self.now().node.clone()
    }

    #[zbus(property)]
    fn profile(&self) -> String {
        profile(&self.now())
    }

    /// `READY=1` was sent.
    #[zbus(property)]
    fn ready(&self) -> bool {
        self.now().ready
    }

    #[zbus(property)]
    fn paused(&self) -> bool {
        self.now().paused
    }

    /// The `STATUS=` line.
    #[zbus(property)]
    fn status(&self) -> String {
        self.now().status.clone()
    }

    /// The online set holds.
    #[zbus(property)]
    fn online(&self) -> bool {
        online(&self.now())
    }

    #[zbus(property)]
    fn overall(&self) -> &'static str {
        overall(&self.now())
    }

    #[zbus(property)]
    fn health_json(&self) -> String {
        health_json(&self.now())
    }

    #[zbus(property)]
    fn status_json(&self) -> String {
        status_json(&self.now())
    }

    /// The daemon's process id (in its own pid namespace).
    #[zbus(property)]
    fn pid(&self) -> u32 {
        self.now().pid
    }

    /// The health changed: the new health as JSON, whether the node is
    /// online, the overall level and the one-line summary.
    #[zbus(signal)]
    async fn health_changed(
        emitter: &SignalEmitter<'_>,
        health_json: &str,
        online: bool,
        overall: &str,
        summary: &str,
    ) -> zbus::Result<()>;
}

/// The D-Bus error of a refused or failed command, by what went wrong.
fn method_error(e: ControlError) -> MethodError {
    match e {
        ControlError::Stopped => MethodError::Stopped(e.to_string()),
        ControlError::Invalid(m) => MethodError::Invalid(m),
        ControlError::Refused(m) | ControlError::Failed(m) => MethodError::Failed(m),
    }
}

/// Logs who asked for `what` (uid and pid, as the bus vouches for them):
/// an operator's hand on the node's network belongs in its journal.
async fn log_caller(what: &str, header: &Header<'_>, conn: &Connection) {
    let creds = async {
        let sender = header.sender().ok_or(zbus::Error::MissingField)?;
        zbus::fdo::DBusProxy::new(conn)
            .await?
            .get_connection_credentials(sender.clone().into())
            .await
            .map_err(zbus::Error::from)
    };
    match creds.await {
        Ok(c) => tracing::info!(
            uid = c.unix_user_id(),
            pid = c.process_id(),
            "D-Bus: {what} requested by uid {} pid {}",
            c.unix_user_id().map_or("?".to_owned(), |u| u.to_string()),
            c.process_id().map_or("?".to_owned(), |p| p.to_string()),
        ),
        Err(e) => tracing::info!("D-Bus: {what} requested (caller unknown: {e})"),
    }
}

/// Serves `io.n3x.Net1` for as long as the supervisor runs, (re)connecting
/// with backoff whenever there is no bus. Spawn it beside the supervisor.
pub async fn serve(control: Control) {
    let mut retry = RETRY_FIRST;
    let mut failing = false;
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
                tokio::select! {
                    r = forward(&conn, control.status()) => match r {
                        // The supervisor has stopped.
                        Ok(()) => return,
                        Err(e) => tracing::warn!("D-Bus: cannot emit a signal: {e}; reconnecting"),
                    },
                    () = conn.closed() => tracing::warn!("D-Bus: the system bus closed the connection; reconnecting"),
                }
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
        wait_for_bus(retry).await;
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Sleeps `retry`, or less if the bus's socket appears meanwhile (boot:
/// `dbus.socket` comes after us).
async fn wait_for_bus(retry: Duration) {
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
        () = tokio::time::sleep(retry) => {}
        () = created => {}
    }
}

/// Connects, serves the object and asks for the name (queued behind an
/// owner, never replacing it).
async fn connect(control: &Control) -> zbus::Result<(Connection, RequestNameReply)> {
    let net1 = Net1Object {
        control: control.clone(),
        status: control.status(),
    };
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
