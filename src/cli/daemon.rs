//! Talking to the running `n3xnetd` over D-Bus (`io.n3x.Net1` on the
//! system bus; `DBUS_SYSTEM_BUS_ADDRESS` overrides where that is):
//! `pause`, `resume`, `reload`, `reconcile`, and the connection `status`
//! uses.
//!
//! Exit codes: 0 done; 1 the daemon refused or the apply failed; 65
//! `reload` found the configuration or profile invalid (the running one
//! is kept); 69 n3xnetd is not running (no bus, or nobody owns the name);
//! 77 the bus policy denied it (methods are root's); 74 any other D-Bus
//! error.

use std::time::Duration;

use zbus::proxy::CacheProperties;
use zbus::DBusError as _;

use crate::daemon::{Net1Proxy, BUS_NAME};

use super::profile_args::Failure;
use super::{block_on, exit};

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
    fn name(self) -> &'static str {
        match self {
            Request::Pause => "pause",
            Request::Resume => "resume",
            Request::Reload => "reload",
            Request::Reconcile => "reconcile",
        }
    }

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
pub fn run(request: Request) -> u8 {
    let result = block_on(async {
        let proxy = connect().await?;
        let call = match request {
            Request::Pause => proxy.pause().await,
            Request::Resume => proxy.resume().await,
            Request::Reload => proxy.reload().await,
            Request::Reconcile => proxy.reconcile().await,
        };
        call.map_err(failure)
    });
    match result.and_then(|r| r) {
        Ok(()) => {
            println!("{}", request.done());
            exit::OK
        }
        Err(f) => {
            eprintln!("n3xnetctl {}: {}", request.name(), f.message);
            f.code
        }
    }
}

/// A proxy of the daemon's object on the system bus. Connecting succeeds
/// without a daemon (the bus answers); the first call tells.
pub async fn connect() -> Result<Net1Proxy<'static>, Failure> {
    let conn = zbus::connection::Builder::system()
        .map(|b| b.method_timeout(METHOD_TIMEOUT))
        .map_err(|e| not_running(&format!("no system bus: {e}")))?
        .build()
        .await
        .map_err(|e| not_running(&format!("no system bus: {e}")))?;
    Net1Proxy::builder(&conn)
        .cache_properties(CacheProperties::No)
        .build()
        .await
        .map_err(failure)
}

fn not_running(why: &str) -> Failure {
    Failure {
        code: exit::UNAVAILABLE,
        message: format!("n3xnetd is not running ({why})"),
    }
}

/// The exit code and message of a D-Bus error.
pub fn failure(e: zbus::Error) -> Failure {
    let (name, detail) = match &e {
        zbus::Error::MethodError(name, detail, _) => {
            (name.to_string(), detail.clone().unwrap_or_default())
        }
        zbus::Error::FDO(f) => (
            f.name().to_string(),
            f.description().unwrap_or_default().to_owned(),
        ),
        _ => {
            return Failure {
                code: exit::IO,
                message: format!("D-Bus: {e}"),
            }
        }
    };
    let (code, message) = match name.as_str() {
        "org.freedesktop.DBus.Error.AccessDenied" => (
            exit::NO_PERM,
            format!("permission denied: the bus policy lets only root call n3xnetd's methods ({detail})"),
        ),
        "org.freedesktop.DBus.Error.ServiceUnknown" | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
            return not_running(&format!("{BUS_NAME} is not on the system bus"))
        }
        "io.n3x.Net1.Error.Invalid" => (
            exit::INVALID_PROFILE,
            format!("the running profile is kept:\n{detail}"),
        ),
        "io.n3x.Net1.Error.Failed" => (exit::DRIFT_OR_FAILED, detail),
        _ => (exit::IO, format!("D-Bus: {name}: {detail}")),
    };
    Failure { code, message }
}
