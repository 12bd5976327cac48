//! n3xnet: the on-node network supervisor of n3x edge Kubernetes nodes.
//!
//! The flow is one-way: [`profile`] (parse, validate, resolve one node) →
//! [`desired`] state → [`plan`] (pure diff against [`state`]) → [`netlink`]
//! (read, execute, verify, roll back) → [`daemon`] (events → [`health`] →
//! repair) → reporting ([`kubernetes`]). Everything up to the plan is pure
//! and tested without root. The two binaries, [`cli`] (`n3xnetctl`) and
//! [`daemon`] (`n3xnetd`), stand side by side on the contract between them,
//! [`api`] and [`exit`]; neither imports the other. Every layer speaks the
//! vocabulary of [`kinds`] and [`mac`], which imports none of them.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod desired;
pub mod dhcp;
pub mod exit;
pub mod files;
pub mod health;
pub mod kinds;
pub mod kubernetes;
pub mod mac;
pub mod netlink;
pub mod plan;
pub mod profile;
pub mod render;
pub mod runtime;
pub mod state;
