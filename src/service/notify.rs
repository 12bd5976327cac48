//! The systemd notification protocol (`sd_notify`): `READY=1`, `STATUS=`,
//! `RELOADING=1`, `STOPPING=1` and `WATCHDOG=1` datagrams to
//! `$NOTIFY_SOCKET`. Without that variable (not started by systemd) every
//! call is a no-op, so the daemon runs the same in a shell or a test.
//!
//! The `sd-notify` crate provides the states and reads the watchdog
//! settings; the datagrams are sent here because its `notify` blocks while
//! the manager's queue is full (`net.unix.max_dgram_qlen`, 10 by default),
//! which would freeze the event loop behind a slow or stuck manager.
//! Updates that a later one supersedes (`STATUS=`, `WATCHDOG=1`) are sent
//! without waiting and dropped when the queue is full; state changes
//! (`READY=1`, `RELOADING=1`, `STOPPING=1`) wait at most [`STATE_TIMEOUT`].

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use nix::sys::socket::{
    self, setsockopt, sockopt, AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr,
};
use nix::sys::time::TimeVal;
use sd_notify::NotifyState;

/// Longest `STATUS=` line sent: `systemctl status` shows one line, and a
/// datagram must stay well under the socket's limits.
const STATUS_MAX: usize = 512;

/// How long a state change may wait for room in the manager's queue.
const STATE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Notifier {
    /// The manager's socket and ours; `None` outside systemd.
    target: Option<(UnixAddr, OwnedFd)>,
    /// Half of `WATCHDOG_USEC`, when systemd asks for pings.
    watchdog: Option<Duration>,
    /// The last `STATUS=` delivered, to send only changes.
    status: String,
    /// A send already failed and was logged.
    failed: bool,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET` (a path, or `@name` for an abstract socket) and
    /// `WATCHDOG_USEC`/`WATCHDOG_PID` (set by `WatchdogSec=`); pings go out
    /// at half the interval, as sd_watchdog_enabled(3) advises.
    pub fn from_env() -> Self {
        let mut usec = 0;
        let watchdog = (sd_notify::watchdog_enabled(false, &mut usec) && usec > 0)
            .then(|| Duration::from_micros(usec / 2));
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|path| {
            open(&path)
                .map_err(|e| tracing::warn!("NOTIFY_SOCKET={path:?} is unusable: {e}"))
                .ok()
        });
        Notifier {
            target,
            watchdog,
            status: String::new(),
            failed: false,
        }
    }

    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }

    pub fn watchdog(&mut self) {
        self.send(&[NotifyState::Watchdog], false);
    }

    /// `READY=1` together with the current status line.
    pub fn ready(&mut self, status: &str) {
        let line = one_line(status);
        if self.send(&[NotifyState::Ready, NotifyState::Status(&line)], true) {
            self.status = line;
        }
    }

    pub fn reloading(&mut self) {
        self.send(&[NotifyState::Reloading], true);
    }

    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping], true);
    }

    /// `STATUS=`, only when it changed (and again after a dropped one).
    pub fn status(&mut self, status: &str) {
        let line = one_line(status);
        if line != self.status && self.send(&[NotifyState::Status(&line)], false) {
            self.status = line;
        }
    }

    /// Sends one datagram; `wait` bounds the wait by [`STATE_TIMEOUT`]
    /// instead of dropping it when the queue is full. True when delivered
    /// (or when there is no manager to deliver to).
    fn send(&mut self, states: &[NotifyState<'_>], wait: bool) -> bool {
        let Some((addr, fd)) = &self.target else {
            return true;
        };
        let msg: String = states.iter().map(|s| format!("{s}\n")).collect();
        let flags = if wait {
            MsgFlags::MSG_NOSIGNAL
        } else {
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT
        };
        match socket::sendto(fd.as_raw_fd(), msg.as_bytes(), addr, flags) {
            Ok(_) => true,
            Err(e) => {
                // Logged once: a broken socket would otherwise log every ping.
                if !self.failed {
                    tracing::warn!("cannot notify systemd: {e}");
                    self.failed = true;
                }
                false
            }
        }
    }
}

/// The manager's address and an unbound datagram socket to reach it.
fn open(path: &OsStr) -> nix::Result<(UnixAddr, OwnedFd)> {
    let bytes = path.as_bytes();
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => UnixAddr::new_abstract(name)?,
        None => UnixAddr::new(bytes)?,
    };
    let fd = socket::socket(
        AddressFamily::Unix,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let timeout = TimeVal::new(
        STATE_TIMEOUT.as_secs() as libc::time_t,
        STATE_TIMEOUT.subsec_micros() as libc::suseconds_t,
    );
    setsockopt(&fd, sockopt::SendTimeout, &timeout)?;
    Ok((addr, fd))
}

/// One line of at most [`STATUS_MAX`] bytes: the protocol is
/// newline-separated, so a newline would end the status early.
fn one_line(s: &str) -> String {
    let mut line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if line.len() > STATUS_MAX {
        let mut cut = STATUS_MAX - 3;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixDatagram;
    use std::time::Instant;

    use super::*;

    /// A manager that never reads: updates are dropped at once, a state
    /// change gives up after the timeout; the loop is never stuck.
    #[test]
    fn a_full_manager_queue_never_blocks_for_long() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let manager = UnixDatagram::bind(&path).unwrap();
        let mut n = Notifier {
            target: Some(open(path.as_os_str()).unwrap()),
            watchdog: None,
            status: String::new(),
            failed: false,
        };
        let start = Instant::now();
        for i in 0..100 {
            n.status(&format!("status {i}"));
            n.watchdog();
        }
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
        let start = Instant::now();
        n.ready("online");
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
        assert!(n.failed);
        // What got through is the protocol, one state per line.
        let mut buf = [0u8; 256];
        let len = manager.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"STATUS=status 0\n");
        let len = manager.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1\n");
    }

    #[test]
    fn abstract_socket_names_are_understood() {
        let name = format!("n3xnet-test-{}", std::process::id());
        let (addr, _) = open(OsStr::new(&format!("@{name}"))).unwrap();
        assert_eq!(addr.as_abstract(), Some(name.as_bytes()));
    }

    #[test]
    fn status_is_one_bounded_line() {
        assert_eq!(one_line("a\nb"), "a b");
        let long = "é".repeat(400);
        let l = one_line(&long);
        assert!(l.len() <= STATUS_MAX && l.ends_with("..."));
    }
}
