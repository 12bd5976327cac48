//! The desired network as the planner and the checker both read it: links
//! ordered parents first with every bond member present, and the ownership
//! rules that say which kernel objects n3xnet may change or remove. Both
//! [`super::diff`] and [`super::check`] decide through this one module, so a
//! plan is empty exactly when every check row passes.

use crate::desired::{DesiredNetwork, DesiredRoute, LinkKind};
use crate::state::{Address, KernelState, Link, LinkInfo, Route};

const ETHERNET: &LinkKind = &LinkKind::Ethernet;

/// One link n3xnet manages.
#[derive(Debug, Clone, Copy)]
pub struct TargetLink<'a> {
    pub name: &'a str,
    pub kind: &'a LinkKind,
    pub mtu: Option<u32>,
    /// The bond it is a port of, from the link or from the bond's members.
    pub master: Option<&'a str>,
    pub dhcp: bool,
}

impl<'a> TargetLink<'a> {
    pub fn parent(&self) -> Option<&'a str> {
        match self.kind {
            LinkKind::Vlan { parent, .. }
            | LinkKind::Macvlan { parent, .. }
            | LinkKind::Ipvlan { parent, .. } => Some(parent),
            LinkKind::Ethernet | LinkKind::Bond(_) => None,
        }
    }

    /// The kernel's name for the kind (`ethernet` for a NIC), as
    /// [`Link::kind_name`] gives it.
    pub fn kind_name(&self) -> &'static str {
        self.kind.kernel_kind().unwrap_or("ethernet")
    }
}

pub struct Target<'a> {
    pub desired: &'a DesiredNetwork,
    /// Parents before children, bond ports before their bond.
    pub links: Vec<TargetLink<'a>>,
}

impl<'a> Target<'a> {
    pub fn new(desired: &'a DesiredNetwork) -> Self {
        let bond_of = |name: &str| {
            desired.links.iter().find_map(|l| match &l.kind {
                LinkKind::Bond(o) if o.members.iter().any(|m| m == name) => Some(l.name.as_str()),
                _ => None,
            })
        };
        let mut all: Vec<TargetLink<'a>> = Vec::new();
        for l in &desired.links {
            if let LinkKind::Bond(o) = &l.kind {
                // Members the resolver did not list as links are still ports.
                for m in &o.members {
                    if desired.link(m).is_none() && !all.iter().any(|t| t.name == m) {
                        all.push(TargetLink {
                            name: m,
                            kind: ETHERNET,
                            mtu: None,
                            master: Some(&l.name),
                            dhcp: false,
                        });
                    }
                }
            }
            all.push(TargetLink {
                name: &l.name,
                kind: &l.kind,
                mtu: l.mtu,
                master: l.master.as_deref().or_else(|| bond_of(&l.name)),
                dhcp: l.dhcp,
            });
        }
        Target {
            desired,
            links: order(all),
        }
    }

    pub fn link(&self, name: &str) -> Option<&TargetLink<'a>> {
        self.links.iter().find(|l| l.name == name)
    }

    pub fn declares(&self, name: &str) -> bool {
        self.link(name).is_some()
    }

    /// The bond `name` must be a port of.
    pub fn master_of(&self, name: &str) -> Option<&'a str> {
        self.link(name).and_then(|l| l.master)
    }

    /// The ports bond `bond` must have, in the profile's order.
    pub fn ports_of(&self, bond: &str) -> Vec<&'a str> {
        self.links
            .iter()
            .filter(|l| l.master == Some(bond))
            .map(|l| l.name)
            .collect()
    }

    /// The DHCP client, not the plan, owns the addresses and routes of a
    /// DHCP link: they exist only once a lease is bound.
    pub fn dhcp_link(&self, name: &str) -> bool {
        self.link(name).is_some_and(|l| l.dhcp)
    }

    /// A master n3xnet may release ports from: one it declares or owns.
    pub fn manages_master(&self, current: &KernelState, master: &str) -> bool {
        self.declares(master) || current.link(master).is_some_and(Link::is_owned)
    }

    /// Desired addresses the plan adds (those of DHCP links excluded).
    pub fn addresses(&self) -> impl Iterator<Item = &'a crate::desired::DesiredAddress> + '_ {
        self.desired
            .addresses
            .iter()
            .filter(|a| !self.dhcp_link(&a.link))
    }

    /// Desired routes the plan adds (those of DHCP links excluded).
    pub fn routes(&self) -> impl Iterator<Item = &'a DesiredRoute> + '_ {
        self.desired
            .routes
            .iter()
            .filter(|r| !self.dhcp_link(&r.link))
    }

    /// A link whose creating request reached the kernel but whose marking
    /// request did not (a crash in between): in n3xnet's group, without its
    /// alias, under a name the profile declares for a link n3xnet creates.
    /// The plan completes it in place ([`super::Op::SetAlias`]).
    ///
    /// The name is what makes the group enough: any group number may be an
    /// operator's, so a link in n3xnet's group under a name the profile
    /// does not declare stays foreign (never changed, never deleted), and a
    /// declared name is one n3xnet manages anyway. The price: a link
    /// half-created under a profile that the next run no longer has is
    /// left in place, `ip link show group 28211` without the alias.
    pub fn half_created(&self, l: &Link) -> bool {
        l.in_owner_group()
            && !l.is_owned()
            && self
                .link(&l.name)
                .is_some_and(|t| !matches!(t.kind, LinkKind::Ethernet))
    }

    /// n3xnet may replace (delete and create again) this link: it carries
    /// the alias, or it is [`Self::half_created`].
    pub fn owns(&self, l: &Link) -> bool {
        l.is_owned() || self.half_created(l)
    }

    /// An n3xnet link the profile no longer declares.
    pub fn stale_link(&self, l: &Link) -> bool {
        l.is_owned() && !self.declares(&l.name)
    }

    /// An address n3xnet added that the profile no longer wants. Leases on
    /// DHCP links are the DHCP client's, whoever marked them.
    pub fn stale_address(&self, a: &Address) -> bool {
        a.is_owned()
            && !(self.dhcp_link(&a.link) && a.is_dynamic())
            && !self
                .desired
                .addresses
                .iter()
                .any(|d| d.link == a.link && d.address == a.address)
    }

    /// A route n3xnet added that the profile no longer wants (routes on DHCP
    /// links are the DHCP client's).
    pub fn stale_route(&self, r: &Route) -> bool {
        r.is_owned()
            && !r.link.as_deref().is_some_and(|l| self.dhcp_link(l))
            && !self.desired.routes.iter().any(|d| route_matches(r, d))
    }
}

/// `state` holds `link`'s desired `address`, whoever added it.
pub fn has_address(state: &KernelState, link: &str, address: ipnet::IpNet) -> bool {
    state
        .addresses
        .iter()
        .any(|a| a.link == link && a.address == address)
}

/// The kernel route is the desired one, whoever added it.
pub fn route_matches(r: &Route, d: &DesiredRoute) -> bool {
    super::simulate::same_slot(r, d.destination, d.metric)
        && r.gateway == d.gateway
        && r.link.as_deref() == Some(d.link.as_str())
}

/// The kernel link has the desired kind (whatever its options).
pub fn same_kind(t: &TargetLink<'_>, l: &Link) -> bool {
    match t.kind {
        // A NIC is whatever link n3xnet did not make: a real NIC, or a veth
        // or dummy standing in for one in tests and lab setups.
        LinkKind::Ethernet => !matches!(
            l.info,
            LinkInfo::Bond(_)
                | LinkInfo::Vlan { .. }
                | LinkInfo::Macvlan { .. }
                | LinkInfo::Ipvlan { .. }
                | LinkInfo::Bridge
        ),
        _ => t.kind_name() == l.kind_name(),
    }
}

/// The kernel link must be deleted and created again to become `t`: its
/// kind, VLAN id or protocol, parent, or ipvlan mode differ, none of which
/// the kernel changes on a live link.
pub fn needs_recreate(t: &TargetLink<'_>, l: &Link) -> bool {
    if !same_kind(t, l) {
        return true;
    }
    let parent_differs = t.parent().is_some() && t.parent() != l.parent.as_deref();
    parent_differs
        || match (t.kind, &l.info) {
            (LinkKind::Vlan { id, .. }, LinkInfo::Vlan { id: cur, protocol }) => {
                id != cur || protocol != VLAN_PROTOCOL
            }
            (LinkKind::Ipvlan { mode, .. }, LinkInfo::Ipvlan { mode: cur }) => mode.as_str() != cur,
            _ => false,
        }
}

/// The protocol of the VLANs n3xnet creates.
pub const VLAN_PROTOCOL: &str = "802.1Q";

/// Stable topological order: a link after its parent and after its ports.
fn order(mut pending: Vec<TargetLink<'_>>) -> Vec<TargetLink<'_>> {
    let mut out: Vec<TargetLink<'_>> = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let ready = |t: &TargetLink<'_>, pending: &[TargetLink<'_>]| {
            let waits_for = |n: &str| pending.iter().any(|p| p.name == n && p.name != t.name);
            !t.parent().is_some_and(waits_for)
                && !pending
                    .iter()
                    .any(|p| p.master == Some(t.name) && p.name != t.name)
        };
        // A cycle (impossible from the resolver) takes the first link as is.
        let i = (0..pending.len())
            .find(|&i| ready(&pending[i], &pending))
            .unwrap_or(0);
        out.push(pending.remove(i));
    }
    out
}
