//! The health in the journal: one structured line per link, bond, bond
//! port and network whose state changed ([`Health::changes`]), at warn
//! when it is not ok, then the summary. Searchable by field
//! (`journalctl LINK=eth2`, `BOND=bond0`, `NETWORK=cluster`).

use crate::health::{operstate_name, Change, Health, Level};

/// Logs at warn when `$warn`, else at info, with the same fields.
macro_rules! warn_or_info {
    ($warn:expr, $($arg:tt)+) => {
        if $warn {
            tracing::warn!($($arg)+)
        } else {
            tracing::info!($($arg)+)
        }
    };
}

/// Logs what changed from `prev` to `next` (on the first read, only the
/// summary); `latency_us`: since the kernel event that caused it.
pub fn log_changes(prev: Option<&Health>, next: &Health, latency_us: Option<u64>) {
    for change in prev.map(|p| next.changes(p)).unwrap_or_default() {
        match change {
            Change::Link(l) => warn_or_info!(
                l.level != Level::Ok,
                link = %l.name,
                present = l.present,
                admin_up = l.admin_up,
                carrier = l.carrier,
                operstate = l.operstate.map(operstate_name),
                flaps = l.flaps,
                "link {}: {}",
                l.name,
                l.reason.as_deref().unwrap_or("up")
            ),
            Change::Bond(b) => warn_or_info!(
                b.level != Level::Ok,
                bond = %b.name,
                ports_up = b.ports_up,
                ports_total = b.ports_total,
                min_links = b.min_links,
                active_port = b.active_port.as_deref(),
                "bond {}: {} ({} of {} ports up{})",
                b.name,
                b.level.as_str(),
                b.ports_up,
                b.ports_total,
                b.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
            ),
            Change::Port(b, p) => {
                let lacp = p.lacp.as_ref();
                warn_or_info!(
                    !p.up,
                    bond = %b.name,
                    link = %p.name,
                    up = p.up,
                    mii_status = p.mii_status.as_deref(),
                    link_failures = p.link_failures,
                    aggregator = lacp.and_then(|l| l.aggregator_id),
                    actor_state = lacp.map(|l| l.actor_state),
                    partner_state = lacp.map(|l| l.partner_state),
                    churn = lacp.map(|l| l.churn),
                    "bond {} port {}: {}",
                    b.name,
                    p.name,
                    p.reason.as_deref().unwrap_or("up")
                );
            }
            Change::Network(n) => warn_or_info!(
                n.level != Level::Ok,
                network = %n.name,
                link = %n.link,
                level = n.level.as_str(),
                reason = n.reason.as_deref(),
                "network {}: {}{}",
                n.name,
                n.level.as_str(),
                n.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        }
    }
    warn_or_info!(
        !next.online,
        online = next.online,
        level = next.level.as_str(),
        latency_us,
        "health: {}",
        next.summary
    );
}
