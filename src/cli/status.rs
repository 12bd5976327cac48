//! `n3xnetctl status`: what the kernel holds now, read in one dump (no
//! daemon yet): links with bond ports and LACP state, VLANs, addresses,
//! routes and whether there is a default route.

use serde::Serialize;

use crate::state::{KernelState, Link, LinkInfo, STATE_SCHEMA_VERSION};

use super::engine::{with_handle, Target};
use super::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
}

/// `status --json`, schema version [`STATE_SCHEMA_VERSION`]: the
/// [`KernelState`] fields plus a summary; fields are only ever added within
/// one version.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut<'a> {
    schema_version: u32,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    netns: Option<&'a str>,
    has_default_route: bool,
    #[serde(flatten)]
    state: &'a KernelState,
}

pub fn run(a: &Args) -> u8 {
    let netns = a.target.netns.as_deref();
    let state = match with_handle(netns, async |h| h.dump().await) {
        Ok(s) => s,
        Err(f) => {
            eprintln!("n3xnetctl status: {}", f.message);
            return f.code;
        }
    };
    let has_default_route = state.routes.iter().any(|r| r.destination.prefix_len() == 0);
    if a.target.json {
        let out = StatusOut {
            schema_version: STATE_SCHEMA_VERSION,
            source: "kernel",
            netns,
            has_default_route,
            state: &state,
        };
        return match serde_json::to_string_pretty(&out) {
            Ok(s) => {
                println!("{s}");
                exit::OK
            }
            Err(e) => {
                eprintln!("n3xnetctl status: cannot encode JSON: {e}");
                exit::SOFTWARE
            }
        };
    }
    print!("{}", render(&state));
    exit::OK
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
