//! The Prometheus sink: n3xnetd's status in the text exposition format
//! 0.0.4, as a `.prom` file that node_exporter's textfile collector
//! (`--collector.textfile.directory`; Debian's default is
//! `/var/lib/prometheus/node-exporter`) serves beside the node's other
//! metrics. A file rather than a listening port: the reporter needs no
//! socket and no privilege, and every node already runs node_exporter.
//!
//! **The file changes only when the state does.** The reporter sleeps
//! until `status.json` changes, and its sink ([`super::sink`]) rewrites the
//! file only when its text differs from the last one written, so nothing in the
//! text may move without a change of state: no sample carries the time of
//! the update (`updatedAtMs`), and no duration is counted from now
//! (`renewInSecs`, `expiresInSecs`, a backoff's `nextInMs`). Times are
//! absolute instead, Unix timestamps in seconds
//! (`n3xnet_dhcp_lease_expiry_timestamp_seconds`): they change only when
//! the lease does, and an alert computes what is left as `... - time()`,
//! on Prometheus's clock. The DHCP times are whole seconds: the daemon
//! derives their wall-clock milliseconds from its monotonic clock anew at
//! every update, which moves the last digit by one back and forth.
//!
//! Encodings, chosen so that alerts are plain PromQL:
//! - booleans are gauges of 0 or 1 (`n3xnet_link_carrier`);
//! - levels are gauges ordered like [`Level`]: 0 ok, 1 degraded, 2 down, so
//!   `> 0` is "not ok" and `max` is the worst;
//! - enumerations (a link's operstate, the daemon's phase, the last
//!   apply's outcome, a DHCP client's state) are state sets: one series
//!   per possible value, labelled with it, 1 for the current value and 0
//!   for the others, so every series exists at every scrape and `== 0`
//!   works as well as `== 1`. A value this version does not know (a newer
//!   daemon's) is added to the set, never dropped;
//! - names, ports and addresses are info-style series of value 1
//!   (`n3xnet_bond_active_port{bond,port}`);
//! - an LACP port state is the state byte itself (IEEE 802.1AX: 0x01
//!   activity, 0x02 short timeout, 0x04 aggregation, 0x08 sync, 0x10
//!   collecting, 0x20 distributing, 0x40 defaulted, 0x80 expired), which
//!   shows every bit and selects any of them: `floor(x / 8) % 8 == 7` is
//!   "sync, collecting and distributing". `n3xnet_bond_port_lacp_full` is
//!   the health model's verdict on top (both ends at those three, in the
//!   bond's active aggregator);
//! - counters (`_total`) count since the daemon started, as its status
//!   does: they reset when it restarts, as `rate()` and `increase()`
//!   expect. A bond port's link failures are the kernel's count since the
//!   port joined the bond.
//!
//! Without a health (the daemon has not read the kernel yet) only the
//! daemon's own families are written: a link that is not known yet is not
//! reported as down. A family without samples is left out entirely.

use std::fmt::Write as _;

use crate::api::status::{DaemonStatus, LeaseStatus, Phase};
use crate::engine::Outcome;
use crate::health::{
    operstate_name, BondHealth, Health, Level, LinkHealth, NetworkHealth, PortHealth,
};
use crate::kinds::Role;
use crate::state::OperState;

/// The states of a DHCP client ([`LeaseStatus::state`]), in the order of
/// a lease's life.
const LEASE_STATES: [&str; 7] = [
    "starting",
    "selecting",
    "requesting",
    "probing",
    "bound",
    "renewing",
    "rebinding",
];

/// The outcome of an apply that failed before its transaction started
/// (the writer lock, the first dump): the status has no [`Outcome`] then.
const APPLY_ERROR: &str = "error";

/// The metrics of `status`, in the text exposition format 0.0.4: each
/// family's HELP and TYPE, then its samples, the families always in the
/// same order (the daemon's, links, bonds, their ports, logical networks,
/// DHCP) and the samples in the status's own order.
pub fn render(status: &DaemonStatus) -> String {
    let mut out = Exposition::default();
    daemon(&mut out, status);
    if let Some(health) = &status.health {
        links(&mut out, health);
        bonds(&mut out, health);
        networks(&mut out, health);
    }
    dhcp(&mut out, &status.dhcp);
    out.text
}

/// A sample's labels, in the order written.
type Labels = Vec<(&'static str, String)>;

/// A sample: its labels and value.
type Sample = (Labels, f64);

#[derive(Debug, Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        }
    }
}

/// A family with one sample per item of a kind (the daemon, a link, a
/// bond, a port, a network, a lease), for the items that have a value.
struct PerItem<T> {
    name: &'static str,
    kind: Kind,
    help: &'static str,
    value: fn(&T) -> Option<f64>,
}

/// The text being rendered.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    /// Each family of `families` over `items`, each item with its labels.
    fn per_item<T>(&mut self, families: &[PerItem<T>], items: &[(Labels, &T)]) {
        for f in families {
            let samples = items
                .iter()
                .filter_map(|(labels, item)| Some((labels.clone(), (f.value)(item)?)));
            self.family(f.name, f.kind, f.help, samples);
        }
    }

    /// An info-style family: one sample of value 1 per label set.
    fn info(&mut self, name: &str, help: &str, labels: impl IntoIterator<Item = Labels>) {
        self.family(
            name,
            Kind::Gauge,
            help,
            labels.into_iter().map(|l| (l, 1.0)),
        );
    }

    /// A state set: for each item (its labels and current value), one
    /// sample per state, labelled `key`, 1 for the current one.
    fn state_set<'a>(
        &mut self,
        name: &str,
        help: &str,
        key: &'static str,
        states: &[&'a str],
        items: impl IntoIterator<Item = (Labels, Option<&'a str>)>,
    ) {
        let samples = items.into_iter().flat_map(|(labels, current)| {
            let unknown = current.filter(|c| !states.contains(c));
            states.iter().copied().chain(unknown).map(move |state| {
                let mut labels = labels.clone();
                labels.push((key, state.to_owned()));
                (labels, flag(current == Some(state)))
            })
        });
        self.family(name, Kind::Gauge, help, samples);
    }

    /// HELP, TYPE and the samples; nothing at all without samples.
    fn family(
        &mut self,
        name: &str,
        kind: Kind,
        help: &str,
        samples: impl IntoIterator<Item = Sample>,
    ) {
        let mut samples = samples.into_iter().peekable();
        if samples.peek().is_none() {
            return;
        }
        let _ = writeln!(self.text, "# HELP {name} {}", escape(help, false));
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
        for (labels, value) in samples {
            self.text.push_str(name);
            for (i, (key, value)) in labels.iter().enumerate() {
                self.text.push(if i == 0 { '{' } else { ',' });
                let _ = write!(self.text, "{key}=\"{}\"", escape(value, true));
            }
            if !labels.is_empty() {
                self.text.push('}');
            }
            // Finite by construction (counts, and numbers read from JSON,
            // which has no infinities), and Rust's shortest round-trip
            // form is one the format accepts.
            let _ = writeln!(self.text, " {value}");
        }
    }
}

/// `text` escaped as the format wants: backslash and line feed always, the
/// double quote in label values (a HELP text may hold one as it is).
fn escape(text: &str, in_quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if in_quotes => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// 0 ok, 1 degraded, 2 down.
fn level(l: Level) -> f64 {
    match l {
        Level::Ok => 0.0,
        Level::Degraded => 1.0,
        Level::Down => 2.0,
    }
}

/// Wall-clock milliseconds as whole Unix seconds (see the module head).
fn whole_seconds(ms: u64) -> f64 {
    (ms / 1000) as f64
}

const DAEMON: &[PerItem<DaemonStatus>] = &[
    PerItem {
        name: "n3xnet_node_online",
        kind: Kind::Gauge,
        help: "1 while every network of the online set (online.require) carries traffic.",
        value: |s| s.health.as_ref().map(|h| flag(h.online)),
    },
    PerItem {
        name: "n3xnet_node_level",
        kind: Kind::Gauge,
        help: "The worst level of the node's logical networks: 0 ok, 1 degraded, 2 down.",
        value: |s| s.health.as_ref().map(|h| level(h.level)),
    },
    PerItem {
        name: "n3xnet_daemon_ready",
        kind: Kind::Gauge,
        help: "1 once n3xnetd sent READY=1: the online set held, or online.timeout passed.",
        value: |s| Some(flag(s.ready)),
    },
    PerItem {
        name: "n3xnet_daemon_paused",
        kind: Kind::Gauge,
        help: "1 while an operator has paused repairs (n3xnetctl pause): drift is reported, not repaired.",
        value: |s| Some(flag(s.paused)),
    },
    PerItem {
        name: "n3xnet_reload_failed",
        kind: Kind::Gauge,
        help: "1 while the last reload's configuration or profile is refused; the previous one runs.",
        value: |s| Some(flag(s.reload_error.is_some())),
    },
    PerItem {
        name: "n3xnet_drift_pending_operations",
        kind: Kind::Gauge,
        help: "Operations of the plan that would repair the drift between profile and kernel (0: in sync).",
        value: |s| Some(s.drift.pending.len() as f64),
    },
    PerItem {
        name: "n3xnet_drift_conflict",
        kind: Kind::Gauge,
        help: "1 while the profile cannot be applied to this kernel at all (a declared NIC missing, a foreign link holding a declared name).",
        value: |s| Some(flag(s.drift.conflict.is_some())),
    },
    PerItem {
        name: "n3xnet_repair_backoff_streak",
        kind: Kind::Gauge,
        help: "Times in a row the same drift came back, while its next repair waits (0: no backoff).",
        value: |s| Some(f64::from(s.drift.backoff.as_ref().map_or(0, |b| b.streak))),
    },
    PerItem {
        name: "n3xnet_repairs_total",
        kind: Kind::Counter,
        help: "Drift repairs since n3xnetd started.",
        value: |s| Some(f64::from(s.repairs)),
    },
    PerItem {
        name: "n3xnet_netlink_writes_total",
        kind: Kind::Counter,
        help: "Netlink write requests n3xnetd sent to the kernel since it started.",
        value: |s| Some(s.writes as f64),
    },
    PerItem {
        name: "n3xnet_last_apply_duration_seconds",
        kind: Kind::Gauge,
        help: "How long the last apply took.",
        value: |s| s.last_apply.as_ref().map(|a| a.total_ms / 1000.0),
    },
    PerItem {
        name: "n3xnet_last_apply_writes",
        kind: Kind::Gauge,
        help: "Netlink write requests of the last apply, its rollback included.",
        value: |s| s.last_apply.as_ref().map(|a| a.writes as f64),
    },
    PerItem {
        name: "n3xnet_last_apply_timestamp_seconds",
        kind: Kind::Gauge,
        help: "When the last apply ran, in Unix time.",
        value: |s| s.last_apply.as_ref().map(|a| a.at_ms as f64 / 1000.0),
    },
];

fn daemon(out: &mut Exposition, s: &DaemonStatus) {
    out.info(
        "n3xnet_node_info",
        "The node n3xnetd supervises and its role (empty: not configured); always 1.",
        [vec![
            ("node", s.node.clone()),
            ("role", s.role.map_or("", Role::as_str).to_owned()),
        ]],
    );
    out.per_item(DAEMON, &[(Vec::new(), s)]);
    out.state_set(
        "n3xnet_daemon_phase",
        "n3xnetd's phase: 1 for the current one.",
        "phase",
        &Phase::ALL.map(Phase::as_str),
        [(Vec::new(), Some(s.phase.as_str()))],
    );
    let outcomes: Vec<&str> = Outcome::ALL
        .map(Outcome::as_str)
        .into_iter()
        .chain([APPLY_ERROR])
        .collect();
    out.state_set(
        "n3xnet_last_apply_outcome",
        "The last apply's outcome, 1 for it (error: it failed before its transaction started).",
        "outcome",
        &outcomes,
        s.last_apply.iter().map(|a| {
            (
                Vec::new(),
                Some(a.outcome.map_or(APPLY_ERROR, Outcome::as_str)),
            )
        }),
    );
}

const LINK: &[PerItem<LinkHealth>] = &[
    PerItem {
        name: "n3xnet_link_present",
        kind: Kind::Gauge,
        help: "1 when the link exists.",
        value: |l| Some(flag(l.present)),
    },
    PerItem {
        name: "n3xnet_link_admin_up",
        kind: Kind::Gauge,
        help: "1 when the link is administratively up.",
        value: |l| Some(flag(l.admin_up)),
    },
    PerItem {
        name: "n3xnet_link_carrier",
        kind: Kind::Gauge,
        help: "1 when the link has a carrier.",
        value: |l| Some(flag(l.carrier)),
    },
    PerItem {
        name: "n3xnet_link_up",
        kind: Kind::Gauge,
        help: "1 when the link carries traffic: present, admin up, carrier, operstate up (or unknown).",
        value: |l| Some(flag(l.level == Level::Ok)),
    },
    PerItem {
        name: "n3xnet_link_flaps_total",
        kind: Kind::Counter,
        help: "Carrier losses of the link since n3xnetd started.",
        value: |l| Some(f64::from(l.flaps)),
    },
];

fn links(out: &mut Exposition, h: &Health) {
    let items: Vec<(Labels, &LinkHealth)> = h
        .links
        .iter()
        .map(|l| (vec![("link", l.name.clone())], l))
        .collect();
    out.per_item(LINK, &items);
    out.state_set(
        "n3xnet_link_operstate",
        "The link's operstate (RFC 2863), 1 for the current one; all 0 while the link is missing.",
        "state",
        &OperState::ALL.map(operstate_name),
        items
            .iter()
            .map(|(labels, l)| (labels.clone(), l.operstate.map(operstate_name))),
    );
}

const BOND: &[PerItem<BondHealth>] = &[
    PerItem {
        name: "n3xnet_bond_level",
        kind: Kind::Gauge,
        help: "The bond's level: 0 ok (every port up), 1 degraded, 2 down (fewer than max(minLinks, 1) ports up).",
        value: |b| Some(level(b.level)),
    },
    PerItem {
        name: "n3xnet_bond_ports_up",
        kind: Kind::Gauge,
        help: "Ports that can carry traffic: MII up and, for 802.3ad, in the active aggregator at full LACP state.",
        value: |b| Some(f64::from(b.ports_up)),
    },
    PerItem {
        name: "n3xnet_bond_ports",
        kind: Kind::Gauge,
        help: "Ports the profile declares for the bond.",
        value: |b| Some(f64::from(b.ports_total)),
    },
    PerItem {
        name: "n3xnet_bond_min_links",
        kind: Kind::Gauge,
        help: "The bond's minLinks (0: not set).",
        value: |b| Some(f64::from(b.min_links)),
    },
    PerItem {
        name: "n3xnet_bond_aggregator_id",
        kind: Kind::Gauge,
        help: "The id of the bond's active 802.3ad aggregator.",
        value: |b| Some(f64::from(b.aggregator.as_ref()?.id)),
    },
];

const PORT: &[PerItem<PortHealth>] = &[
    PerItem {
        name: "n3xnet_bond_port_up",
        kind: Kind::Gauge,
        help: "1 when the port can carry the bond's traffic (see n3xnet_bond_ports_up).",
        value: |p| Some(flag(p.up)),
    },
    PerItem {
        name: "n3xnet_bond_port_mii_up",
        kind: Kind::Gauge,
        help: "1 when the bond sees the port's MII status up.",
        value: |p| Some(flag(p.mii_status.as_deref() == Some("up"))),
    },
    PerItem {
        name: "n3xnet_bond_port_link_failures_total",
        kind: Kind::Counter,
        help: "The kernel's link failure count of the port, since it joined the bond.",
        value: |p| Some(f64::from(p.link_failures)),
    },
    PerItem {
        name: "n3xnet_bond_port_lacp_actor_state",
        kind: Kind::Gauge,
        help: "The port's own LACP state byte (0x08 sync, 0x10 collecting, 0x20 distributing).",
        value: |p| Some(f64::from(p.lacp.as_ref()?.actor_state)),
    },
    PerItem {
        name: "n3xnet_bond_port_lacp_partner_state",
        kind: Kind::Gauge,
        help: "The LACP state byte the partner (the switch) sends for the port (0x08 sync, 0x10 collecting, 0x20 distributing).",
        value: |p| Some(f64::from(p.lacp.as_ref()?.partner_state)),
    },
    PerItem {
        name: "n3xnet_bond_port_lacp_full",
        kind: Kind::Gauge,
        help: "1 when actor and partner are at sync, collecting and distributing in the bond's active aggregator.",
        value: |p| Some(flag(p.lacp.as_ref()?.full)),
    },
    PerItem {
        name: "n3xnet_bond_port_lacp_churn_total",
        kind: Kind::Counter,
        help: "Times the port fell out of full LACP state since n3xnetd started.",
        value: |p| Some(f64::from(p.lacp.as_ref()?.churn)),
    },
    PerItem {
        name: "n3xnet_bond_port_aggregator_id",
        kind: Kind::Gauge,
        help: "The id of the 802.3ad aggregator the port is in.",
        value: |p| Some(f64::from(p.lacp.as_ref()?.aggregator_id?)),
    },
];

fn bonds(out: &mut Exposition, h: &Health) {
    let bond_labels = |b: &BondHealth| vec![("bond", b.name.clone())];
    out.info(
        "n3xnet_bond_info",
        "A bond and its mode; always 1.",
        h.bonds.iter().map(|b| {
            let mut labels = bond_labels(b);
            labels.push(("mode", b.mode.clone()));
            labels
        }),
    );
    out.info(
        "n3xnet_bond_active_port",
        "The port carrying the bond's traffic, for modes that have one; always 1.",
        h.bonds.iter().filter_map(|b| {
            let mut labels = bond_labels(b);
            labels.push(("port", b.active_port.clone()?));
            Some(labels)
        }),
    );
    let bonds: Vec<(Labels, &BondHealth)> = h.bonds.iter().map(|b| (bond_labels(b), b)).collect();
    out.per_item(BOND, &bonds);
    let ports: Vec<(Labels, &PortHealth)> = h
        .bonds
        .iter()
        .flat_map(|b| {
            b.ports.iter().map(move |p| {
                let mut labels = bond_labels(b);
                labels.push(("port", p.name.clone()));
                (labels, p)
            })
        })
        .collect();
    out.per_item(PORT, &ports);
}

const NETWORK: &[PerItem<NetworkHealth>] = &[
    PerItem {
        name: "n3xnet_network_level",
        kind: Kind::Gauge,
        help: "A logical network's level: 0 ok, 1 degraded (less redundancy), 2 down.",
        value: |n| Some(level(n.level)),
    },
    PerItem {
        name: "n3xnet_network_required",
        kind: Kind::Gauge,
        help: "1 when the network is part of the online set (online.require).",
        value: |n| Some(flag(n.required)),
    },
];

fn networks(out: &mut Exposition, h: &Health) {
    let items: Vec<(Labels, &NetworkHealth)> = h
        .networks
        .iter()
        .map(|n| {
            let labels = vec![
                ("network", n.name.clone()),
                ("kind", n.kind.as_str().to_owned()),
                ("link", n.link.clone()),
            ];
            (labels, n)
        })
        .collect();
    out.per_item(NETWORK, &items);
}

const LEASE: &[PerItem<LeaseStatus>] = &[
    PerItem {
        name: "n3xnet_dhcp_lease_duration_seconds",
        kind: Kind::Gauge,
        help: "The lease time the server granted.",
        value: |l| l.lease_secs.map(f64::from),
    },
    PerItem {
        name: "n3xnet_dhcp_lease_renewal_timestamp_seconds",
        kind: Kind::Gauge,
        help: "When the client renews the lease (T1), in Unix time, whole seconds.",
        value: |l| l.renew_at_ms.map(whole_seconds),
    },
    PerItem {
        name: "n3xnet_dhcp_lease_expiry_timestamp_seconds",
        kind: Kind::Gauge,
        help: "When the lease expires unless renewed, in Unix time, whole seconds; the address goes then.",
        value: |l| l.expires_at_ms.map(whole_seconds),
    },
    PerItem {
        name: "n3xnet_dhcp_lease_differs_from_reserved",
        kind: Kind::Gauge,
        help: "1 when the leased address is not the profile's reserved address for this node.",
        value: |l| Some(flag(l.differs_from_reserved)),
    },
];

fn dhcp(out: &mut Exposition, leases: &[LeaseStatus]) {
    let items: Vec<(Labels, &LeaseStatus)> = leases
        .iter()
        .map(|l| (vec![("link", l.link.clone())], l))
        .collect();
    out.state_set(
        "n3xnet_dhcp_lease_state",
        "The DHCP client's state on the link, 1 for the current one.",
        "state",
        &LEASE_STATES,
        items
            .iter()
            .map(|(labels, l)| (labels.clone(), Some(l.state.as_str()))),
    );
    out.info(
        "n3xnet_dhcp_lease_info",
        "The leased address and the server that leased it; always 1.",
        items.iter().filter_map(|(labels, l)| {
            let mut labels = labels.clone();
            labels.push(("address", l.address?.to_string()));
            let server = l.server.map(|s| s.to_string()).unwrap_or_default();
            labels.push(("server", server));
            Some(labels)
        }),
    );
    out.per_item(LEASE, &items);
    out.family(
        "n3xnet_dhcp_dropped_packets_total",
        Kind::Counter,
        "Received DHCP packets the client dropped since n3xnetd started, by reason.",
        items.iter().flat_map(|(labels, l)| {
            l.dropped.iter().map(move |(reason, n)| {
                let mut labels = labels.clone();
                labels.push(("reason", reason.clone()));
                (labels, *n as f64)
            })
        }),
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::ffi::OsStr;
    use std::path::Path;

    use super::*;
    use crate::api::status::{ApplySummary, Trigger, STATUS_SCHEMA_VERSION};
    use crate::desired::DesiredNetwork;
    use crate::health::fixtures::{link, port, settled};
    use crate::plan::fixture::{desired_from, PROFILE};

    /// plan::fixture's node (bond0 = eth1 + eth2 under the cluster and
    /// storage VLANs, the macvlan shim mv-storage of the NAD storage-net)
    /// with its bond in 802.3ad.
    fn lacp_node() -> DesiredNetwork {
        desired_from(&PROFILE.replace(
            "mode = \"active-backup\"\nprimary = \"eth1\"",
            "mode = \"802.3ad\"",
        ))
    }

    fn health(d: &DesiredNetwork, s: &crate::state::KernelState, prev: Option<&Health>) -> Health {
        Health::compute(d, s, prev, &["cluster".to_owned()])
    }

    /// A bound one-hour lease on eth0 (a management NIC beside the
    /// profile's: the sink reports whatever the status holds), taken at
    /// 2026-01-01 00:00:00.123 UTC.
    fn lease() -> LeaseStatus {
        const ACQUIRED: u64 = 1_767_225_600_123;
        LeaseStatus {
            link: "eth0".into(),
            state: "bound".into(),
            address: Some("10.0.0.23/24".parse().unwrap()),
            server: Some("10.0.0.1".parse().unwrap()),
            router: Some("10.0.0.1".parse().unwrap()),
            default_route: false,
            lease_secs: Some(3600),
            t1_secs: Some(1800),
            t2_secs: Some(3150),
            acquired_at_ms: Some(ACQUIRED),
            renew_at_ms: Some(ACQUIRED + 1_800_000),
            expires_at_ms: Some(ACQUIRED + 3_600_000),
            renew_in_secs: Some(1799),
            expires_in_secs: Some(3599),
            reserved: Some("10.0.0.23".parse().unwrap()),
            differs_from_reserved: false,
            dropped: BTreeMap::from([("malformed".to_owned(), 2)]),
            event: None,
            error: None,
        }
    }

    /// The running daemon of [`lacp_node`] with every cable in, the lease,
    /// and a repair behind it (the shim recreated).
    fn healthy() -> DaemonStatus {
        let d = lacp_node();
        let health = health(&d, &settled(&d, &["eth1", "eth2"]), None);
        DaemonStatus {
            schema_version: STATUS_SCHEMA_VERSION,
            pid: 4242,
            node: "server-1".into(),
            role: Some(Role::Server),
            config: "/etc/n3xnet/n3xnet.toml".into(),
            profile: "/etc/n3xnet/profile.toml".into(),
            phase: Phase::Running,
            ready: true,
            status: health.summary.clone(),
            health: Some(health),
            writes: 18,
            repairs: 1,
            last_apply: Some(ApplySummary {
                trigger: Trigger::Repair,
                outcome: Some(Outcome::Applied),
                writes: 4,
                ops: vec!["create mv-storage macvlan bridge on bond0.100 mtu 1500".into()],
                total_ms: 38.25,
                error: None,
                at_ms: 1_767_225_590_250,
            }),
            dhcp: vec![lease()],
            updated_at_ms: 1_767_225_600_500,
            ..DaemonStatus::default()
        }
    }

    /// The same daemon after eth2's cable was pulled: carrier and MII down,
    /// one failure, the LACP partner of the port defaulted.
    fn pulled() -> DaemonStatus {
        let d = lacp_node();
        let before = healthy();
        let mut s = settled(&d, &["eth1", "eth2"]);
        link(&mut s, "eth2").carrier = false;
        link(&mut s, "eth2").operstate = OperState::Down;
        let p = port(&mut s, "eth2");
        p.mii_status = "down".into();
        p.link_failure_count = 1;
        p.actor_oper_port_state = Some(0x47);
        p.partner_oper_port_state = Some(0x01);
        let health = health(&d, &s, before.health.as_ref());
        DaemonStatus {
            status: health.summary.clone(),
            health: Some(health),
            updated_at_ms: before.updated_at_ms + 1_500,
            ..before
        }
    }

    /// Every line of `want` is a whole line of `text`.
    fn assert_lines(text: &str, want: &str) {
        let have: Vec<&str> = text.lines().collect();
        for line in want.lines().map(str::trim).filter(|l| !l.is_empty()) {
            assert!(have.contains(&line), "no line\n{line}\nin\n{text}");
        }
    }

    #[test]
    fn a_starting_daemon_reports_only_itself() {
        let s = DaemonStatus {
            node: "agent-1".into(),
            ..DaemonStatus::default()
        };
        assert_eq!(
            render(&s),
            "# HELP n3xnet_node_info The node n3xnetd supervises and its role (empty: not configured); always 1.
# TYPE n3xnet_node_info gauge
n3xnet_node_info{node=\"agent-1\",role=\"\"} 1
# HELP n3xnet_daemon_ready 1 once n3xnetd sent READY=1: the online set held, or online.timeout passed.
# TYPE n3xnet_daemon_ready gauge
n3xnet_daemon_ready 0
# HELP n3xnet_daemon_paused 1 while an operator has paused repairs (n3xnetctl pause): drift is reported, not repaired.
# TYPE n3xnet_daemon_paused gauge
n3xnet_daemon_paused 0
# HELP n3xnet_reload_failed 1 while the last reload's configuration or profile is refused; the previous one runs.
# TYPE n3xnet_reload_failed gauge
n3xnet_reload_failed 0
# HELP n3xnet_drift_pending_operations Operations of the plan that would repair the drift between profile and kernel (0: in sync).
# TYPE n3xnet_drift_pending_operations gauge
n3xnet_drift_pending_operations 0
# HELP n3xnet_drift_conflict 1 while the profile cannot be applied to this kernel at all (a declared NIC missing, a foreign link holding a declared name).
# TYPE n3xnet_drift_conflict gauge
n3xnet_drift_conflict 0
# HELP n3xnet_repair_backoff_streak Times in a row the same drift came back, while its next repair waits (0: no backoff).
# TYPE n3xnet_repair_backoff_streak gauge
n3xnet_repair_backoff_streak 0
# HELP n3xnet_repairs_total Drift repairs since n3xnetd started.
# TYPE n3xnet_repairs_total counter
n3xnet_repairs_total 0
# HELP n3xnet_netlink_writes_total Netlink write requests n3xnetd sent to the kernel since it started.
# TYPE n3xnet_netlink_writes_total counter
n3xnet_netlink_writes_total 0
# HELP n3xnet_daemon_phase n3xnetd's phase: 1 for the current one.
# TYPE n3xnet_daemon_phase gauge
n3xnet_daemon_phase{phase=\"starting\"} 1
n3xnet_daemon_phase{phase=\"running\"} 0
n3xnet_daemon_phase{phase=\"reloading\"} 0
n3xnet_daemon_phase{phase=\"stopped\"} 0
"
        );
    }

    #[test]
    fn a_pulled_lacp_port_shows_in_every_family_of_its_own() {
        let text = render(&pulled());
        assert_lines(
            &text,
            r#"
            n3xnet_node_info{node="server-1",role="server"} 1
            n3xnet_node_online 1
            n3xnet_node_level 1
            n3xnet_daemon_phase{phase="running"} 1
            n3xnet_daemon_ready 1
            n3xnet_repairs_total 1
            n3xnet_netlink_writes_total 18
            # HELP n3xnet_last_apply_outcome The last apply's outcome, 1 for it (error: it failed before its transaction started).
            # TYPE n3xnet_last_apply_outcome gauge
            n3xnet_last_apply_outcome{outcome="in-sync"} 0
            n3xnet_last_apply_outcome{outcome="applied"} 1
            n3xnet_last_apply_outcome{outcome="error"} 0
            n3xnet_last_apply_duration_seconds 0.03825
            n3xnet_last_apply_writes 4
            n3xnet_last_apply_timestamp_seconds 1767225590.25
            n3xnet_link_present{link="eth2"} 1
            n3xnet_link_admin_up{link="eth2"} 1
            n3xnet_link_carrier{link="eth1"} 1
            n3xnet_link_carrier{link="eth2"} 0
            n3xnet_link_up{link="eth2"} 0
            n3xnet_link_operstate{link="eth2",state="down"} 1
            n3xnet_link_operstate{link="eth2",state="up"} 0
            n3xnet_link_operstate{link="eth1",state="up"} 1
            # HELP n3xnet_link_flaps_total Carrier losses of the link since n3xnetd started.
            # TYPE n3xnet_link_flaps_total counter
            n3xnet_link_flaps_total{link="eth1"} 0
            n3xnet_link_flaps_total{link="eth2"} 1
            n3xnet_bond_info{bond="bond0",mode="802.3ad"} 1
            n3xnet_bond_level{bond="bond0"} 1
            n3xnet_bond_ports_up{bond="bond0"} 1
            n3xnet_bond_ports{bond="bond0"} 2
            n3xnet_bond_min_links{bond="bond0"} 0
            n3xnet_bond_active_port{bond="bond0",port="eth1"} 1
            n3xnet_bond_aggregator_id{bond="bond0"} 1
            n3xnet_bond_port_up{bond="bond0",port="eth1"} 1
            n3xnet_bond_port_up{bond="bond0",port="eth2"} 0
            n3xnet_bond_port_mii_up{bond="bond0",port="eth1"} 1
            n3xnet_bond_port_mii_up{bond="bond0",port="eth2"} 0
            n3xnet_bond_port_link_failures_total{bond="bond0",port="eth2"} 1
            n3xnet_bond_port_lacp_actor_state{bond="bond0",port="eth1"} 63
            n3xnet_bond_port_lacp_actor_state{bond="bond0",port="eth2"} 71
            n3xnet_bond_port_lacp_partner_state{bond="bond0",port="eth1"} 61
            n3xnet_bond_port_lacp_partner_state{bond="bond0",port="eth2"} 1
            n3xnet_bond_port_lacp_full{bond="bond0",port="eth1"} 1
            n3xnet_bond_port_lacp_full{bond="bond0",port="eth2"} 0
            n3xnet_bond_port_lacp_churn_total{bond="bond0",port="eth2"} 1
            n3xnet_bond_port_aggregator_id{bond="bond0",port="eth2"} 1
            n3xnet_network_level{network="cluster",kind="cluster",link="bond0.200"} 1
            n3xnet_network_level{network="storage",kind="storage",link="bond0.100"} 1
            n3xnet_network_level{network="multus:storage-net",kind="multus",link="mv-storage"} 1
            n3xnet_network_required{network="cluster",kind="cluster",link="bond0.200"} 1
            n3xnet_network_required{network="storage",kind="storage",link="bond0.100"} 0
            n3xnet_dhcp_lease_state{link="eth0",state="bound"} 1
            n3xnet_dhcp_lease_state{link="eth0",state="rebinding"} 0
            n3xnet_dhcp_lease_info{link="eth0",address="10.0.0.23/24",server="10.0.0.1"} 1
            n3xnet_dhcp_lease_duration_seconds{link="eth0"} 3600
            n3xnet_dhcp_lease_renewal_timestamp_seconds{link="eth0"} 1767227400
            n3xnet_dhcp_lease_expiry_timestamp_seconds{link="eth0"} 1767229200
            n3xnet_dhcp_lease_differs_from_reserved{link="eth0"} 0
            n3xnet_dhcp_dropped_packets_total{link="eth0",reason="malformed"} 2
            "#,
        );
        // Before the pull: the same families, all ok.
        assert_lines(
            &render(&healthy()),
            r#"
            n3xnet_node_level 0
            n3xnet_bond_ports_up{bond="bond0"} 2
            n3xnet_bond_port_mii_up{bond="bond0",port="eth2"} 1
            n3xnet_bond_port_lacp_partner_state{bond="bond0",port="eth2"} 61
            n3xnet_link_flaps_total{link="eth2"} 0
            "#,
        );
    }

    /// Each family once: HELP, TYPE, then only its own samples; counters
    /// and only counters end in `_total`.
    #[test]
    fn families_are_whole_and_named_by_the_rules() {
        let text = render(&pulled());
        let mut seen = Vec::new();
        let mut lines = text.lines().peekable();
        while let Some(help) = lines.next() {
            let name = help
                .strip_prefix("# HELP ")
                .and_then(|h| h.split(' ').next())
                .unwrap_or_else(|| panic!("not a HELP line: {help}"));
            assert!(!seen.contains(&name), "{name} twice");
            seen.push(name);
            let kind = lines
                .next()
                .and_then(|t| t.strip_prefix(&format!("# TYPE {name} ")))
                .unwrap_or_else(|| panic!("no TYPE after the HELP of {name}"));
            assert_eq!(kind == "counter", name.ends_with("_total"), "{name} {kind}");
            assert!(name.starts_with("n3xnet_"), "{name}");
            let mut samples = 0;
            while let Some(sample) = lines.next_if(|l| !l.starts_with('#')) {
                let rest = sample.strip_prefix(name).unwrap_or("");
                assert!(rest.starts_with(['{', ' ']), "{sample} under {name}");
                samples += 1;
            }
            assert!(samples > 0, "{name} without samples");
        }
        assert_eq!(seen.len(), 46, "{seen:?}");
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        let mut s = pulled();
        let h = s.health.as_mut().unwrap();
        h.networks[2].name = "multus:we\"ird\\na\nme".into();
        assert_lines(
            &render(&s),
            r#"n3xnet_network_required{network="multus:we\"ird\\na\nme",kind="multus",link="mv-storage"} 0"#,
        );
        assert_eq!(escape("a \"b\" c\\d\ne", false), r#"a "b" c\\d\ne"#);
    }

    #[test]
    fn only_a_change_of_state_changes_the_text() {
        let before = render(&pulled());
        // What moves at every update without a change of state.
        let mut s = pulled();
        s.updated_at_ms += 60_000;
        s.pid += 1;
        s.status = "online: something else".into();
        let l = &mut s.dhcp[0];
        l.renew_in_secs = Some(1000);
        l.expires_in_secs = Some(2800);
        // The daemon's monotonic-derived wall times wobble by a millisecond.
        l.renew_at_ms = l.renew_at_ms.map(|t| t - 1);
        l.expires_at_ms = l.expires_at_ms.map(|t| t + 1);
        assert_eq!(render(&s), before);
        // A renewal is a change: the new times show.
        let l = &mut s.dhcp[0];
        l.renew_at_ms = l.renew_at_ms.map(|t| t + 1_800_000);
        l.expires_at_ms = l.expires_at_ms.map(|t| t + 1_800_000);
        let after = render(&s);
        assert_lines(
            &after,
            r#"n3xnet_dhcp_lease_expiry_timestamp_seconds{link="eth0"} 1767231000"#,
        );
    }

    #[test]
    fn state_sets_keep_a_state_they_do_not_know() {
        let mut s = pulled();
        s.dhcp[0].state = "declining".into();
        s.last_apply.as_mut().unwrap().outcome = None;
        s.health.as_mut().unwrap().links[0].operstate = None;
        let text = render(&s);
        assert_lines(
            &text,
            r#"
            n3xnet_dhcp_lease_state{link="eth0",state="bound"} 0
            n3xnet_dhcp_lease_state{link="eth0",state="declining"} 1
            n3xnet_last_apply_outcome{outcome="applied"} 0
            n3xnet_last_apply_outcome{outcome="error"} 1
            "#,
        );
        let first = &s.health.as_ref().unwrap().links[0].name;
        let set = format!("n3xnet_link_operstate{{link=\"{first}\",");
        let states: Vec<&str> = text.lines().filter(|l| l.starts_with(&set)).collect();
        assert_eq!(states.len(), OperState::ALL.len(), "{states:?}");
        assert!(states.iter().all(|l| l.ends_with(" 0")), "{states:?}");
    }

    #[test]
    fn the_temporary_file_is_one_the_collector_skips() {
        let (_, tmp) = crate::files::temporary_beside(Path::new("/t/n3xnet.prom")).unwrap();
        assert_ne!(tmp.extension(), Some(OsStr::new("prom")), "{tmp:?}");
    }

    /// `tests/report_textfile.rs` feeds these statuses, as JSON, to the
    /// real promtool and node_exporter. `N3XNET_BLESS=1` rewrites them.
    #[test]
    fn the_integration_tests_statuses_are_these_fixtures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/report");
        for (name, status) in [("healthy.json", healthy()), ("eth2-pulled.json", pulled())] {
            let path = dir.join(name);
            let want = serde_json::to_string_pretty(&status).unwrap() + "\n";
            if std::env::var("N3XNET_BLESS").as_deref() == Ok("1") {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &want).unwrap();
            }
            let have = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                have == want,
                "{} is stale: N3XNET_BLESS=1 cargo test --lib report:: rewrites it",
                path.display()
            );
        }
    }
}
