#!/usr/bin/env python3
"""A small Kubernetes API server for n3xnetd's feedback tests (stdlib only).

There is no kube-apiserver to install here, so this one implements the part
of the API n3xnetd uses and enforces what matters for it, as the real one
with the NodeRestriction admission plugin and the node authorizer would:

- TLS with a client certificate (CERT_REQUIRED, signed by the test CA);
  the identity is the certificate's CN `system:node:<name>` in O
  `system:nodes`, as the kubelet's is;
- a node may read Nodes, and write only its own Node and its status
  (403 otherwise); no labels in `kubernetes.io`/`k8s.io` except the ones
  NodeRestriction allows, none under `node-restriction.kubernetes.io`,
  no taints (403);
- `PATCH nodes/<name>` as a JSON merge patch (RFC 7386) only;
  `PATCH nodes/<name>/status` as a strategic merge patch in which
  `status.conditions` merges by `type` (the kubelet's conditions stay);
- every write bumps the resourceVersion; a patch that names a stale
  `metadata.resourceVersion` gets 409 Conflict;
- `GET nodes/<name>?resourceVersion=0` is recorded, so tests can check
  that reads come from the cache;
- `POST namespaces/<ns>/events` about the caller's own Node.

Faults come from a plain-HTTP control port (127.0.0.1 only): `down` (the
TLS listener is closed: connection refused), `503`, latency, the next N
writes answered 409. Every request is logged for the tests.

Usage: apiserver.py --dir DIR --node NAME [--node NAME2 ...] [--no-node]
Writes DIR/ca.crt, DIR/<node>.{crt,key}, DIR/<node>.kubeconfig and prints
one line `READY <api port> <control port>` when listening.
"""

import argparse
import copy
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATE = {
    "rv": 1,
    "nodes": {},
    "events": [],
    "log": [],  # every request: {t, actor, method, path, query, status, body}
    "fault": {"mode": "ok", "latency_ms": 0, "conflicts": 0},
}

ALLOWED_KUBE_LABELS = {
    "kubernetes.io/hostname",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
}
ALLOWED_KUBE_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def in_domain(domain, parent):
    return domain == parent or domain.endswith("." + parent)


def label_forbidden(key):
    """NodeRestriction's rule for labels a node sets or removes on itself."""
    if "/" not in key:
        return False
    domain = key.split("/", 1)[0]
    if in_domain(domain, "node-restriction.kubernetes.io"):
        return True
    if in_domain(domain, "kubernetes.io") or in_domain(domain, "k8s.io"):
        if key in ALLOWED_KUBE_LABELS:
            return False
        return not any(in_domain(domain, ns) for ns in ALLOWED_KUBE_NAMESPACES)
    return False


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def strategic_merge_status(status, patch):
    """Strategic merge of a Node status: conditions by `type`, maps merge."""
    out = dict(status)
    for k, v in patch.items():
        if k == "conditions":
            conds = [dict(c) for c in out.get("conditions", [])]
            for c in v:
                for i, old in enumerate(conds):
                    if old.get("type") == c.get("type"):
                        conds[i] = merge_patch(old, c)
                        break
                else:
                    conds.append(c)
            out["conditions"] = conds
        elif v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            out[k] = merge_patch(out.get(k, {}), v)
        else:
            out[k] = v
    return out


def new_node(name):
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": str(uuid.uuid4()),
            "resourceVersion": "0",
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {},
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                },
                {
                    "type": "MemoryPressure",
                    "status": "False",
                    "reason": "KubeletHasSufficientMemory",
                    "message": "kubelet has sufficient memory available",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                },
            ]
        },
    }


def bump(node):
    """A write: the next resourceVersion. Caller holds LOCK."""
    STATE["rv"] += 1
    node["metadata"]["resourceVersion"] = str(STATE["rv"])


def status_body(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class ApiError(Exception):
    def __init__(self, code, reason, message):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


def identity(cert):
    """(node name, groups) of a client certificate."""
    cn, orgs = None, []
    for rdn in (cert or {}).get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
            elif k == "organizationName":
                orgs.append(v)
    return cn, orgs


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: outages cut cleanly

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        cn, orgs = identity(self.connection.getpeercert())
        entry = {
            "t": time.time(),
            "actor": cn,
            "method": method,
            "path": url.path,
            "query": {k: v[0] for k, v in query.items()},
            "contentType": self.headers.get("Content-Type"),
            "body": None,
        }
        with LOCK:
            fault = dict(STATE["fault"])
        if fault["latency_ms"]:
            time.sleep(fault["latency_ms"] / 1000)
        try:
            if raw:
                try:
                    entry["body"] = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "BadRequest", "body is not JSON")
            if fault["mode"] == "503":
                raise ApiError(503, "ServiceUnavailable", "injected outage")
            if not (cn or "").startswith("system:node:") or "system:nodes" not in orgs:
                raise ApiError(403, "Forbidden", f"user {cn!r} is not a node")
            me = cn[len("system:node:"):]
            code, body = self.route(method, url.path, query, entry["body"], me)
        except ApiError as e:
            code, body = e.code, status_body(e.code, e.reason, e.message)
        entry["status"] = code
        with LOCK:
            STATE["log"].append(entry)
        self.reply(code, body)

    def do_GET(self):
        self.handle_any("GET")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def route(self, method, path, query, body, me):
        parts = path.strip("/").split("/")
        if parts[:3] == ["api", "v1", "nodes"] and len(parts) in (4, 5):
            name = parts[3]
            sub = parts[4] if len(parts) == 5 else None
            if sub not in (None, "status"):
                raise ApiError(404, "NotFound", f"no subresource {sub}")
            if method == "GET":
                with LOCK:
                    node = STATE["nodes"].get(name)
                    if node is None:
                        raise ApiError(404, "NotFound", f'nodes "{name}" not found')
                    return 200, copy.deepcopy(node)
            if method != "PATCH":
                raise ApiError(405, "MethodNotAllowed", f"{method} on nodes")
            if name != me:
                raise ApiError(
                    403,
                    "Forbidden",
                    f'node "{me}" is not allowed to modify node "{name}"',
                )
            return self.patch_node(name, sub, body)
        if (
            parts[:3] == ["api", "v1", "namespaces"]
            and len(parts) == 5
            and parts[4] == "events"
            and method == "POST"
        ):
            obj = body.get("involvedObject", {}) if isinstance(body, dict) else {}
            if obj.get("kind") != "Node" or obj.get("name") != me:
                raise ApiError(403, "Forbidden", "a node may report events about itself only")
            with LOCK:
                STATE["rv"] += 1
                ev = copy.deepcopy(body)
                meta = ev.setdefault("metadata", {})
                meta["name"] = meta.get("generateName", "event.") + uuid.uuid4().hex[:5]
                meta["namespace"] = parts[3]
                meta["resourceVersion"] = str(STATE["rv"])
                STATE["events"].append(ev)
            return 201, ev
        raise ApiError(404, "NotFound", f"{method} {path} is not served here")

    def patch_node(self, name, sub, patch):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0]
        want = "application/strategic-merge-patch+json" if sub else "application/merge-patch+json"
        if ctype != want:
            raise ApiError(415, "UnsupportedMediaType", f"expected {want}, got {ctype}")
        if not isinstance(patch, dict):
            raise ApiError(400, "BadRequest", "patch is not an object")
        with LOCK:
            node = STATE["nodes"].get(name)
            if node is None:
                raise ApiError(404, "NotFound", f'nodes "{name}" not found')
            if STATE["fault"]["conflicts"] > 0:
                STATE["fault"]["conflicts"] -= 1
                raise ApiError(409, "Conflict", "injected conflict")
            rv = (patch.get("metadata") or {}).get("resourceVersion")
            if rv is not None and rv != node["metadata"]["resourceVersion"]:
                raise ApiError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on nodes "{name}": the object has been modified',
                )
            if sub == "status":
                extra = set(patch) - {"status"}
                if extra:
                    raise ApiError(422, "Invalid", f"status patch touches {sorted(extra)}")
                node["status"] = strategic_merge_status(node.get("status", {}), patch["status"])
            else:
                if "status" in patch:
                    raise ApiError(422, "Invalid", "status goes to nodes/<name>/status")
                if "taints" in (patch.get("spec") or {}):
                    raise ApiError(403, "Forbidden", "node may not modify taints")
                for key in ((patch.get("metadata") or {}).get("labels") or {}):
                    if label_forbidden(key):
                        raise ApiError(
                            403,
                            "Forbidden",
                            f"is not allowed to modify labels: {key}",
                        )
                merged = merge_patch(node, patch)
                merged["metadata"]["resourceVersion"] = node["metadata"]["resourceVersion"]
                node.clear()
                node.update(merged)
            bump(node)
            return 200, copy.deepcopy(node)


class Control(BaseHTTPRequestHandler):
    """Plain HTTP on 127.0.0.1: the test's hands on the server."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        with LOCK:
            body = json.dumps(STATE).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        path = urlsplit(self.path).path
        with LOCK:
            if path == "/fault":
                STATE["fault"].update(req)
            elif path == "/node":
                # Admin writes: create a Node, or merge-patch one (foreign
                # labels, as another controller or an operator would).
                name = req["name"]
                node = STATE["nodes"].setdefault(name, new_node(name))
                if "patch" in req:
                    merged = merge_patch(node, req["patch"])
                    node.clear()
                    node.update(merged)
                bump(node)
            else:
                self.send_response(404)
                self.end_headers()
                return
        mode = STATE["fault"]["mode"]
        SERVER.set_up(mode != "down")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class TlsServer:
    """The API listener; closed during a `down` outage (connection refused)."""

    def __init__(self, port, context):
        self.port, self.context, self.httpd, self.thread = port, context, None, None
        self.lock = threading.Lock()

    def set_up(self, up):
        with self.lock:
            if up and self.httpd is None:
                httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Api)
                httpd.daemon_threads = True
                httpd.socket = self.context.wrap_socket(
                    httpd.socket, server_side=True, do_handshake_on_connect=False
                )
                self.port = httpd.server_address[1]
                self.httpd = httpd
                self.thread = threading.Thread(target=httpd.serve_forever, daemon=True)
                self.thread.start()
            elif not up and self.httpd is not None:
                self.httpd.shutdown()
                self.httpd.server_close()
                self.httpd = None


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_certs(d, nodes):
    """A CA, a server certificate for 127.0.0.1, one client cert per node."""
    ca_key, ca_crt = f"{d}/ca.key", f"{d}/ca.crt"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca_crt, "-days", "2",
            "-subj", "/CN=n3xnet-test-ca")
    # Extensions make X.509 v3 certificates (webpki refuses v1), as k3s's are.
    server_ext, client_ext = f"{d}/server.ext", f"{d}/client.ext"
    with open(server_ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    with open(client_ext, "w") as f:
        f.write("keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")

    def issue(name, subj, extfile):
        openssl("req", *ec, "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr",
                "-subj", subj)
        openssl("x509", "-req", "-in", f"{d}/{name}.csr", "-CA", ca_crt, "-CAkey", ca_key,
                "-CAcreateserial", "-out", f"{d}/{name}.crt", "-days", "2",
                "-extfile", extfile)

    issue("server", "/CN=kube-apiserver", server_ext)
    for n in nodes:
        issue(n, f"/O=system:nodes/CN=system:node:{n}", client_ext)


def write_kubeconfig(d, node, port):
    """As k3s's kubelet.kubeconfig: file paths for the CA and the client pair."""
    with open(f"{d}/{node}.kubeconfig", "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {d}/ca.crt
users:
- name: user
  user:
    client-certificate: {d}/{node}.crt
    client-key: {d}/{node}.key
contexts:
- name: local
  context:
    cluster: local
    user: user
current-context: local
""")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--node", action="append", required=True)
    ap.add_argument("--no-node", action="store_true", help="start without Node objects")
    args = ap.parse_args()
    d = os.path.abspath(args.dir)
    make_certs(d, args.node)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{d}/server.crt", f"{d}/server.key")
    ctx.load_verify_locations(f"{d}/ca.crt")
    ctx.verify_mode = ssl.CERT_REQUIRED
    if not args.no_node:
        for n in args.node:
            node = new_node(n)
            bump(node)
            STATE["nodes"][n] = node
    global SERVER
    SERVER = TlsServer(0, ctx)
    SERVER.set_up(True)
    for n in args.node:
        write_kubeconfig(d, n, SERVER.port)
    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    print(f"READY {SERVER.port} {control.server_address[1]}", flush=True)
    # Stops with its parent: the test closes our stdin (or dies).
    threading.Thread(target=control.serve_forever, daemon=True).start()
    sys.stdin.read()


SERVER = None

if __name__ == "__main__":
    main()
