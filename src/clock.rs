//! Time, in the two forms n3xnet uses: the monotonic clock for its own
//! timing (deadlines, backoff: immune to the wall clock being set, as it
//! is at boot by NTP), and wall-clock milliseconds since the Unix epoch for
//! what humans and other hosts read (`status.json`, Kubernetes).

use tokio::time::Instant;

/// Milliseconds since the Unix epoch; 0 before 1970 (a clock not set yet).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `HH:MM:SS` UTC of a Unix time in milliseconds, for one-line statuses
/// (a lease's renewal, a change's deadline).
pub fn hms(unix_ms: u64) -> String {
    let s = unix_ms / 1000 % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A duration in whole milliseconds, for logs and the status file.
pub fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Resolves at `deadline`, or never without one: the timer arm of a
/// `select!` whose timer may be off.
pub async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
