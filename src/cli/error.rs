//! How a command fails: an exit code ([`crate::exit`]) and a message,
//! printed once, by [`super::main`], as `n3xnetctl <command>: <message>`.
//! Each lower layer's error converts with the code it earns.

use zbus::DBusError as _;

use crate::api::bus::{error_name, BUS_NAME};
use crate::engine::EngineError;
use crate::exit;
use crate::netlink::NetlinkError;
use crate::profile::LoadError;
use crate::trust::TrustError;

#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// n3xnetd is not there to answer.
    pub fn not_running(why: &str) -> Failure {
        Failure::new(exit::UNAVAILABLE, format!("n3xnetd is not running ({why})"))
    }
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        let code = match e {
            LoadError::Io { .. } => exit::NO_INPUT,
            LoadError::Invalid(_) => exit::INVALID_PROFILE,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<TrustError> for Failure {
    fn from(e: TrustError) -> Self {
        let code = match e {
            TrustError::Io { .. } => exit::NO_INPUT,
            TrustError::Untrusted { .. } => exit::NO_PERM,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::new(exit::of_engine(&e), e.to_string())
    }
}

impl From<NetlinkError> for Failure {
    fn from(e: NetlinkError) -> Self {
        Failure::new(exit::of_netlink(&e), e.to_string())
    }
}

/// A D-Bus error from n3xnetd or the bus: n3xnetd's own errors by their
/// name, the bus's refusals as permission denied or "not running".
impl From<zbus::Error> for Failure {
    fn from(e: zbus::Error) -> Self {
        let (name, detail) = match &e {
            zbus::Error::MethodError(name, detail, _) => {
                (name.to_string(), detail.clone().unwrap_or_default())
            }
            zbus::Error::FDO(f) => (
                f.name().to_string(),
                f.description().unwrap_or_default().to_owned(),
            ),
            _ => return Failure::new(exit::IO, format!("D-Bus: {e}")),
        };
        match name.as_str() {
            "org.freedesktop.DBus.Error.AccessDenied" => Failure::new(
                exit::NO_PERM,
                format!(
                    "permission denied: the bus policy lets only root call n3xnetd's methods \
                     ({detail})"
                ),
            ),
            "org.freedesktop.DBus.Error.ServiceUnknown"
            | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
                Failure::not_running(&format!("{BUS_NAME} is not on the system bus"))
            }
            error_name::INVALID => Failure::new(
                exit::INVALID_PROFILE,
                format!("the running profile is kept:\n{detail}"),
            ),
            error_name::FAILED => Failure::new(exit::DRIFT_OR_FAILED, detail),
            error_name::STOPPED => Failure::not_running("it is stopping"),
            error_name::PENDING => Failure::new(exit::CHANGE_PENDING, detail),
            error_name::NOT_PENDING => Failure::new(exit::NOTHING_PENDING, detail),
            _ => Failure::new(exit::IO, format!("D-Bus: {name}: {detail}")),
        }
    }
}
