//! The kernel's part of `status`: links with bond ports and LACP state,
//! VLANs, addresses, routes, and whether there is a default route.

use crate::state::{Dad, KernelState, Link, LinkInfo};

/// An IPv4 default route is in the main table (what `hasDefaultRoute`
/// has always meant; IPv6 ones are listed with the routes).
pub(super) fn has_default_route(state: &KernelState) -> bool {
    default_route(state, false).is_some()
}

/// The main table's default route of one family.
fn default_route(state: &KernelState, v6: bool) -> Option<&crate::state::Route> {
    state
        .routes
        .iter()
        .find(|r| r.destination.prefix_len() == 0 && r.destination.addr().is_ipv6() == v6)
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
        let dad = match a.dad {
            Some(Dad::Tentative) => " tentative",
            Some(Dad::Failed) => " dadfailed",
            None => "",
        };
        let owner = if a.is_owned() { " [n3xnet]" } else { "" };
        out += &format!("  {:w$}  {}{life}{dad}{owner}\n", a.link, a.address);
    }
    out += "\nROUTES\n";
    for r in &state.routes {
        out += &format!("  {}\n", crate::plan::diff::describe_route(r));
    }
    out += &match default_route(state, false) {
        Some(r) => format!(
            "\ndefault route: {}\n",
            crate::plan::diff::describe_route(r)
        ),
        None => "\ndefault route: none\n".to_string(),
    };
    if let Some(r) = default_route(state, true) {
        out += &format!(
            "IPv6 default route: {}\n",
            crate::plan::diff::describe_route(r)
        );
    }
    out
}
