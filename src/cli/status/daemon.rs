//! The daemon's part of `status`: what n3xnetd says of itself (its
//! `status.json`, over D-Bus), for humans.

use crate::api::report::ReportStatus;
use std::time::Duration;

use crate::api::status::{ChangeState, ChangeStatus, DaemonStatus, LeaseStatus, Until};
use crate::clock::now_ms;

/// `HH:MM:SS.mmm` UTC of a Unix time in milliseconds.
pub(super) fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}

/// The daemon's part of the human output.
pub(super) fn render_daemon(d: &DaemonStatus) -> String {
    let mut out = format!("from n3xnetd (pid {}) over D-Bus\n", d.pid);
    let mut state = d.phase.as_str().to_owned();
    if d.ready {
        state += ", ready";
    }
    if d.paused {
        state += ", PAUSED by operator (drift not repaired)";
    }
    out += &format!("state    {state}\n");
    out += &format!("status   {}\n", d.status);
    out += &format!(
        "node     {} ({}), profile {}, drift {}\n",
        d.node,
        d.role.map_or("-", |r| r.as_str()),
        d.profile.display(),
        d.drift_policy.as_str()
    );
    for n in d.health.iter().flat_map(|h| &h.networks) {
        let reason = n.reason.as_deref().map(|r| format!(" ({r})"));
        out += &format!(
            "network  {} {} on {}{}\n",
            n.name,
            n.level.as_str(),
            n.link,
            reason.unwrap_or_default()
        );
    }
    for l in &d.dhcp {
        out += &format!("dhcp     {}\n", render_lease(l, now_ms()));
    }
    if let Some(c) = &d.drift.conflict {
        out += &format!("conflict {c}\n");
    }
    for op in &d.drift.pending {
        out += &format!("drift    {op}\n");
    }
    if let Some(last) = &d.last_apply {
        let error = last.error.as_deref().map(|e| format!(", failed: {e}"));
        out += &format!(
            "applied  {} at {} UTC: {} op(s), {} write(s){}\n",
            last.trigger.as_str(),
            clock(last.at_ms),
            last.ops.len(),
            last.writes,
            error.unwrap_or_default()
        );
    }
    out += &format!("repairs  {}, writes {}\n", d.repairs, d.writes);
    if let Some(e) = &d.reload_error {
        out += &format!("reload   failed, previous profile kept: {e}\n");
    }
    if let Some(c) = &d.change {
        out += &format!("change   {}\n", render_change(c, now_ms()));
    }
    out
}

/// A confirmed change: where it stands and how it will end, its deadline
/// counted from `now_ms`.
fn render_change(c: &ChangeStatus, now_ms: u64) -> String {
    let reason = c.reason.as_deref().unwrap_or("-");
    match c.state {
        ChangeState::Pending => {
            let left = c.deadline_ms.saturating_sub(now_ms);
            let keeps = match &c.until {
                Until::Confirmed => "`n3xnetctl confirm`".to_owned(),
                Until::Reachable { targets } => {
                    format!(
                        "{} answering, or `n3xnetctl confirm`",
                        targets.join(" and ")
                    )
                }
            };
            let check = c
                .last_check
                .as_deref()
                .map(|e| format!("; last check: {e}"));
            format!(
                "PENDING: reverts at {} UTC (in {:.1} s) unless kept by {keeps}{}",
                clock(c.deadline_ms),
                Duration::from_millis(left).as_secs_f64(),
                check.unwrap_or_default()
            )
        }
        ChangeState::Reverting => format!("reverting ({reason})"),
        ChangeState::Reverted => format!(
            "reverted ({reason}): the previous profile runs until the profile file changes and is \
             reloaded"
        ),
        ChangeState::RevertFailed => format!(
            "REVERT FAILED ({reason}): {}; `n3xnetctl rollback` tries again",
            c.error.as_deref().unwrap_or("unknown error")
        ),
    }
}

/// `n3xnetctl apply --confirm-within`'s change: as n3xnetd's, but an
/// orphan (its watcher gone) is said to be one, and a revert restores the
/// kernel state before it rather than a profile.
pub(super) fn render_ctl_change(c: &ChangeStatus, watched: bool) -> String {
    let reason = c.reason.as_deref().unwrap_or("-");
    match c.state {
        ChangeState::Pending if !watched => format!(
            "ORPHANED (n3xnetctl apply): its watcher is gone, so nothing reverts it at {} UTC: \
             `n3xnetctl rollback` reverts it, `n3xnetctl confirm` keeps it",
            clock(c.deadline_ms)
        ),
        ChangeState::Reverted => {
            format!("reverted ({reason}): the kernel is as before the change (n3xnetctl apply)")
        }
        _ => format!("{} (n3xnetctl apply)", render_change(c, now_ms())),
    }
}

/// n3xnet-report's part of the human output: the Kubernetes feedback and
/// the files it keeps.
pub(super) fn render_report(r: &ReportStatus) -> String {
    let mut out = format!("report   n3xnet-report (pid {}): {}\n", r.pid, r.status);
    if let Some(k) = &r.kubernetes {
        let summary = k.summary.strip_prefix("kubernetes: ").unwrap_or(&k.summary);
        out += &format!("kube     {summary} (Node {})\n", k.node);
    }
    out
}

/// One DHCP lease of the daemon's status, its times counted from `now_ms`.
fn render_lease(l: &LeaseStatus, now_ms: u64) -> String {
    let secs_from_now = |at: Option<u64>| at.map(|at| at.saturating_sub(now_ms) / 1000);
    let mut out = format!("{} {}", l.link, l.state);
    if let Some(a) = &l.address {
        let server = l.server.map_or("-".to_owned(), |s| s.to_string());
        out += &format!(" {a} from {server}");
        if let Some(r) = &l.router {
            out += &format!(", router {r}");
        }
        if let (Some(renew), Some(expiry)) =
            (secs_from_now(l.renew_at_ms), secs_from_now(l.expires_at_ms))
        {
            out += &format!(", renew in {renew} s, expires in {expiry} s");
        }
        if l.differs_from_reserved {
            let reserved = l.reserved.map_or("-".to_owned(), |r| r.to_string());
            out += &format!(", NOT the reserved {reserved}");
        }
    }
    for e in [&l.event, &l.error].into_iter().flatten() {
        out += &format!(" ({e})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::report::{KubernetesStatus, SyncState};

    #[test]
    fn a_change_line_says_how_it_ends() {
        let mut c = ChangeStatus {
            state: ChangeState::Pending,
            until: Until::Reachable {
                targets: vec!["192.168.1.10:6443".into(), "arp:192.168.1.254".into()],
            },
            started_at_ms: 0,
            deadline_ms: 3_723_000,
            change_digest: "new".into(),
            previous_digest: "old".into(),
            reason: None,
            error: None,
            last_check: Some("192.168.1.10:6443: connection refused".into()),
        };
        assert_eq!(
            render_change(&c, 3_720_500),
            "PENDING: reverts at 01:02:03.000 UTC (in 2.5 s) unless kept by 192.168.1.10:6443 and \
             arp:192.168.1.254 answering, or `n3xnetctl confirm`; last check: 192.168.1.10:6443: \
             connection refused"
        );
        c.state = ChangeState::RevertFailed;
        c.reason = Some("deadline".into());
        c.error = Some("EBUSY".into());
        assert_eq!(
            render_change(&c, 0),
            "REVERT FAILED (deadline): EBUSY; `n3xnetctl rollback` tries again"
        );
    }

    #[test]
    fn a_lease_line_counts_its_times_from_now_and_flags_a_mismatch() {
        let now = 1_000_000;
        let lease = LeaseStatus {
            link: "eth1".into(),
            state: "bound".into(),
            address: Some("192.168.1.150/24".parse().unwrap()),
            server: Some("192.168.1.254".parse().unwrap()),
            renew_at_ms: Some(now + 30_500),
            expires_at_ms: Some(now + 90_500),
            reserved: Some("192.168.1.3".parse().unwrap()),
            differs_from_reserved: true,
            ..LeaseStatus::default()
        };
        assert_eq!(
            render_lease(&lease, now),
            "eth1 bound 192.168.1.150/24 from 192.168.1.254, renew in 30 s, expires in 90 s, \
             NOT the reserved 192.168.1.3"
        );
        let lost = LeaseStatus {
            link: "eth1".into(),
            state: "selecting".into(),
            event: Some("lease 192.168.1.3/24 from 192.168.1.254 expired; address removed".into()),
            ..LeaseStatus::default()
        };
        assert_eq!(
            render_lease(&lost, now),
            "eth1 selecting (lease 192.168.1.3/24 from 192.168.1.254 expired; address removed)"
        );
    }

    #[test]
    fn the_kubernetes_feedback_gets_a_line() {
        let mut r = ReportStatus {
            pid: 9,
            status: "following n3xnetd (pid 7)".into(),
            ..ReportStatus::default()
        };
        assert!(!render_report(&r).contains("kube"));
        r.kubernetes = Some(KubernetesStatus {
            state: SyncState::Retrying,
            summary: "kubernetes: retrying in 4s (403 Forbidden)".into(),
            node: "server-1".into(),
            kubeconfig: "/etc/rancher/k3s/k3s.yaml".into(),
            error: None,
            writes: 0,
            synced_at_ms: None,
        });
        let out = render_report(&r);
        assert_eq!(
            out,
            "report   n3xnet-report (pid 9): following n3xnetd (pid 7)\n\
             kube     retrying in 4s (403 Forbidden) (Node server-1)\n"
        );
    }
}
