//! What can stop a plan: the desired network asks for something n3xnet must
//! not or cannot do on this kernel, or an operation cannot be undone.
//!
//! [`SimError`], the kernel model's refusal of one op, lives here too:
//! [`PlanError::Rejected`] wraps it, and the model ([`super::simulate`])
//! raises both, so one file holds the vocabulary and the model only uses it.

use ipnet::IpNet;

use crate::state::{OWNER_ALIAS, OWNER_GROUP};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("NIC {name} is declared but the kernel has no link of that name")]
    MissingNic { name: String },

    #[error(
        "{link} is a {found} link that n3xnet does not own (neither alias {OWNER_ALIAS} \
         nor group {OWNER_GROUP}); \
         the profile wants a {desired} of that name, and n3xnet never replaces foreign links"
    )]
    KindConflict {
        link: String,
        found: String,
        desired: String,
    },

    #[error(
        "{port} is enslaved to {master}, which n3xnet does not own; the profile wants {}",
        wanted_master(.desired)
    )]
    ForeignMaster {
        port: String,
        master: String,
        desired: Option<String>,
    },

    #[error("{link} is stacked on {parent}, which is neither declared nor present")]
    MissingParent { link: String, parent: String },

    #[error(
        "replacing or removing {link} would destroy {dependent}, a {kind} link stacked on it \
         that n3xnet does not own"
    )]
    ForeignDependent {
        link: String,
        dependent: String,
        kind: String,
    },

    #[error(
        "route {route} cannot be added: the kernel holds route {existing} (not n3xnet's) \
         with the same destination and metric"
    )]
    RouteConflict { route: String, existing: String },

    #[error("the kernel would refuse `{op}`: {source}")]
    Rejected {
        op: String,
        #[source]
        source: SimError,
    },

    #[error("cannot undo `{op}`: {reason}")]
    Irreversible { op: String, reason: String },
}

fn wanted_master(desired: &Option<String>) -> String {
    match desired {
        Some(b) => format!("it as a port of {b}"),
        None => "it without a master".to_string(),
    }
}

/// Why the kernel would refuse an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no link {0} (ENODEV)")]
    NoLink(String),
    #[error("link {0} exists (EEXIST)")]
    LinkExists(String),
    #[error("{0} links are not created, only configured")]
    NotCreatable(String),
    #[error("{link} is a {found} link, not a {expected}")]
    WrongKind {
        link: String,
        found: String,
        expected: &'static str,
    },
    #[error("{bond} is up and {option} can only change on a down bond (EBUSY)")]
    BondUp { bond: String, option: &'static str },
    #[error("{bond} has ports and its mode can only change on an empty bond (ENOTEMPTY)")]
    BondHasPorts { bond: String },
    #[error("{option} is not supported in bond mode {mode} (EACCES)")]
    Unsupported { option: &'static str, mode: String },
    #[error("{port} is up and only a down link can be enslaved (EPERM)")]
    PortUp { port: String },
    #[error("{port} is not a bond port")]
    NotEnslaved { port: String },
    #[error("MTU {mtu} of {link} is above the MTU {parent_mtu} of its parent {parent} (EINVAL)")]
    MtuAboveParent {
        link: String,
        mtu: u32,
        parent: String,
        parent_mtu: u32,
    },
    #[error("{link} cannot be up while its parent {parent} is down (ENETDOWN)")]
    ParentDown { link: String, parent: String },
    #[error("{0} is down (ENETDOWN)")]
    LinkDown(String),
    #[error("address {address} exists on {link} (EEXIST)")]
    AddressExists { link: String, address: IpNet },
    #[error("no address {address} on {link} (EADDRNOTAVAIL)")]
    NoAddress { link: String, address: IpNet },
    #[error("a route to {destination} with metric {metric} exists (EEXIST)")]
    RouteExists { destination: IpNet, metric: u32 },
    #[error("gateway {gateway} is not on a subnet of {link} (ENETUNREACH)")]
    Unreachable {
        gateway: std::net::IpAddr,
        link: String,
    },
    #[error("no such route (ESRCH)")]
    NoRoute,
}
