//! The object `/io/n3x/Net1`: its properties, read from the status the
//! supervisor publishes, its methods, answered through [`Control`], and
//! the `HealthChanged` signal. The connection it lives on is the business
//! of [`super`].

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Value;
use zbus::Connection;

use crate::api::bus::MethodError;
use crate::api::status::DaemonStatus;
use crate::daemon::supervisor::{ConfirmWhen, Control, ControlError};

/// A property: its D-Bus name and its value in a status.
pub(super) type Property = (&'static str, fn(&DaemonStatus) -> Value<'static>);

/// Every property, for `PropertiesChanged` (the getters below use the same
/// functions, so a signal never disagrees with a `Get`).
pub(super) const PROPERTIES: [Property; 12] = [
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
    ("ChangeJson", |s| Value::from(change_json(s))),
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
pub(super) fn health_json(s: &DaemonStatus) -> String {
    serde_json::to_string(&s.health).unwrap_or_else(|e| json_error(&e))
}

/// The confirmed change as JSON, `null` without one.
fn change_json(s: &DaemonStatus) -> String {
    serde_json::to_string(&s.change).unwrap_or_else(|e| json_error(&e))
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
pub(super) struct Net1Object {
    control: Control,
    status: watch::Receiver<Arc<DaemonStatus>>,
}

impl Net1Object {
    pub(super) fn new(control: &Control) -> Net1Object {
        Net1Object {
            control: control.clone(),
            status: control.status(),
        }
    }

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

    /// A reload whose change reverts after `within_ms` unless kept:
    /// `when` is `confirmed` (kept by `Confirm`), `reachable` (kept once
    /// the profile's targets answer) or `reachable=HOST:PORT`.
    async fn reload_confirmed(
        &self,
        within_ms: u64,
        when: &str,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), MethodError> {
        log_caller("reload with confirmation", &header, conn).await;
        let when = ConfirmWhen::parse(when).map_err(MethodError::Invalid)?;
        self.control
            .reload_confirmed(Duration::from_millis(within_ms), when)
            .await
            .map_err(method_error)
    }

    /// Keeps the pending change.
    async fn confirm(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), MethodError> {
        log_caller("confirm", &header, conn).await;
        self.control.confirm().await.map_err(method_error)
    }

    /// Reverts the pending change now.
    async fn rollback(
        &self,
        #[zbus(header)] header: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), MethodError> {
        log_caller("rollback", &header, conn).await;
        self.control.rollback().await.map_err(method_error)
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
    pub(super) fn health_json(&self) -> String {
        health_json(&self.now())
    }

    #[zbus(property)]
    fn status_json(&self) -> String {
        status_json(&self.now())
    }

    /// The confirmed change (pending, reverting, reverted or revert
    /// failed) as JSON (as `change` in `status.json`); `null` without one.
    #[zbus(property)]
    fn change_json(&self) -> String {
        change_json(&self.now())
    }

    /// The daemon's process id (in its own pid namespace).
    #[zbus(property)]
    fn pid(&self) -> u32 {
        self.now().pid
    }

    /// The health changed: the new health as JSON, whether the node is
    /// online, the overall level and the one-line summary.
    #[zbus(signal)]
    pub(super) async fn health_changed(
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
        ControlError::Pending(m) => MethodError::Pending(m),
        ControlError::NotPending(m) => MethodError::NotPending(m),
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
