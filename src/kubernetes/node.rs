//! What n3xnetd reads from and writes to its Node: the view of the Node it
//! needs, and the request bodies, all as JSON so every rule is tested
//! without an API server.
//!
//! Everything written is allowed by the NodeRestriction admission plugin
//! for `system:node:<name>`: the node's own Node object, labels under the
//! configured prefix only (never `kubernetes.io`, `k8s.io` or
//! `node-restriction.kubernetes.io`, refused by the configuration), one
//! annotation, one condition, no taints; and Events, which the node
//! authorizer lets every node create.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::condition::{Condition, CONDITION_TYPE};
use super::labels::Labels;

/// The annotation listing the labels n3xnetd owns (comma separated, full
/// names), as node-feature-discovery does: an owned label that is no
/// longer produced is removed; a label not listed is never touched.
pub fn owned_annotation(prefix: &str) -> String {
    format!("{prefix}owned-labels")
}

/// The parts of a Node that decide what to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeView {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The `N3xNetworkReady` condition as found.
    pub condition: Option<ObservedCondition>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedCondition {
    pub status: String,
    pub reason: String,
    pub message: String,
    pub last_transition_time: Option<String>,
}

impl NodeView {
    /// From a Node object as the API server returns it.
    pub fn from_json(node: &Value) -> NodeView {
        let strings = |v: &Value| -> BTreeMap<String, String> {
            v.as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let text = |c: &Value, key: &str| c[key].as_str().unwrap_or_default().to_owned();
        let condition = node["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == CONDITION_TYPE))
            .map(|c| ObservedCondition {
                status: text(c, "status"),
                reason: text(c, "reason"),
                message: text(c, "message"),
                last_transition_time: c["lastTransitionTime"].as_str().map(str::to_owned),
            });
        NodeView {
            labels: strings(&node["metadata"]["labels"]),
            annotations: strings(&node["metadata"]["annotations"]),
            condition,
        }
    }

    /// The labels the annotation says n3xnetd owns, restricted to
    /// `prefix`: a hand-edited annotation cannot make it delete a label
    /// outside its own prefix.
    pub fn owned(&self, prefix: &str) -> BTreeSet<String> {
        self.annotations
            .get(&owned_annotation(prefix))
            .map(|a| {
                a.split(',')
                    .map(str::trim)
                    .filter(|l| l.starts_with(prefix) && l.len() > prefix.len())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The condition on the Node says what `c` says (times aside).
    pub fn shows(&self, c: &Condition) -> bool {
        self.condition.as_ref().is_some_and(|o| {
            o.status == c.status.as_str() && o.reason == c.reason && o.message == c.message
        })
    }

    /// Status and reason differ from `c`'s (a transition worth an Event).
    pub fn transition_to(&self, c: &Condition) -> bool {
        self.condition
            .as_ref()
            .is_none_or(|o| o.status != c.status.as_str() || o.reason != c.reason)
    }
}

/// The JSON merge patch (`application/merge-patch+json`) on `nodes/<name>`
/// that makes the Node carry `labels` (full names) and the ownership
/// annotation: only the keys that differ; owned labels no longer produced
/// are set to `null` (removed); every other label and annotation is left
/// out, so nobody else's is touched. `None`: nothing to write.
pub fn label_patch(labels: &Labels, node: &NodeView, prefix: &str) -> Option<Value> {
    let mut set = Map::new();
    for (k, v) in labels {
        if node.labels.get(k) != Some(v) {
            set.insert(k.clone(), Value::String(v.clone()));
        }
    }
    for stale in node.owned(prefix) {
        if !labels.contains_key(&stale) && node.labels.contains_key(&stale) {
            set.insert(stale, Value::Null);
        }
    }
    let owned = labels.keys().cloned().collect::<Vec<_>>().join(",");
    let key = owned_annotation(prefix);
    let mut annotations = Map::new();
    if node.annotations.get(&key) != Some(&owned) {
        annotations.insert(key, Value::String(owned));
    }
    if set.is_empty() && annotations.is_empty() {
        return None;
    }
    let mut metadata = Map::new();
    if !set.is_empty() {
        metadata.insert("labels".into(), Value::Object(set));
    }
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), Value::Object(annotations));
    }
    Some(json!({ "metadata": metadata }))
}

/// The strategic merge patch (`application/strategic-merge-patch+json`) on
/// `nodes/<name>/status` that sets the condition, as node-problem-detector
/// does: `status.conditions` merges by `type`, so the kubelet's own
/// conditions are untouched. `lastTransitionTime` stays what the Node has
/// while the status does not change.
pub fn status_patch(c: &Condition, node: &NodeView, now: &str) -> Value {
    let transition = node
        .condition
        .as_ref()
        .filter(|o| o.status == c.status.as_str())
        .and_then(|o| o.last_transition_time.clone())
        .unwrap_or_else(|| now.to_owned());
    json!({
        "status": {
            "conditions": [{
                "type": CONDITION_TYPE,
                "status": c.status.as_str(),
                "reason": c.reason,
                "message": c.message,
                "lastHeartbeatTime": now,
                "lastTransitionTime": transition,
            }]
        }
    })
}

/// A core/v1 Event about the Node `node` (namespace `default`, where the
/// kubelet puts its own Node events; the node's name is its `uid` there,
/// as the kubelet does) for the change from what the Node showed to `to`.
pub fn event(node: &str, from: Option<&ObservedCondition>, to: &Condition, now: &str) -> Value {
    let was = from.map_or("nothing".to_owned(), |o| {
        format!("{} ({})", o.reason, o.status)
    });
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "generateName": format!("{node}.n3xnet."), "namespace": "default" },
        "involvedObject": { "apiVersion": "v1", "kind": "Node", "name": node, "uid": node },
        "reason": to.reason,
        "message": format!("{was} -> {} ({}): {}", to.reason, to.status.as_str(), to.message),
        "type": if to.is_ready() { "Normal" } else { "Warning" },
        "source": { "component": "n3xnetd", "host": node },
        "reportingComponent": "n3xnetd",
        "reportingInstance": node,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Level;
    use crate::kubernetes::condition::Status;
    use crate::kubernetes::labels::{labels, tests::health};

    const P: &str = "network.n3x.io/";

    fn node(labels: &[(&str, &str)], owned: Option<&str>) -> NodeView {
        let mut annotations = BTreeMap::from([("other/a".to_owned(), "x".to_owned())]);
        if let Some(o) = owned {
            annotations.insert(owned_annotation(P), o.to_owned());
        }
        NodeView {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations,
            condition: None,
        }
    }

    fn want(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (format!("{P}{k}"), v.to_string()))
            .collect()
    }

    #[test]
    fn a_fresh_node_gets_every_label_and_the_annotation_only() {
        let n = node(&[("kubernetes.io/hostname", "server-1")], None);
        let p = label_patch(&want(&[("health", "ok"), ("profile", "demo")]), &n, P).unwrap();
        assert_eq!(
            p,
            json!({"metadata": {
                "labels": {"network.n3x.io/health": "ok", "network.n3x.io/profile": "demo"},
                "annotations": {"network.n3x.io/owned-labels": "network.n3x.io/health,network.n3x.io/profile"}
            }})
        );
    }

    #[test]
    fn nothing_to_write_when_the_node_already_shows_it() {
        let n = node(
            &[("network.n3x.io/health", "ok"), ("foreign", "1")],
            Some("network.n3x.io/health"),
        );
        assert_eq!(label_patch(&want(&[("health", "ok")]), &n, P), None);
    }

    #[test]
    fn changed_and_stale_owned_labels_only_foreign_ones_untouched() {
        let n = node(
            &[
                ("network.n3x.io/health", "ok"),
                ("network.n3x.io/bond0.active", "eth1"),
                // Ours by prefix, but not owned: somebody set it by hand.
                ("network.n3x.io/manual", "yes"),
                ("team", "edge"),
            ],
            Some("network.n3x.io/health,network.n3x.io/bond0.active,network.n3x.io/gone,team"),
        );
        let p = label_patch(&want(&[("health", "degraded")]), &n, P).unwrap();
        assert_eq!(
            p,
            json!({"metadata": {
                "labels": {"network.n3x.io/health": "degraded", "network.n3x.io/bond0.active": null},
                "annotations": {"network.n3x.io/owned-labels": "network.n3x.io/health"}
            }})
        );
    }

    #[test]
    fn the_owned_list_is_read_within_the_prefix() {
        let n = node(
            &[],
            Some(" network.n3x.io/a , ,kubernetes.io/os,network.n3x.io/"),
        );
        assert_eq!(
            n.owned(P).into_iter().collect::<Vec<_>>(),
            ["network.n3x.io/a"]
        );
        assert!(node(&[], None).owned(P).is_empty());
    }

    #[test]
    fn the_view_reads_labels_annotations_and_our_condition_from_a_node() {
        let v = NodeView::from_json(&json!({
            "metadata": {"name": "server-1", "labels": {"a": "1"}, "annotations": {"b": "2"}},
            "status": {"conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "m"},
                {"type": "N3xNetworkReady", "status": "False", "reason": "NetworkNotReady",
                 "message": "offline", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ]}
        }));
        assert_eq!(v.labels["a"], "1");
        assert_eq!(v.annotations["b"], "2");
        let c = v.condition.clone().unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "NetworkNotReady")
        );
        let empty = NodeView::from_json(&json!({"metadata": {"name": "x"}}));
        assert_eq!(empty, NodeView::default());
    }

    #[test]
    fn the_condition_patch_keeps_the_transition_time_while_the_status_holds() {
        let ok = Condition::from_health(Some(&health(Level::Ok, true)));
        let mut n = node(&[], None);
        let p = status_patch(&ok, &n, "T2");
        let c = &p["status"]["conditions"][0];
        assert_eq!(c["type"], "N3xNetworkReady");
        assert_eq!(c["status"], "True");
        assert_eq!(c["reason"], "NetworkReady");
        assert_eq!(c["message"], "online: cluster ok");
        assert_eq!(
            (
                c["lastHeartbeatTime"].as_str(),
                c["lastTransitionTime"].as_str()
            ),
            (Some("T2"), Some("T2"))
        );
        assert_eq!(p["status"]["conditions"].as_array().unwrap().len(), 1);
        assert!(!n.shows(&ok) && n.transition_to(&ok));

        n.condition = Some(ObservedCondition {
            status: "True".into(),
            reason: "NetworkDegraded".into(),
            message: "m".into(),
            last_transition_time: Some("T1".into()),
        });
        let c = status_patch(&ok, &n, "T2");
        assert_eq!(c["status"]["conditions"][0]["lastTransitionTime"], "T1");
        assert!(n.transition_to(&ok), "a new reason is a transition");
        let down = Condition::from_health(Some(&health(Level::Down, false)));
        let c = status_patch(&down, &n, "T3");
        assert_eq!(c["status"]["conditions"][0]["lastTransitionTime"], "T3");

        n.condition = Some(ObservedCondition {
            status: "True".into(),
            reason: "NetworkReady".into(),
            message: "online: cluster ok".into(),
            last_transition_time: None,
        });
        assert!(n.shows(&ok) && !n.transition_to(&ok));
    }

    #[test]
    fn events_name_the_node_and_the_change() {
        let down = Condition::from_health(Some(&health(Level::Down, false)));
        let was = ObservedCondition {
            status: "True".into(),
            reason: "NetworkReady".into(),
            ..Default::default()
        };
        let e = event("server-1", Some(&was), &down, "T");
        assert_eq!(e["involvedObject"]["kind"], "Node");
        assert_eq!(e["involvedObject"]["name"], "server-1");
        assert_eq!(e["metadata"]["namespace"], "default");
        assert_eq!(e["type"], "Warning");
        assert_eq!(e["reason"], "NetworkNotReady");
        assert_eq!(
            e["message"],
            "NetworkReady (True) -> NetworkNotReady (False): online: cluster down"
        );
        let ok = Condition::from_health(Some(&health(Level::Ok, true)));
        assert_eq!(event("n", None, &ok, "T")["type"], "Normal");
        assert_eq!(ok.status, Status::True);
    }

    #[test]
    fn published_labels_round_trip_through_a_node() {
        // What one pass writes, the next pass reads back as nothing to do.
        let l = labels(Some(&health(Level::Ok, true)), "demo", P);
        let patch = label_patch(&l, &NodeView::default(), P).unwrap();
        let v = NodeView::from_json(&patch);
        assert_eq!(label_patch(&l, &v, P), None);
    }
}
