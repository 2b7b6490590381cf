#!/usr/bin/env python3
"""An out-of-process channelhub connector in Python: a dealer order portal.

    apt-get install python3-zmq
    plugins/examples/remote_connector.py --endpoint tcp://127.0.0.1:5557

The hub binds a ROUTER socket at remote_connectors.endpoint; this process connects a DEALER,
says HELLO and answers the hub's CALLs (plugins/REMOTE.md has the protocol). It may crash or be
restarted at any time: the hub answers the portal 503 meanwhile (the portal sends again), keeps
deliveries waiting, and takes the connector back when it says HELLO again.

What "portal" does, as configured in config/remote-connector.yaml:
  inbound         POST {"orders": [<canonical order>, ...]} with X-Portal-Token: <settings.token>;
                  each order becomes one payload of kind "order" with event id "portal-<order_no>".
  build_delivery  POST the event to <url><settings.path> with Authorization: Bearer <settings.token>
                  and Idempotency-Key: <event id>.
  judge_delivery  2xx done; 408, 429 and 5xx retry (Retry-After honoured); anything else permanent.

The Connector class below is the reusable part: subclass it and write the operations you need.
"""
import argparse
import base64
import hmac
import json
import os
import sys
import time

import zmq

PROTOCOL_VERSION = 1


def body_of(obj):
    """The bytes of a message body: "body" (text) or "body_b64" (anything else)."""
    if "body_b64" in obj:
        return base64.b64decode(obj["body_b64"])
    return obj.get("body", "").encode("utf-8")


def put_body(obj, data):
    """Sets "body" when the bytes are UTF-8 text, else "body_b64"."""
    try:
        obj["body"] = data.decode("utf-8")
    except UnicodeDecodeError:
        obj["body_b64"] = base64.b64encode(data).decode("ascii")
    return obj


class Connector:
    """Links to the hub and dispatches its calls to methods named like the operations."""

    name = ""
    version = "1.0"
    capabilities = []

    def __init__(self, endpoint, delay_ms=0):
        self.endpoint = endpoint
        self.delay_ms = delay_ms
        self.ctx = zmq.Context()
        self.sock = None
        self.heartbeat_ms = 1000

    def connect(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.endpoint)
        self.send("HELLO", {"connector": self.name, "version": self.version, "pid": os.getpid(),
                            "capabilities": self.capabilities, "protocol": PROTOCOL_VERSION})

    def send(self, kind, obj):
        self.sock.send_multipart([kind.encode(), json.dumps(obj, ensure_ascii=False).encode("utf-8")])

    def run(self):
        self.connect()
        last_ping = 0.0
        last_heard = time.monotonic()
        while True:
            now = time.monotonic()
            if now - last_ping >= self.heartbeat_ms / 1000.0:
                self.send("PING", {})
                last_ping = now
            if now - last_heard > 5 * self.heartbeat_ms / 1000.0:
                # The hub said nothing for a while (restarted, or the link broke): start again.
                print(f"{self.name}: no word from the hub; saying HELLO again", file=sys.stderr, flush=True)
                self.connect()
                last_heard = now
            if not self.sock.poll(timeout=min(self.heartbeat_ms, 250)):
                continue
            frames = self.sock.recv_multipart()
            last_heard = time.monotonic()
            kind = frames[0].decode()
            msg = json.loads(frames[1]) if len(frames) > 1 and frames[1] else {}
            if kind == "WELCOME":
                self.heartbeat_ms = int(msg.get("heartbeat_ms", 1000))
                print(f"{self.name}: linked to {self.endpoint}", file=sys.stderr, flush=True)
            elif kind == "REFUSED":
                print(f"{self.name}: the hub refused this connector: {msg.get('message')}", file=sys.stderr)
                return 2
            elif kind == "WHO":
                self.connect()
            elif kind == "CALL":
                self.send("RESULT", self.answer(msg))

    def answer(self, call):
        if self.delay_ms:
            time.sleep(self.delay_ms / 1000.0)
        op = call.get("op", "")
        handler = getattr(self, op, None)
        if op.startswith("_") or handler is None:
            return {"id": call["id"], "error": f"connector {self.name} has no operation {op!r}"}
        try:
            result = handler(call, call.get("settings", {}))
        except Exception as e:  # a bug here fails one call, never the link
            return {"id": call["id"], "error": f"{type(e).__name__}: {e}"}
        result["id"] = call["id"]
        return result


class Portal(Connector):
    name = "portal"
    version = "1.2.0"
    capabilities = ["inbound", "outbound"]

    def inbound(self, call, settings):
        req = call["request"]
        headers = {k.lower(): v for k, v in req.get("headers", [])}
        token = settings.get("token", "")
        if not token or not hmac.compare_digest(headers.get("x-portal-token", ""), token):
            return {"reject": {"status": 401, "reason": "unauthorized"}}
        try:
            doc = json.loads(body_of(req))
            orders = doc["orders"]
            if not isinstance(orders, list):
                raise TypeError("orders is not a list")
        except (ValueError, KeyError, TypeError) as e:
            return {"reject": {"status": 400, "reason": f"expected {{\"orders\": [...]}}: {e}"}}
        payloads = []
        for i, order in enumerate(orders):
            if not isinstance(order, dict) or not order.get("order_no"):
                return {"reject": {"status": 422, "reason": f"orders[{i}] has no order_no"}}
            payloads.append(put_body({"event_id": f"portal-{order['order_no']}", "kind": "order",
                                      "content_type": "application/json"},
                                     json.dumps(order, ensure_ascii=False).encode("utf-8")))
        return put_body({"payloads": payloads, "status": 200, "content_type": "application/json"},
                        json.dumps({"received": len(payloads)}).encode())

    def build_delivery(self, call, settings):
        d = call["delivery"]
        headers = [["Content-Type", d.get("content_type") or "application/json"],
                   ["Authorization", "Bearer " + settings.get("token", "")],
                   ["Idempotency-Key", d["event_id"]]]
        return {"request": put_body({"method": "POST", "target": settings.get("path", "/orders"),
                                     "headers": headers}, body_of(d))}

    def judge_delivery(self, call, settings):
        r = call["response"]
        status = r["status"]
        if 200 <= status < 300:
            return {"verdict": "done"}
        if status in (408, 429) or status >= 500:
            headers = {k.lower(): v for k, v in r.get("headers", [])}
            after = headers.get("retry-after", "")
            return {"verdict": "retry", "message": f"HTTP {status}",
                    "retry_after_ms": int(after) * 1000 if after.isdigit() else 0}
        return {"verdict": "permanent", "message": f"HTTP {status}: {body_of(r)[:200].decode('utf-8', 'replace')}"}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default="tcp://127.0.0.1:5557", help="the hub's remote_connectors.endpoint")
    p.add_argument("--delay-ms", type=int, default=0, help="wait this long before each answer (tests)")
    p.add_argument("--name", default=Portal.name, help="the connector name to say in HELLO")
    args = p.parse_args()
    portal = Portal(args.endpoint, args.delay_ms)
    portal.name = args.name
    try:
        return portal.run()
    except KeyboardInterrupt:
        portal.send("BYE", {})  # the hub fails over at once instead of waiting for the heartbeat
        return 0


if __name__ == "__main__":
    sys.exit(main())
