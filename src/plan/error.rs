//! What can stop a plan: the desired network asks for something n3xnet must
//! not or cannot do on this kernel, or an operation cannot be undone.

use crate::state::OWNER_ALIAS;

use super::simulate::SimError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("NIC {name} is declared but the kernel has no link of that name")]
    MissingNic { name: String },

    #[error(
        "{link} is a {found} link that n3xnet does not own (no alias {OWNER_ALIAS}); \
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
