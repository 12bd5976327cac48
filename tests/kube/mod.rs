//! The test API server (`apiserver.py` beside this file) from Rust: start
//! it, read its Nodes and request log, inject faults. See the script for
//! what it enforces.
#![allow(dead_code)] // each test crate uses a different part of it

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use serde_json::{json, Value};

pub struct ApiServer {
    child: Child,
    /// Closed on drop: the server exits when its stdin ends.
    _stdin: ChildStdin,
    pub dir: tempfile::TempDir,
    pub port: u16,
    control: u16,
}

impl ApiServer {
    /// Listening, with a CA, a server certificate and one client
    /// certificate and kubeconfig per node in `nodes`; the Node objects
    /// exist unless `without_nodes`.
    pub fn start(nodes: &[&str], without_nodes: bool) -> ApiServer {
        let dir = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kube/apiserver.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg("--dir").arg(dir.path());
        for n in nodes {
            cmd.args(["--node", n]);
        }
        if without_nodes {
            cmd.arg("--no-node");
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 tests/kube/apiserver.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ports: Vec<u16> = line
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("test API server did not start: {line:?}"))
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        ApiServer {
            _stdin: child.stdin.take().unwrap(),
            child,
            dir,
            port: ports[0],
            control: ports[1],
        }
    }

    /// The kubeconfig with `node`'s credentials (file paths, as k3s's
    /// `kubelet.kubeconfig`).
    pub fn kubeconfig(&self, node: &str) -> PathBuf {
        self.dir.path().join(format!("{node}.kubeconfig"))
    }

    fn control(&self, method: &str, path: &str, body: &Value) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.control)).unwrap();
        let body = body.to_string();
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.0 200"), "control {path}: {out}");
        out.split_once("\r\n\r\n").unwrap().1.to_owned()
    }

    /// Everything: `nodes`, `events`, `log` (every API request), `fault`.
    pub fn state(&self) -> Value {
        serde_json::from_str(&self.control("GET", "/", &Value::Null)).unwrap()
    }

    /// `{"mode": "ok"|"down"|"503", "latency_ms": N, "conflicts": N}` (any
    /// subset).
    pub fn fault(&self, fault: Value) {
        self.control("POST", "/fault", &fault);
    }

    /// An administrator's merge patch of a Node (created if missing).
    pub fn admin_patch(&self, node: &str, patch: Value) {
        self.control("POST", "/node", &json!({"name": node, "patch": patch}));
    }

    pub fn node(&self, name: &str) -> Value {
        self.state()["nodes"][name].clone()
    }

    /// The write requests (not GET) in order, from the log.
    pub fn writes(&self) -> Vec<Value> {
        let Value::Array(log) = self.state()["log"].take() else {
            panic!("no log");
        };
        log.into_iter().filter(|e| e["method"] != "GET").collect()
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of label `key` of a Node object.
pub fn label<'a>(node: &'a Value, key: &str) -> Option<&'a str> {
    node["metadata"]["labels"][key].as_str()
}

/// The condition of `type` of a Node object.
pub fn condition<'a>(node: &'a Value, kind: &str) -> Option<&'a Value> {
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}
