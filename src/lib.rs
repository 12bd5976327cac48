//! n3xnet: the on-node network supervisor of n3x edge Kubernetes nodes.
//!
//! The flow is one-way: [`profile`] (parse, validate, resolve one node) →
//! [`desired`] state → [`plan`] (pure diff against [`state`]) → [`engine`]
//! (the transaction: execute, verify, roll back) over [`netlink`] (read and
//! write the kernel) → monitor → report. Everything but netlink is tested
//! without root: the engine against the plan's kernel model.

pub mod cli;
pub mod config;
pub mod daemon;
pub mod desired;
pub mod dhcp;
pub mod engine;
pub mod fs_wait;
pub mod health;
pub mod k3s;
pub mod kubernetes;
pub mod netlink;
pub mod plan;
pub mod profile;
pub mod render;
pub mod state;
