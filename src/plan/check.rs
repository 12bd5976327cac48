//! Per-attribute comparison of the kernel's state with the desired network,
//! like `ifquery --check`: what `apply` verifies after executing a plan and
//! what the `check` command prints. It reads the state through the same
//! rules as the planner ([`super::target`]), so `plan` is empty exactly when
//! every row is ok.

use std::fmt;

use serde::Serialize;

use crate::desired::{DesiredNetwork, LinkKind};
use crate::state::{KernelState, Link, LinkInfo, OWNER_ALIAS};

use super::bond;
use super::diff::describe_route;
use super::op::BondChange;
use super::target::{self, Target, TargetLink, VLAN_PROTOCOL};
use super::topology;

/// One desired attribute and what the kernel holds for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckRow {
    /// Where the attribute lives: `links.bond0.bond.miimon`,
    /// `addresses.192.168.200.1/24 dev bond0.200`, `routes.default via …`.
    pub path: String,
    pub desired: String,
    /// `None` when the kernel has nothing there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    pub ok: bool,
}

impl CheckRow {
    fn new(path: String, desired: impl Into<String>, current: Option<String>) -> Self {
        let desired = desired.into();
        let ok = current.as_deref() == Some(desired.as_str());
        CheckRow {
            path,
            desired,
            current,
            ok,
        }
    }
}

/// nmstate-style: `bond0.bond.miimon: desired 100, current 250`.
impl fmt::Display for CheckRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.strip_prefix("links.").unwrap_or(&self.path);
        let current = self.current.as_deref().unwrap_or("absent");
        write!(f, "{path}: desired {}, current {current}", self.desired)
    }
}

/// The rows that do not match.
pub fn failures(rows: &[CheckRow]) -> impl Iterator<Item = &CheckRow> {
    rows.iter().filter(|r| !r.ok)
}

const PRESENT: &str = "present";
const ABSENT: &str = "absent";

/// One row per desired attribute, then one per n3xnet object to remove.
pub fn check(desired: &DesiredNetwork, current: &KernelState) -> Vec<CheckRow> {
    let target = Target::new(desired);
    let mut rows = Vec::new();
    for t in &target.links {
        link_rows(&target, t, current, &mut rows);
    }
    for a in target.addresses() {
        let have = target::has_address(current, &a.link, a.address);
        rows.push(CheckRow::new(
            address_path(&a.link, a.address),
            PRESENT,
            have.then(|| PRESENT.to_string()),
        ));
    }
    for r in target.routes() {
        let have = current.routes.iter().any(|k| target::route_matches(k, r));
        let other = current
            .routes
            .iter()
            .find(|k| super::simulate::same_slot(k, r.destination, r.metric))
            .map(describe_route);
        let current = if have {
            Some(PRESENT.to_string())
        } else {
            other
        };
        rows.push(CheckRow::new(format!("routes.{r}"), PRESENT, current));
    }
    let stale = |path: String| CheckRow::new(path, ABSENT, Some(PRESENT.to_string()));
    rows.extend(
        current
            .links
            .iter()
            .filter(|l| target.stale_link(l))
            .map(|l| stale(format!("links.{}", l.name))),
    );
    rows.extend(
        current
            .addresses
            .iter()
            .filter(|a| target.stale_address(a))
            .map(|a| stale(address_path(&a.link, a.address))),
    );
    rows.extend(
        current
            .routes
            .iter()
            .filter(|r| target.stale_route(r))
            .map(|r| stale(format!("routes.{}", describe_route(r)))),
    );
    rows
}

fn address_path(link: &str, address: ipnet::IpNet) -> String {
    format!("addresses.{address} dev {link}")
}

fn link_rows(
    target: &Target<'_>,
    t: &TargetLink<'_>,
    current: &KernelState,
    rows: &mut Vec<CheckRow>,
) {
    let path = |attr: &str| format!("links.{}.{attr}", t.name);
    let l = current.link(t.name);
    rows.push(CheckRow::new(
        format!("links.{}", t.name),
        PRESENT,
        l.map(|_| PRESENT.to_string()),
    ));
    let Some(l) = l else { return };
    let kind = if target::same_kind(t, l) {
        t.kind_name()
    } else {
        l.kind_name()
    };
    rows.push(CheckRow::new(
        path("kind"),
        t.kind_name(),
        Some(kind.to_string()),
    ));
    if target::same_kind(t, l) {
        kind_rows(target, t, l, current, &path, rows);
    }
    if t.master.is_some() || l.master.is_some() {
        rows.push(CheckRow::new(
            path("master"),
            t.master.unwrap_or("none"),
            Some(l.master.clone().unwrap_or_else(|| "none".into())),
        ));
    }
    if let Some(mtu) = t.mtu {
        rows.push(CheckRow::new(
            path("mtu"),
            mtu.to_string(),
            Some(l.mtu.to_string()),
        ));
    }
    rows.push(CheckRow::new(
        path("admin"),
        "up",
        Some(updown(l.admin_up).into()),
    ));
    rows.push(CheckRow::new(
        path("ipv6-link-local"),
        "off",
        Some(if l.ipv6_link_local_off { "off" } else { "on" }.into()),
    ));
    // Only links in n3xnet's group: a declared link someone else made is
    // adopted as it is, unmarked, and stays theirs to remove.
    if l.in_owner_group() && !matches!(t.kind, LinkKind::Ethernet) {
        rows.push(CheckRow::new(
            path("alias"),
            OWNER_ALIAS,
            Some(l.alias.clone().unwrap_or_else(|| "none".into())),
        ));
    }
}

fn kind_rows(
    target: &Target<'_>,
    t: &TargetLink<'_>,
    l: &Link,
    current: &KernelState,
    path: &dyn Fn(&str) -> String,
    rows: &mut Vec<CheckRow>,
) {
    let parent = |kind: &str, want: &str| {
        CheckRow::new(
            path(&format!("{kind}.parent")),
            want,
            Some(l.parent.clone().unwrap_or_else(|| "none".into())),
        )
    };
    match (t.kind, &l.info) {
        (LinkKind::Bond(o), LinkInfo::Bond(info)) => {
            for c in BondChange::all_of(o) {
                rows.push(CheckRow::new(
                    path(&format!("bond.{}", c.name())),
                    c.value(),
                    Some(bond::current_value(info, &c)),
                ));
            }
            let mut want = target.ports_of(t.name);
            want.sort_unstable();
            let mut have: Vec<&str> = topology::ports(current, t.name)
                .map(|p| p.name.as_str())
                .collect();
            have.sort_unstable();
            rows.push(CheckRow::new(
                path("bond.ports"),
                want.join(","),
                Some(have.join(",")),
            ));
        }
        (LinkKind::Vlan { parent: p, id }, LinkInfo::Vlan { id: cur, protocol }) => {
            rows.push(CheckRow::new(
                path("vlan.id"),
                id.to_string(),
                Some(cur.to_string()),
            ));
            rows.push(parent("vlan", p));
            rows.push(CheckRow::new(
                path("vlan.protocol"),
                VLAN_PROTOCOL,
                Some(protocol.clone()),
            ));
        }
        (LinkKind::Macvlan { parent: p, mode }, LinkInfo::Macvlan { mode: cur }) => {
            rows.push(parent("macvlan", p));
            rows.push(CheckRow::new(
                path("macvlan.mode"),
                mode.as_str(),
                Some(cur.clone()),
            ));
        }
        (LinkKind::Ipvlan { parent: p, mode }, LinkInfo::Ipvlan { mode: cur }) => {
            rows.push(parent("ipvlan", p));
            rows.push(CheckRow::new(
                path("ipvlan.mode"),
                mode.as_str(),
                Some(cur.clone()),
            ));
        }
        _ => {}
    }
}

fn updown(up: bool) -> &'static str {
    if up {
        "up"
    } else {
        "down"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixture::{create_macvlan, desired, link_mut, synced};
    use crate::plan::Op;

    fn failing(s: &KernelState) -> Vec<String> {
        failures(&check(&desired(), s))
            .map(|r| r.to_string())
            .collect()
    }

    #[test]
    fn a_synced_node_passes_every_row() {
        let rows = check(&desired(), &synced());
        assert!(failures(&rows).next().is_none(), "{rows:#?}");
        let paths: Vec<&str> = rows.iter().map(|r| r.path.as_str()).collect();
        for want in [
            "links.eth1",
            "links.eth1.master",
            "links.eth1.ipv6-link-local",
            "links.bond0.bond.mode",
            "links.bond0.bond.miimon",
            "links.bond0.bond.primary",
            "links.bond0.bond.ports",
            "links.bond0.admin",
            "links.bond0.100.vlan.id",
            "links.bond0.100.vlan.parent",
            "links.mv-storage.macvlan.mode",
            "addresses.192.168.200.1/24 dev bond0.200",
            "routes.10.50.0.0/16 via 192.168.100.254 dev bond0.100",
        ] {
            assert!(paths.contains(&want), "no row {want}: {paths:#?}");
        }
    }

    #[test]
    fn messages_name_the_path_desired_and_current() {
        let mut s = synced();
        if let LinkInfo::Bond(b) = &mut link_mut(&mut s, "bond0").info {
            b.miimon = 250;
        }
        link_mut(&mut s, "eth2").master = None;
        assert_eq!(
            failing(&s),
            [
                "eth2.master: desired bond0, current none",
                "bond0.bond.miimon: desired 100, current 250",
                "bond0.bond.ports: desired eth1,eth2, current eth1",
            ]
        );
    }

    #[test]
    fn a_link_in_the_group_without_the_alias_fails_its_alias_row() {
        let mut s = synced();
        link_mut(&mut s, "mv-storage").alias = None;
        assert_eq!(
            failing(&s),
            ["mv-storage.alias: desired n3xnet, current none"]
        );
        // A declared link someone else made is adopted unmarked: no row.
        link_mut(&mut s, "mv-storage").group = 0;
        assert!(failing(&s).is_empty());
        assert!(!check(&desired(), &s)
            .iter()
            .any(|r| r.path == "links.mv-storage.alias"));
    }

    #[test]
    fn missing_and_stale_objects_are_rows() {
        let mut s = synced();
        crate::plan::simulate::apply_all(
            &mut s,
            &[
                Op::DeleteLink {
                    name: "mv-storage".into(),
                },
                create_macvlan("mv-old", "bond0.100"),
            ],
        )
        .unwrap();
        assert_eq!(
            failing(&s),
            [
                "mv-storage: desired present, current absent",
                "addresses.192.168.20.1/24 dev mv-storage: desired present, current absent",
                "mv-old: desired absent, current present",
            ]
        );
    }
}
