//! The one-line status (`STATUS=`, the `Status` D-Bus property, `status`
//! in `status.json`): the health summary first, then only what needs an
//! operator's attention. Pure, so every wording is unit-tested.

use std::time::Duration;

use super::repair::Repairs;
use crate::config::DriftPolicy;
use crate::health::Health;

/// What the line is made of beside the health and the repair state.
#[derive(Debug, Default)]
pub struct Notes<'a> {
    /// Why the last apply failed, if it did.
    pub apply_error: Option<&'a str>,
    /// The DHCP clients' trouble, each a part.
    pub others: Vec<String>,
    /// Why the last reload was refused.
    pub reload_error: Option<&'a str>,
}

pub fn status_line(
    health: Option<&Health>,
    repairs: &Repairs,
    policy: DriftPolicy,
    notes: Notes<'_>,
) -> String {
    let mut parts = vec![match health {
        Some(h) => h.summary.clone(),
        None => "starting: reading the kernel".to_owned(),
    }];
    if repairs.paused() {
        parts.push("paused by operator".to_owned());
    }
    let d = repairs.drift();
    if let Some(c) = &d.conflict {
        parts.push(format!("profile conflicts with the kernel: {c}"));
    } else if !d.pending.is_empty() {
        let n = d.pending.len();
        parts.push(match &d.backoff {
            Some(b) => format!(
                "drift: {n} change(s), repair backed off {:.0} s after {} repeats",
                Duration::from_millis(b.next_in_ms).as_secs_f64().ceil(),
                b.streak
            ),
            None if repairs.paused() => format!("drift: {n} change(s) pending (not repaired)"),
            None if repairs.is_applied() && policy == DriftPolicy::Report => {
                format!("drift: {n} change(s) pending (report mode)")
            }
            None => format!("drift: {n} change(s) pending"),
        });
        if let Some(e) = notes.apply_error {
            parts.push(format!("last apply failed: {e}"));
        }
    }
    if let Some(w) = &d.writer {
        parts.push(format!("waiting for the writer {w}"));
    }
    parts.extend(notes.others);
    if let Some(e) = notes.reload_error {
        parts.push(format!("reload failed, previous profile kept: {e}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::api::status::Trigger;
    use crate::plan::Op;

    fn up(name: &str) -> Op {
        Op::SetUp { name: name.into() }
    }

    #[test]
    fn trouble_follows_the_summary() {
        let mut r = Repairs::default();
        assert_eq!(
            status_line(None, &r, DriftPolicy::Enforce, Notes::default()),
            "starting: reading the kernel"
        );
        let t0 = Instant::now();
        r.decide(Ok(&[up("eth1")]), DriftPolicy::Report, t0);
        r.applied();
        r.decide(Ok(&[up("eth1")]), DriftPolicy::Report, t0);
        let notes = Notes {
            apply_error: Some("EPERM"),
            others: vec!["eth1: DHCP: no lease".into()],
            reload_error: Some("bad vlanIds"),
        };
        assert_eq!(
            status_line(None, &r, DriftPolicy::Report, notes),
            "starting: reading the kernel; drift: 1 change(s) pending (report mode); \
             last apply failed: EPERM; eth1: DHCP: no lease; \
             reload failed, previous profile kept: bad vlanIds"
        );
        r.pause();
        assert_eq!(
            status_line(None, &r, DriftPolicy::Report, Notes::default()),
            "starting: reading the kernel; paused by operator; drift: 1 change(s) pending \
             (not repaired)"
        );
    }

    #[test]
    fn a_backoff_says_how_long_and_after_how_many() {
        let mut r = Repairs::default();
        r.applied();
        let t0 = Instant::now();
        for i in 0..4 {
            r.decide(
                Ok(&[up("eth1")]),
                DriftPolicy::Enforce,
                t0 + Duration::from_millis(i),
            );
        }
        assert_eq!(
            status_line(None, &r, DriftPolicy::Enforce, Notes::default()),
            "starting: reading the kernel; drift: 1 change(s), repair backed off 1 s after 3 \
             repeats"
        );
        r.writer_busy("PID 7 (n3xnetctl apply)".into(), Trigger::Repair);
        assert_eq!(
            status_line(None, &r, DriftPolicy::Enforce, Notes::default()),
            "starting: reading the kernel; drift: 1 change(s), repair backed off 1 s after 3 \
             repeats; waiting for the writer PID 7 (n3xnetctl apply)"
        );
        r.writer_released();
        r.decide(Err("eth1: missing".into()), DriftPolicy::Enforce, t0);
        assert_eq!(
            status_line(None, &r, DriftPolicy::Enforce, Notes::default()),
            "starting: reading the kernel; profile conflicts with the kernel: eth1: missing"
        );
    }
}
