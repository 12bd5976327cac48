//! Repair backoff: drift that comes straight back after a repair means
//! someone (an operator, another network manager, a CNI plugin) is fighting
//! the profile. Repairing at full speed would turn that into a netlink storm
//! and a flapping link, so repeated repairs of the *same* drift wait longer
//! and longer, up to a cap; a drift that stays away for a quiet period
//! starts afresh.
//!
//! Pure: time is passed in, so the schedule is unit-tested.

use std::time::{Duration, Instant};

/// When repairs of one drift start waiting, and how long at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepairSchedule {
    /// Repairs in a row that run immediately.
    pub free: u32,
    /// A drift that has not come back for this long after its last repair
    /// counts as a new one.
    pub quiet: Duration,
    /// The first wait; each further repeat doubles it.
    pub base: Duration,
    pub cap: Duration,
}

impl Default for RepairSchedule {
    fn default() -> Self {
        RepairSchedule {
            free: 3,
            quiet: Duration::from_secs(60),
            base: Duration::from_secs(1),
            cap: Duration::from_secs(300),
        }
    }
}

impl RepairSchedule {
    /// The wait before the next repair after `streak` repairs in a row.
    pub fn delay(&self, streak: u32) -> Duration {
        let Some(over) = streak.checked_sub(self.free) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(over).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// Whether a drift may be repaired now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permit {
    Now,
    /// Wait until `until`: the drift was repaired `streak` times in a row.
    Wait {
        until: Instant,
        streak: u32,
    },
}

#[derive(Debug, Clone)]
struct Episode {
    /// A digest of the drift (the links its repair touches).
    drift: u64,
    streak: u32,
    last_repair: Instant,
    /// When the drift was first seen again after `last_repair`.
    came_back: Option<Instant>,
}

/// Per-drift repair history.
#[derive(Debug, Clone, Default)]
pub struct Governor {
    schedule: RepairSchedule,
    episodes: Vec<Episode>,
}

/// Kinds of drift tracked at once; beyond it the oldest is forgotten.
const MAX_EPISODES: usize = 32;

impl Governor {
    pub fn new(schedule: RepairSchedule) -> Self {
        Governor {
            schedule,
            episodes: Vec::new(),
        }
    }

    /// May the drift with digest `drift`, seen at `now`, be repaired now?
    pub fn permit(&mut self, drift: u64, now: Instant) -> Permit {
        let quiet = self.schedule.quiet;
        // Episodes whose drift stayed away for the quiet period are over.
        self.episodes
            .retain(|e| e.came_back.is_some() || now.duration_since(e.last_repair) <= quiet);
        let Some(e) = self.episodes.iter_mut().find(|e| e.drift == drift) else {
            return Permit::Now;
        };
        let came_back = *e.came_back.get_or_insert(now);
        if came_back.duration_since(e.last_repair) > quiet {
            e.streak = 0;
        }
        let until = e.last_repair + self.schedule.delay(e.streak);
        if now >= until {
            Permit::Now
        } else {
            Permit::Wait {
                until,
                streak: e.streak,
            }
        }
    }

    /// Notes a repair of `drift` at `now`.
    pub fn record(&mut self, drift: u64, now: Instant) {
        match self.episodes.iter_mut().find(|e| e.drift == drift) {
            Some(e) => {
                e.streak += 1;
                e.last_repair = now;
                e.came_back = None;
            }
            None => {
                if self.episodes.len() >= MAX_EPISODES {
                    self.episodes.remove(0);
                }
                self.episodes.push(Episode {
                    drift,
                    streak: 1,
                    last_repair: now,
                    came_back: None,
                });
            }
        }
    }

    /// Forgets every episode: after a reload or an explicit reconcile the
    /// operator asked for a repair.
    pub fn reset(&mut self) {
        self.episodes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const S: Duration = Duration::from_secs(1);

    #[test]
    fn delays_double_after_the_free_repairs_up_to_the_cap() {
        let s = RepairSchedule::default();
        let d: Vec<u64> = (0..14).map(|n| s.delay(n).as_secs()).collect();
        assert_eq!(d, [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(s.delay(u32::MAX), s.cap);
    }

    /// Someone deletes the shim right after every repair: three repairs run
    /// at once, then they wait 1 s, 2 s, 4 s ... and never faster.
    #[test]
    fn a_fight_backs_off() {
        let mut g = Governor::default();
        let t0 = Instant::now();
        let mut now = t0;
        let mut repairs = Vec::new();
        while now < t0 + 40 * S {
            match g.permit(7, now) {
                Permit::Now => {
                    repairs.push(now.duration_since(t0).as_millis());
                    g.record(7, now);
                    now += MS; // the fighter strikes again right away
                }
                Permit::Wait { until, .. } => now = until,
            }
        }
        assert_eq!(
            repairs,
            [0, 1, 2, 1002, 3002, 7002, 15002, 31002],
            "repair times in ms"
        );
    }

    #[test]
    fn a_drift_that_stays_away_starts_afresh() {
        let mut g = Governor::default();
        let t0 = Instant::now();
        for i in 0..3 {
            g.record(7, t0 + i * MS);
        }
        assert!(matches!(
            g.permit(7, t0 + 10 * MS),
            Permit::Wait { streak: 3, .. }
        ));
        // Repaired once more after the wait, then quiet for over a minute.
        g.record(7, t0 + S);
        assert_eq!(g.permit(7, t0 + 62 * S), Permit::Now);
        g.record(7, t0 + 62 * S);
        assert_eq!(g.permit(7, t0 + 62 * S + MS), Permit::Now);
    }

    #[test]
    fn drifts_are_tracked_apart_and_reset_forgets() {
        let mut g = Governor::default();
        let t0 = Instant::now();
        for i in 0..3 {
            g.record(1, t0 + i * MS);
        }
        assert!(matches!(g.permit(1, t0 + 5 * MS), Permit::Wait { .. }));
        assert_eq!(g.permit(2, t0 + 5 * MS), Permit::Now);
        g.reset();
        assert_eq!(g.permit(1, t0 + 6 * MS), Permit::Now);
    }
}
