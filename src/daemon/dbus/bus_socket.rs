//! Where the system bus's socket is, so the D-Bus front end can wait for it
//! to appear without polling (what sd-bus calls "watch bind", here
//! [`crate::files::created`]): at boot n3xnetd starts before
//! `dbus.socket`, and should be on the bus as soon as the bus is, not at its
//! next timed retry.

use std::path::PathBuf;

/// Where zbus connects for the system bus by default.
const DEFAULT_SOCKET: &str = "/var/run/dbus/system_bus_socket";

/// The system bus's socket: the first `unix:path=` of
/// `DBUS_SYSTEM_BUS_ADDRESS`, or the default; `None` for other transports
/// (abstract sockets, TCP), which have nothing to watch.
pub fn path() -> Option<PathBuf> {
    match std::env::var("DBUS_SYSTEM_BUS_ADDRESS") {
        Ok(address) => unix_path(&address),
        Err(_) => Some(PathBuf::from(DEFAULT_SOCKET)),
    }
}

/// The `path=` of the first `unix:` entry of a D-Bus address.
fn unix_path(address: &str) -> Option<PathBuf> {
    let params = address
        .split(';')
        .find_map(|entry| entry.strip_prefix("unix:"))?;
    params
        .split(',')
        .find_map(|kv| kv.strip_prefix("path="))
        .map(PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_path_is_the_first_unix_path_entry() {
        assert_eq!(
            unix_path("unix:path=/run/dbus/system_bus_socket"),
            Some(PathBuf::from("/run/dbus/system_bus_socket"))
        );
        assert_eq!(
            unix_path("tcp:host=h,port=1;unix:guid=abc,path=/tmp/b.sock"),
            Some(PathBuf::from("/tmp/b.sock"))
        );
        assert_eq!(unix_path("unix:abstract=/tmp/dbus-x"), None);
    }
}
