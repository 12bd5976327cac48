//! n3xnet: the on-node network supervisor of n3x edge Kubernetes nodes.
//!
//! The flow is one-way: [`profile`] (parse, validate, resolve one node) →
//! [`desired`] state → [`plan`] (pure diff against [`state`]) → [`engine`]
//! (the transaction: execute, verify, roll back) over [`netlink`] (read and
//! write the kernel) → [`daemon`] (events → [`health`] → repair) →
//! reporting ([`kubernetes`], [`report`]). Everything but netlink is tested without
//! root: the engine against the plan's kernel model. The two binaries,
//! [`cli`] (`n3xnetctl`) and [`daemon`] (`n3xnetd`), stand side by side on
//! the contract between them, [`api`] and [`exit`]; neither imports the
//! other. Every layer speaks the vocabulary of [`kinds`] and [`mac`],
//! which import none of them.

pub mod api;
pub mod change;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod desired;
pub mod dhcp;
pub mod engine;
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
pub mod report;
pub mod runtime;
pub mod service;
pub mod state;
pub mod trust;
