//! The NodeCondition `N3xNetworkReady`: the node's network in the form
//! schedulers, `kubectl describe node` and node-problem-detector consumers
//! already read.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::health::{Health, Level};

/// The condition's `type`, beside the kubelet's `Ready`, `MemoryPressure`...
pub const CONDITION_TYPE: &str = "N3xNetworkReady";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    True,
    False,
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

/// What the condition says; the times are added when it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub status: Status,
    /// CamelCase, as Kubernetes wants reasons.
    pub reason: &'static str,
    /// The health summary: `online: cluster degraded (bond0: eth2 down)`.
    pub message: String,
}

/// Long enough for any summary of a real node; a runaway message (a
/// thousand Multus shims) must not make every write large.
const MAX_MESSAGE: usize = 1024;

impl Condition {
    /// `True` while the online set is up (so `NetworkReady`,
    /// `NetworkDegraded` or `NetworkPartiallyDown` when a network outside
    /// it is down); `False` (`NetworkNotReady`) when it is not; `Unknown`
    /// (`NoHealthYet`) before the first read of the kernel.
    pub fn from_health(health: Option<&Health>) -> Condition {
        let Some(h) = health else {
            return Condition {
                status: Status::Unknown,
                reason: "NoHealthYet",
                message: "n3xnetd has not read the kernel yet".to_owned(),
            };
        };
        let (status, reason) = match (h.online, h.level) {
            (false, _) => (Status::False, "NetworkNotReady"),
            (true, Level::Ok) => (Status::True, "NetworkReady"),
            (true, Level::Degraded) => (Status::True, "NetworkDegraded"),
            (true, Level::Down) => (Status::True, "NetworkPartiallyDown"),
        };
        let mut message = h.summary.clone();
        if message.len() > MAX_MESSAGE {
            let mut cut = MAX_MESSAGE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("...");
        }
        Condition {
            status,
            reason,
            message,
        }
    }

    /// Everything fine: an Event about it is `Normal`, else `Warning`.
    pub fn is_ready(&self) -> bool {
        self.reason == "NetworkReady"
    }
}

/// `t` as the RFC 3339 UTC timestamp with whole seconds that Kubernetes
/// uses for condition and event times (`2026-11-26T00:10:32Z`).
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubernetes::labels::tests::health;
    use std::time::Duration;

    #[test]
    fn status_and_reason_follow_the_online_set_and_the_level() {
        let c = |level, online| {
            let c = Condition::from_health(Some(&health(level, online)));
            (c.status, c.reason)
        };
        assert_eq!(c(Level::Ok, true), (Status::True, "NetworkReady"));
        assert_eq!(c(Level::Degraded, true), (Status::True, "NetworkDegraded"));
        assert_eq!(c(Level::Down, true), (Status::True, "NetworkPartiallyDown"));
        assert_eq!(c(Level::Down, false), (Status::False, "NetworkNotReady"));
        let u = Condition::from_health(None);
        assert_eq!((u.status, u.reason), (Status::Unknown, "NoHealthYet"));
        assert!(!u.is_ready());
        let ok = Condition::from_health(Some(&health(Level::Ok, true)));
        assert!(ok.is_ready());
        assert_eq!(ok.message, "online: cluster ok");
    }

    #[test]
    fn a_long_message_is_cut_on_a_character_boundary() {
        let mut h = health(Level::Ok, true);
        h.summary = "é".repeat(2000);
        let c = Condition::from_health(Some(&h));
        assert!(c.message.len() <= MAX_MESSAGE + 3);
        assert!(c.message.ends_with("..."));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |s| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }
}
