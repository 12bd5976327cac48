//! `n3xnetctl status`: the node's network. When n3xnetd runs (for the same
//! network namespace), its view over D-Bus first: state, health, drift,
//! last apply; then, and otherwise alone, the kernel read in one dump:
//! links with bond ports and LACP state, VLANs, addresses, routes and
//! whether there is a default route. `--watch` follows the daemon's
//! `HealthChanged` signal instead.

use futures::StreamExt as _;
use serde::Serialize;
use tokio::signal::unix::{signal, SignalKind};

use crate::api::status::{DaemonStatus, LeaseStatus};
use crate::clock::now_ms;
use crate::exit;
use crate::health::Health;
use crate::state::{KernelState, Link, LinkInfo, STATE_SCHEMA_VERSION};

use super::engine::{with_handle, Target};
use super::{block_on, daemon, Failure};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Follow n3xnetd's health: the current one, then a line per change (with --json one
    /// JSON object per line) until interrupted. Needs a running n3xnetd (exit 69 otherwise).
    #[arg(long)]
    pub watch: bool,
    /// Read the kernel only, even when n3xnetd runs.
    #[arg(long, conflicts_with = "watch")]
    pub kernel: bool,
}

/// `status --json`, schema version [`STATE_SCHEMA_VERSION`]: the
/// [`KernelState`] fields plus a summary and, when n3xnetd answered
/// (`source: "daemon"`), its status as in `status.json`; fields are only
/// ever added within one version.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut<'a> {
    schema_version: u32,
    /// `daemon` when n3xnetd answered over D-Bus, `kernel` otherwise.
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    has_default_route: Option<bool>,
    #[serde(flatten)]
    state: Option<&'a KernelState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    daemon: Option<&'a DaemonStatus>,
    /// Why the kernel could not be read when the daemon answered anyway
    /// (an unprivileged caller cannot enter another network namespace).
    #[serde(skip_serializing_if = "Option::is_none")]
    kernel_error: Option<&'a str>,
}

pub fn run(a: &Args) -> Result<u8, Failure> {
    let netns = a.target.netns.as_deref();
    if a.watch {
        block_on(watch(netns, a.target.json))??;
        return Ok(exit::OK);
    }
    let daemon = if a.kernel {
        Err("--kernel given".to_owned())
    } else {
        block_on(daemon_status(netns))?.map_err(|f| f.message)
    };
    let state = with_handle(netns, async |h| h.dump().await);
    // Without the daemon the kernel is all there is: its failure is ours.
    let state = match (&daemon, state) {
        (_, Ok(s)) => Ok(s),
        (Ok(_), Err(f)) => Err(f.message),
        (Err(_), Err(f)) => return Err(f),
    };
    let kernel = state.as_ref().ok();
    if a.target.json {
        let out = StatusOut {
            schema_version: STATE_SCHEMA_VERSION,
            source: if daemon.is_ok() { "daemon" } else { "kernel" },
            netns,
            has_default_route: kernel.map(has_default_route),
            state: kernel,
            daemon: daemon.as_ref().ok(),
            kernel_error: state.as_ref().err().map(String::as_str),
        };
        let s = serde_json::to_string_pretty(&out)
            .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot encode JSON: {e}")))?;
        println!("{s}");
        return Ok(exit::OK);
    }
    match &daemon {
        Ok(d) => println!("{}", render_daemon(d)),
        Err(why) => println!("from the kernel; {why}\n"),
    }
    match &state {
        Ok(s) => print!("{}", render(s)),
        Err(e) => println!("kernel not read: {e}"),
    }
    Ok(exit::OK)
}

fn has_default_route(state: &KernelState) -> bool {
    state.routes.iter().any(|r| r.destination.prefix_len() == 0)
}

/// n3xnetd's status over D-Bus (its `status.json`), if it runs and
/// supervises `netns` (`None`: its own namespace). The inner `Err` says why
/// not, for the fallback's header; the outer one is a runtime failure.
async fn daemon_status(netns: Option<&str>) -> Result<DaemonStatus, Failure> {
    let proxy = daemon::connect().await?;
    let json = proxy.status_json().await?;
    let status: DaemonStatus = serde_json::from_str(&json).map_err(|e| {
        Failure::new(
            exit::IO,
            format!("n3xnetd sent a status this n3xnetctl cannot read: {e}"),
        )
    })?;
    let theirs = status.netns.as_deref();
    if theirs != netns {
        return Err(Failure {
            code: exit::UNAVAILABLE,
            message: match theirs {
                Some(n) => format!("n3xnetd supervises the network namespace {n}"),
                None => "n3xnetd supervises its own network namespace".to_owned(),
            },
        });
    }
    Ok(status)
}

/// Prints the daemon's health now, then on every `HealthChanged`, until
/// SIGINT or SIGTERM. A daemon that leaves the bus is waited for (said on
/// stderr); when it is back its health is printed again.
async fn watch(netns: Option<&str>, json: bool) -> Result<(), Failure> {
    let proxy = daemon::connect().await?;
    // Subscribed before reading the current health: no change is missed.
    let mut changes = proxy.receive_health_changed().await?;
    let mut owners = proxy.inner().receive_owner_changed().await?;
    let status = daemon_status(netns).await?;
    print_health(status.health.as_ref(), json);
    let signal_failure = |e: std::io::Error| Failure {
        code: exit::SOFTWARE,
        message: format!("cannot install a signal handler: {e}"),
    };
    let mut term = signal(SignalKind::terminate()).map_err(signal_failure)?;
    let mut int = signal(SignalKind::interrupt()).map_err(signal_failure)?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
            owner = owners.next() => match owner {
                Some(None) => eprintln!("n3xnetctl status: n3xnetd left the bus; waiting for it"),
                Some(Some(_)) => {
                    eprintln!("n3xnetctl status: n3xnetd is back");
                    print_health(daemon_status(netns).await?.health.as_ref(), json);
                }
                None => return Err(closed()),
            },
            change = changes.next() => {
                let Some(change) = change else {
                    return Err(closed());
                };
                let args = change.args()?;
                let health: Option<Health> = serde_json::from_str(args.health_json()).map_err(|e| {
                    Failure::new(exit::IO, format!("n3xnetd sent a health this n3xnetctl cannot read: {e}"))
                })?;
                print_health(health.as_ref(), json);
            }
        }
    }
}

fn closed() -> Failure {
    Failure::new(exit::IO, "the D-Bus connection closed")
}

/// One line: the health JSON, or the time and the summary. Nothing before
/// the daemon's first read of the kernel: its `HealthChanged` follows.
fn print_health(health: Option<&Health>, json: bool) {
    let Some(health) = health else {
        return;
    };
    if json {
        match serde_json::to_string(health) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("n3xnetctl status: cannot encode JSON: {e}"),
        }
    } else {
        println!("{} {}", clock(now_ms()), health.summary);
    }
}

/// `HH:MM:SS.mmm` UTC of a Unix time in milliseconds.
fn clock(ms: u64) -> String {
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
fn render_daemon(d: &DaemonStatus) -> String {
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
    if let Some(k) = &d.kubernetes {
        let summary = k.summary.strip_prefix("kubernetes: ").unwrap_or(&k.summary);
        out += &format!("kube     {summary} (Node {})\n", k.node);
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

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Kind-specific detail of a link, one line.
fn details(l: &Link) -> String {
    let mut d = match &l.info {
        LinkInfo::Bond(b) => {
            let mut s = format!("{} miimon {}", b.mode, b.miimon);
            if let Some(p) = &b.primary {
                s += &format!(" primary {p}");
            }
            if let Some(a) = &b.active_port {
                s += &format!(" active {a}");
            }
            if let Some(ad) = &b.ad_info {
                s += &format!(
                    " aggregator {} ports {} partner {}",
                    ad.aggregator_id, ad.num_ports, ad.partner_mac
                );
            }
            s
        }
        LinkInfo::Vlan { id, protocol } => format!("{protocol} id {id}"),
        LinkInfo::Macvlan { mode } | LinkInfo::Ipvlan { mode } => format!("mode {mode}"),
        _ => String::new(),
    };
    if let Some(p) = &l.parent {
        d += &format!(" on {p}");
    }
    if let Some(p) = &l.bond_port {
        d += &format!(
            " port {} mii {} failures {}",
            p.state, p.mii_status, p.link_failure_count
        );
        if let (Some(agg), Some(a), Some(pa)) = (
            p.aggregator_id,
            p.actor_oper_port_state,
            p.partner_oper_port_state,
        ) {
            d += &format!(" lacp agg {agg} actor {a} partner {pa}");
        }
    }
    if l.is_owned() {
        d += " [n3xnet]";
    }
    d.trim().to_string()
}

/// The human tables.
pub fn render(state: &KernelState) -> String {
    let mut out = String::new();
    let w = state
        .links
        .iter()
        .map(|l| l.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    out += &format!(
        "{:w$}  {:8} {:5} {:7} {:5} {:8} DETAILS\n",
        "LINK", "KIND", "ADMIN", "CARRIER", "MTU", "MASTER"
    );
    for l in &state.links {
        out += &format!(
            "{:w$}  {:8} {:5} {:7} {:<5} {:8} {}\n",
            l.name,
            l.kind_name(),
            if l.admin_up { "up" } else { "down" },
            yes(l.carrier),
            l.mtu,
            l.master.as_deref().unwrap_or("-"),
            details(l)
        );
    }
    out += "\nADDRESSES\n";
    for a in &state.addresses {
        let life = match a.valid_lifetime {
            Some(s) => format!(" dynamic valid {s}s"),
            None => String::new(),
        };
        let owner = if a.is_owned() { " [n3xnet]" } else { "" };
        out += &format!("  {:w$}  {}{life}{owner}\n", a.link, a.address);
    }
    out += "\nROUTES\n";
    for r in &state.routes {
        out += &format!("  {}\n", crate::plan::diff::describe_route(r));
    }
    let default = state
        .routes
        .iter()
        .find(|r| r.destination.prefix_len() == 0);
    out += &match default {
        Some(r) => format!(
            "\ndefault route: {}\n",
            crate::plan::diff::describe_route(r)
        ),
        None => "\ndefault route: none\n".to_string(),
    };
    out
}

#[cfg(test)]
mod daemon_tests {
    use super::*;
    use crate::api::status::{KubernetesStatus, Phase, SyncState};

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
        let mut d = DaemonStatus {
            phase: Phase::Running,
            ready: true,
            status: "online: cluster ok".into(),
            ..DaemonStatus::default()
        };
        assert!(!render_daemon(&d).contains("kube"));
        d.kubernetes = Some(KubernetesStatus {
            state: SyncState::Retrying,
            summary: "kubernetes: retrying in 4s (403 Forbidden)".into(),
            node: "server-1".into(),
            kubeconfig: "/etc/rancher/k3s/k3s.yaml".into(),
            error: None,
            writes: 0,
            synced_at_ms: None,
        });
        let out = render_daemon(&d);
        assert!(
            out.lines()
                .any(|l| l == "kube     retrying in 4s (403 Forbidden) (Node server-1)"),
            "{out}"
        );
    }
}
