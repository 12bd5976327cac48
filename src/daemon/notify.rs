//! The systemd notification protocol (`sd_notify`): `READY=1`, `STATUS=`,
//! `RELOADING=1`, `STOPPING=1` and `WATCHDOG=1` datagrams to
//! `$NOTIFY_SOCKET`. Without that variable (not started by systemd) every
//! call is a no-op, so the daemon runs the same in a shell or a test.

use std::time::Duration;

use sd_notify::NotifyState;

/// Longest `STATUS=` line sent: `systemctl status` shows one line, and a
/// datagram must stay well under the socket's limits.
const STATUS_MAX: usize = 512;

#[derive(Debug)]
pub struct Notifier {
    /// Half of `WATCHDOG_USEC`, when systemd asks for pings.
    watchdog: Option<Duration>,
    /// The last `STATUS=` sent, to send only changes.
    status: String,
    /// A send already failed and was logged.
    failed: bool,
}

impl Notifier {
    /// Reads `WATCHDOG_USEC`/`WATCHDOG_PID` (set by `WatchdogSec=`); pings go
    /// out at half the interval, as sd_watchdog_enabled(3) advises.
    pub fn from_env() -> Self {
        let mut usec = 0;
        let watchdog = (sd_notify::watchdog_enabled(false, &mut usec) && usec > 0)
            .then(|| Duration::from_micros(usec / 2));
        Notifier {
            watchdog,
            status: String::new(),
            failed: false,
        }
    }

    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog
    }

    pub fn watchdog(&mut self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// `READY=1` together with the current status line.
    pub fn ready(&mut self, status: &str) {
        let line = one_line(status);
        self.send(&[NotifyState::Ready, NotifyState::Status(&line)]);
        self.status = line;
    }

    pub fn reloading(&mut self) {
        self.send(&[NotifyState::Reloading]);
    }

    pub fn stopping(&mut self) {
        self.send(&[NotifyState::Stopping]);
    }

    /// `STATUS=`, only when it changed.
    pub fn status(&mut self, status: &str) {
        let line = one_line(status);
        if line != self.status {
            self.send(&[NotifyState::Status(&line)]);
            self.status = line;
        }
    }

    fn send(&mut self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(false, states) {
            // Logged once: a broken socket would otherwise log every ping.
            if !self.failed {
                tracing::warn!("cannot notify systemd: {e}");
                self.failed = true;
            }
        }
    }
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
    use super::*;

    #[test]
    fn status_is_one_bounded_line() {
        assert_eq!(one_line("a\nb"), "a b");
        let long = "é".repeat(400);
        let l = one_line(&long);
        assert!(l.len() <= STATUS_MAX && l.ends_with("..."));
    }
}
