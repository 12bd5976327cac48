//! When the feedback task talks to the API server: after a change has held
//! for the debounce (a flapping link is one write, not one per flap), at
//! each heartbeat, and after a failure with capped exponential backoff.
//! Pure: the task asks [`Schedule::due`] and reports back; tests drive it
//! with made-up instants.

use std::time::{Duration, Instant};

use super::condition::Condition;
use super::labels::Labels;

/// The first retry after a failure; doubled per failure in a row.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest wait between retries.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What the Node should show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub labels: Labels,
    pub condition: Condition,
}

/// Why a pass is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// What the Node should show changed (or was never written).
    Change,
    /// Nothing changed, but the condition's heartbeat is due.
    Heartbeat,
    /// The last pass failed.
    Retry,
}

#[derive(Debug)]
pub struct Schedule {
    debounce: Duration,
    heartbeat: Option<Duration>,
    wanted: Option<Published>,
    /// What the last successful pass wrote (or found already there).
    synced: Option<Published>,
    /// When `wanted` first differed from `synced`.
    changed_at: Option<Instant>,
    /// When the condition was last written.
    written_at: Option<Instant>,
    failures: u32,
    retry_at: Option<Instant>,
}

impl Schedule {
    pub fn new(debounce: Duration, heartbeat: Option<Duration>) -> Schedule {
        Schedule {
            debounce,
            heartbeat,
            wanted: None,
            synced: None,
            changed_at: None,
            written_at: None,
            failures: 0,
            retry_at: None,
        }
    }

    /// What the Node should show now.
    pub fn wanted(&self) -> Option<&Published> {
        self.wanted.as_ref()
    }

    /// The health changed what the Node should show (or not: the same
    /// `p` again is nothing). A change that reverts within the debounce
    /// leaves nothing to do.
    pub fn observe(&mut self, p: Published, now: Instant) {
        if self.wanted.as_ref() == Some(&p) {
            return;
        }
        if self.synced.as_ref() == Some(&p) {
            self.changed_at = None;
        } else if self.changed_at.is_none() {
            self.changed_at = Some(now);
        }
        self.wanted = Some(p);
    }

    /// When the next pass is due (`None`: nothing to do, ever, until a
    /// change).
    pub fn next(&self) -> Option<(Instant, Due)> {
        if let Some(at) = self.retry_at {
            return Some((at, Due::Retry));
        }
        if let Some(at) = self.changed_at {
            return Some((at + self.debounce, Due::Change));
        }
        let beat = self.heartbeat?;
        self.written_at.map(|at| (at + beat, Due::Heartbeat))
    }

    /// The pass due at `now`, if any.
    pub fn due(&self, now: Instant) -> Option<Due> {
        self.next().filter(|(at, _)| *at <= now).map(|(_, d)| d)
    }

    /// The condition must be written even if the Node already shows it.
    pub fn heartbeat_due(&self, now: Instant) -> bool {
        match (self.heartbeat, self.written_at) {
            (Some(beat), Some(at)) => at + beat <= now,
            (_, None) => true,
            (None, Some(_)) => false,
        }
    }

    /// A pass made the Node show `p` at `now`; `wrote_condition`: it wrote
    /// the condition (which restarts the heartbeat).
    pub fn succeeded(&mut self, p: Published, wrote_condition: bool, now: Instant) {
        self.failures = 0;
        self.retry_at = None;
        if wrote_condition || self.written_at.is_none() {
            self.written_at = Some(now);
        }
        // A change seen while the pass ran is still to be written.
        self.changed_at = (self.wanted.as_ref() != Some(&p)).then_some(now);
        self.synced = Some(p);
    }

    /// A pass failed at `now`; the wait before the retry (1 s, 2 s, 4 s...
    /// up to [`BACKOFF_MAX`]).
    pub fn failed(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exp = self.failures.saturating_sub(1).min(16);
        let wait = BACKOFF_MIN.saturating_mul(1 << exp).min(BACKOFF_MAX);
        self.retry_at = Some(now + wait);
        wait
    }

    /// Failures in a row.
    #[cfg(test)]
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Level;
    use crate::kubernetes::labels::{labels, tests::health};

    fn published(level: Level) -> Published {
        let h = health(level, level != Level::Down);
        Published {
            labels: labels(Some(&h), "demo", "p/"),
            condition: Condition::from_health(Some(&h)),
        }
    }

    const DEBOUNCE: Duration = Duration::from_secs(2);
    const BEAT: Duration = Duration::from_secs(300);

    fn s(secs: f64, t0: Instant) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_change_is_written_once_it_held_for_the_debounce() {
        let t0 = Instant::now();
        let mut sch = Schedule::new(DEBOUNCE, Some(BEAT));
        assert_eq!(sch.next(), None);
        sch.observe(published(Level::Ok), t0);
        assert_eq!(sch.due(s(1.9, t0)), None);
        assert_eq!(sch.due(s(2.0, t0)), Some(Due::Change));
        assert!(sch.heartbeat_due(t0), "never written: the condition is due");
        sch.succeeded(published(Level::Ok), true, s(2.1, t0));
        // Then only the heartbeat.
        assert_eq!(sch.next(), Some((s(302.1, t0), Due::Heartbeat)));
        assert!(!sch.heartbeat_due(s(302.0, t0)));
        assert!(sch.heartbeat_due(s(302.1, t0)));
        // The same state again is nothing.
        sch.observe(published(Level::Ok), s(10.0, t0));
        assert_eq!(sch.next().unwrap().1, Due::Heartbeat);
    }

    #[test]
    fn a_flap_shorter_than_the_debounce_writes_nothing() {
        let t0 = Instant::now();
        let mut sch = Schedule::new(DEBOUNCE, Some(BEAT));
        sch.observe(published(Level::Ok), t0);
        sch.succeeded(published(Level::Ok), true, t0);
        sch.observe(published(Level::Down), s(10.0, t0));
        sch.observe(published(Level::Degraded), s(10.5, t0));
        // Debounced from the first change, not restarted by each flap: a
        // link flapping forever is still written every 2 s at most.
        assert_eq!(sch.next(), Some((s(12.0, t0), Due::Change)));
        sch.observe(published(Level::Ok), s(11.0, t0));
        assert_eq!(sch.next().unwrap().1, Due::Heartbeat);
    }

    #[test]
    fn failures_back_off_exponentially_up_to_a_minute_then_reset() {
        let t0 = Instant::now();
        let mut sch = Schedule::new(DEBOUNCE, None);
        sch.observe(published(Level::Ok), t0);
        let waits: Vec<u64> = (0..9).map(|_| sch.failed(t0).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(sch.failures(), 9);
        assert_eq!(sch.next(), Some((s(60.0, t0), Due::Retry)));
        sch.succeeded(published(Level::Ok), true, s(61.0, t0));
        assert_eq!(sch.failures(), 0);
        assert_eq!(sch.next(), None, "no heartbeat configured");
        assert_eq!(sch.failed(t0), BACKOFF_MIN);
        for _ in 0..100 {
            sch.failed(t0);
        }
        assert_eq!(sch.failed(t0), BACKOFF_MAX);
    }

    #[test]
    fn a_change_during_a_pass_is_written_next() {
        let t0 = Instant::now();
        let mut sch = Schedule::new(DEBOUNCE, Some(BEAT));
        sch.observe(published(Level::Ok), t0);
        // The pass writes Ok; meanwhile the health went down.
        sch.observe(published(Level::Down), s(2.5, t0));
        sch.succeeded(published(Level::Ok), true, s(3.0, t0));
        assert_eq!(sch.next(), Some((s(5.0, t0), Due::Change)));
    }
}
