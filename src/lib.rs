//! n3xnet: the on-node network supervisor of n3x edge Kubernetes nodes.
//!
//! The flow is one-way: [`profile`] (parse, validate, resolve one node) →
//! [`desired`] state → [`plan`] (pure diff against [`state`]) → netlink
//! (read, execute, verify) → monitor → report. Everything up to the plan is
//! pure and tested without root.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod desired;
pub mod dhcp;
pub mod fs_wait;
pub mod health;
pub mod k3s;
pub mod kubernetes;
pub mod netlink;
pub mod plan;
pub mod profile;
pub mod render;
pub mod state;
