//! `status.json`: n3xnetd's whole state as one document, the contract
//! between the daemon and everything that reads it (`n3xnetctl status` and
//! `wait-online`, the D-Bus `StatusJson` property, `n3xnet-report`). The
//! daemon writes it and every reader deserializes these same types, so a
//! renamed field breaks the build, not a reader in the field.
//!
//! Compatibility: within one [`STATUS_SCHEMA_VERSION`] fields are only ever
//! added; readers ignore fields they do not know and default the optional
//! ones, so an older `n3xnetctl` reads a newer daemon's file.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::config::DriftPolicy;
use crate::engine::Outcome;
use crate::health::Health;
use crate::kinds::Role;

/// Where n3xnetd's unit keeps its runtime directory
/// (`RuntimeDirectory=n3xnet`), and so its status file.
pub const DEFAULT_RUNTIME_DIR: &str = "/run/n3xnet";

/// Version of the status JSON; fields are only ever added within one.
pub const STATUS_SCHEMA_VERSION: u32 = 1;

/// The file name under the runtime directory.
pub const STATUS_FILE: &str = "status.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Applying the profile and waiting for the online set.
    #[default]
    Starting,
    Running,
    Reloading,
    /// Exiting; the network is left as it is.
    Stopped,
}

impl Phase {
    /// Every phase: what a Prometheus state set of them lists.
    pub const ALL: [Phase; 4] = [
        Phase::Starting,
        Phase::Running,
        Phase::Reloading,
        Phase::Stopped,
    ];

    /// The name, as in the status file.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Reloading => "reloading",
            Phase::Stopped => "stopped",
        }
    }
}

/// What caused an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The profile applied at start (retried until it succeeds once).
    Start,
    /// Drift found while running (enforce mode).
    Repair,
    /// A reload with a valid configuration and profile.
    Reload,
    /// An explicit request to reconcile now.
    Reconcile,
    /// An operator resumed repairs after a pause.
    Resume,
}

impl Trigger {
    /// The name, as in the status file.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Repair => "repair",
            Trigger::Reload => "reload",
            Trigger::Reconcile => "reconcile",
            Trigger::Resume => "resume",
        }
    }
}

/// The last apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplySummary {
    pub trigger: Trigger,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Write requests, rollback included.
    pub writes: u64,
    /// Operations carried out.
    pub ops: Vec<String>,
    pub total_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at_ms: u64,
}

/// Drift between the profile and the kernel, as last seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftStatus {
    /// The plan that would repair it (empty: in sync).
    pub pending: Vec<String>,
    /// Why the profile cannot be applied to this kernel at all (a declared
    /// NIC missing, a foreign link holding a declared name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// Repairs of this drift wait: it came back `streak` times in a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffStatus>,
    /// Another process holds the namespace's writer lock (`PID N
    /// (command)`): the next apply waits for it to finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackoffStatus {
    pub streak: u32,
    /// Milliseconds until the next repair attempt, when this was written.
    pub next_in_ms: u64,
}

/// The daemon as a whole (`status.json`, schema [`STATUS_SCHEMA_VERSION`]).
/// The default is an empty daemon in [`Phase::Starting`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    pub schema_version: u32,
    pub pid: u32,
    pub node: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub config: PathBuf,
    pub profile: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// [`crate::desired::DesiredNetwork::digest`] of the network it
    /// supervises: `n3xnetctl apply` compares its own with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_digest: Option<String>,
    pub drift_policy: DriftPolicy,
    pub phase: Phase,
    /// `READY=1` was sent: the online set held, or `online.timeout` passed.
    pub ready: bool,
    /// An operator paused repairs (`n3xnetctl pause`): drift is reported,
    /// never repaired, and a reload is checked but not applied until resume.
    pub paused: bool,
    /// The `STATUS=` line.
    pub status: String,
    /// `None` until the first read of the kernel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    pub drift: DriftStatus,
    /// Write requests sent to the kernel since start (0 when everything
    /// was already in sync).
    pub writes: u64,
    /// Drift repairs since start.
    pub repairs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_apply: Option<ApplySummary>,
    /// The last reload's problems; the previous profile is still running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
    /// The DHCP clients' leases (nodes with a DHCP link only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dhcp: Vec<LeaseStatus>,
    /// A confirmed change (`n3xnetctl reload --confirm-within`): pending,
    /// being reverted, or reverted while the profile file still holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<ChangeStatus>,
    pub updated_at_ms: u64,
}

/// Where a confirmed change stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeState {
    /// Applied; reverts at the deadline unless confirmed.
    Pending,
    /// Being reverted: the previous profile is being applied.
    Reverting,
    /// Reverted: the previous profile runs, although the profile file
    /// still holds the change (until it is changed and reloaded).
    Reverted,
    /// The revert failed: the journal is kept; `n3xnetctl rollback` (or a
    /// restart) tries again.
    RevertFailed,
}

impl ChangeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeState::Pending => "pending",
            ChangeState::Reverting => "reverting",
            ChangeState::Reverted => "reverted",
            ChangeState::RevertFailed => "revertFailed",
        }
    }
}

/// What keeps a pending change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Until {
    /// `n3xnetctl confirm` before the deadline.
    Confirmed,
    /// Every target answering before the deadline (or `n3xnetctl
    /// confirm`): `HOST:PORT` for a TCP connect, `arp:ADDRESS` for a
    /// neighbour answering ARP.
    Reachable { targets: Vec<String> },
}

/// A confirmed change, as `status.json` and the daemon's journal show it.
/// Times are wall-clock milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeStatus {
    pub state: ChangeState,
    pub until: Until,
    pub started_at_ms: u64,
    /// When a pending change reverts unless kept.
    pub deadline_ms: u64,
    /// [`crate::desired::DesiredNetwork::digest`] of the change, and of
    /// the network before it (what a revert restores).
    pub change_digest: String,
    pub previous_digest: String,
    /// Why it was (or is being) reverted: `rollback`, `deadline`,
    /// `unreachable`, `restart`, `apply failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why the revert failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last reachability check that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check: Option<String>,
}

/// One DHCP link's lease, as `status.json` shows it. Times are wall-clock
/// milliseconds since the Unix epoch; `...InSecs` are as of `updated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseStatus {
    pub link: String,
    /// `selecting`, `requesting`, `probing` (ARP, for 1 s after the ACK),
    /// `bound`, `renewing`, `rebinding`, or `starting` until the link and
    /// its socket are there.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Ipv4Net>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router: Option<Ipv4Addr>,
    /// The default route via `router` is installed (offered, and the
    /// profile routes the default nowhere else).
    pub default_route: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_secs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t1_secs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t2_secs: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquired_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renew_in_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_secs: Option<u64>,
    /// The profile's reserved address for this node (what k3s is told).
    pub reserved: Option<Ipv4Addr>,
    /// The lease is not the reserved address: the server's reservation
    /// and the profile disagree.
    pub differs_from_reserved: bool,
    /// Received packets dropped, by reason (malformed, another client's,
    /// a second server's offer, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
    /// The last lease lost (expired, refused), until a new one is bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Why the client cannot run (no such link, no socket).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status as a daemon of this schema version's first release wrote
    /// it, with no optional field: still readable.
    const MINIMAL: &str = r#"{
        "schemaVersion": 1, "pid": 7, "node": "server-1",
        "config": "/etc/n3xnet/n3xnet.toml", "profile": "/etc/n3xnet/profile.toml",
        "driftPolicy": "enforce", "phase": "running", "ready": true, "paused": false,
        "status": "online: cluster ok", "drift": {"pending": []},
        "writes": 0, "repairs": 0, "updatedAtMs": 1, "addedLater": {"ignored": true}
    }"#;

    #[test]
    fn names_are_as_serialized() {
        for t in [
            Trigger::Start,
            Trigger::Repair,
            Trigger::Reload,
            Trigger::Reconcile,
            Trigger::Resume,
        ] {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        for p in Phase::ALL {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
    }

    #[test]
    fn an_older_minimal_file_reads_and_round_trips() {
        let s: DaemonStatus = serde_json::from_str(MINIMAL).unwrap();
        assert_eq!(s.phase, Phase::Running);
        assert!(s.health.is_none() && s.dhcp.is_empty());
        let again: DaemonStatus =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(again, s);
    }

    #[test]
    fn the_lease_part_round_trips() {
        let lease = LeaseStatus {
            link: "eth1".into(),
            state: "bound".into(),
            address: Some("192.168.1.150/24".parse().unwrap()),
            dropped: BTreeMap::from([("malformed".to_owned(), 2)]),
            ..LeaseStatus::default()
        };
        let json = serde_json::to_string(&lease).unwrap();
        assert!(json.contains(r#""address":"192.168.1.150/24""#), "{json}");
        assert_eq!(serde_json::from_str::<LeaseStatus>(&json).unwrap(), lease);
    }
}
