#!/usr/bin/env python3
"""Watch channelhub's event bus: every canonical event, as the hub commits it.

    apt-get install python3-zmq
    plugins/examples/bus_subscriber.py tcp://127.0.0.1:5556 com.channelhub.order.

The hub publishes two frames per event: the topic (the CloudEvent type, e.g.
com.channelhub.order.upserted) and the CloudEvent JSON. A subscription is a type prefix ("" for
all). The bus is for watching (BI, alerting): a subscriber that falls behind loses messages;
destinations in the hub's configuration are for delivery that loses nothing.
"""
import json
import sys

import zmq


def main() -> int:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5556"
    prefix = sys.argv[2] if len(sys.argv) > 2 else ""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.connect(endpoint)
    sub.setsockopt_string(zmq.SUBSCRIBE, prefix)
    print(f"listening on {endpoint} for {prefix or 'every event'}", file=sys.stderr)
    try:
        while True:
            topic, body = sub.recv_multipart()
            event = json.loads(body)
            data = event.get("data", {})
            key = data.get("order_no") or data.get("name") or data.get("sku") or ""
            print(f"{event.get('time')} {topic.decode()} {event.get('subject')} {key}", flush=True)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
