//! The D-Bus interface `io.n3x.Net1` at `/io/n3x/Net1` on the system bus,
//! as both ends see it: the names, the method errors and the client proxy
//! ([`Net1Proxy`], generated from [`Net1`]). The daemon serves it
//! (`daemon::dbus`); `n3xnetctl` calls it and turns each error name into
//! its exit code.

/// The well-known name, the object path and the interface (the same name).
pub const BUS_NAME: &str = "io.n3x.Net1";
pub const OBJECT_PATH: &str = "/io/n3x/Net1";

/// The method errors' names, for clients matching on them.
pub mod error_name {
    /// `Reload`: the configuration or the profile is invalid.
    pub const INVALID: &str = "io.n3x.Net1.Error.Invalid";
    /// The supervisor refused or the apply failed.
    pub const FAILED: &str = "io.n3x.Net1.Error.Failed";
    /// The daemon is stopping: nothing was done.
    pub const STOPPED: &str = "io.n3x.Net1.Error.Stopped";
    /// A confirmed change is pending: no other change until it is
    /// confirmed or rolled back.
    pub const PENDING: &str = "io.n3x.Net1.Error.Pending";
    /// `Confirm`, `Rollback`: no confirmed change is pending.
    pub const NOT_PENDING: &str = "io.n3x.Net1.Error.NotPending";
}

/// The errors of the methods, `io.n3x.Net1.Error.<variant>`, each with the
/// problems as its message, one per line.
#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "io.n3x.Net1.Error")]
pub enum MethodError {
    #[zbus(error)]
    ZBus(zbus::Error),
    /// `Reload`: the configuration or the profile is invalid; the running
    /// profile is kept.
    Invalid(String),
    /// The supervisor refused (paused) or the apply failed.
    Failed(String),
    /// The daemon is stopping: nothing was done.
    Stopped(String),
    /// A confirmed change is pending: nothing was done.
    Pending(String),
    /// No confirmed change is pending: nothing was done.
    NotPending(String),
}

/// The client side of the interface (`n3xnetctl`, tests).
#[zbus::proxy(
    interface = "io.n3x.Net1",
    default_service = "io.n3x.Net1",
    default_path = "/io/n3x/Net1",
    gen_blocking = false
)]
pub trait Net1 {
    fn reload(&self) -> zbus::Result<()>;
    fn reconcile(&self) -> zbus::Result<()>;
    fn pause(&self) -> zbus::Result<()>;
    fn resume(&self) -> zbus::Result<()>;
    fn reload_confirmed(&self, within_ms: u64, when: &str) -> zbus::Result<()>;
    fn confirm(&self) -> zbus::Result<()>;
    fn rollback(&self) -> zbus::Result<()>;
    #[zbus(property)]
    fn status_json(&self) -> zbus::Result<String>;
    #[zbus(signal)]
    fn health_changed(
        &self,
        health_json: String,
        online: bool,
        overall: String,
        summary: String,
    ) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use zbus::DBusError as _;

    use super::*;

    #[test]
    fn error_names_match_the_errors() {
        assert_eq!(
            MethodError::Invalid(String::new()).name().as_str(),
            error_name::INVALID
        );
        assert_eq!(
            MethodError::Failed(String::new()).name().as_str(),
            error_name::FAILED
        );
        assert_eq!(
            MethodError::Stopped(String::new()).name().as_str(),
            error_name::STOPPED
        );
        assert_eq!(
            MethodError::Pending(String::new()).name().as_str(),
            error_name::PENDING
        );
        assert_eq!(
            MethodError::NotPending(String::new()).name().as_str(),
            error_name::NOT_PENDING
        );
    }
}
