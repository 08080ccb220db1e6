#!/usr/bin/env python3
"""The responder refuses one incident for good (HTTP 400, as its strict API answers a field of
the wrong shape): the correlator must not retry it for ever. It is sent once, recorded as
refused (stats outbox_refused, an ERROR in its log, `vtracectl refused`), and the incidents
after it are still delivered."""
import os
import random
import subprocess
import time

import harness
from harness import Mail, check


def body(lab):
    lab.responder.refuse_virus = "Win.Worm.Refused"
    lab.start()
    gw = lab.sender("127.0.0.2")
    relay = lab.sender("127.0.0.3")
    rng = random.Random(400)
    refused = Mail(rng, 1, virus="Win.Worm.Refused")
    accepted = Mail(rng, 2, virus="Win.Worm.Accepted")
    for m in (refused, accepted):
        relay.send(*m.relay_lines())
        gw.send(*m.gateway_lines())
        time.sleep(0.3)
    check(lab.responder.wait_for_ids({accepted.expected_id()}, timeout=30),
          "the incident after the refused one is delivered")
    stats = lab.wait_stats(lambda s: s.get("outbox_refused") == 1, timeout=15)
    check(stats.get("outbox_refused") == 1 and stats.get("outbox_depth") == 0,
          f"the stats count one refused incident and nothing left to send "
          f"(refused {stats.get('outbox_refused')}, depth {stats.get('outbox_depth')})")
    time.sleep(3.0)  # more than the first retry's backoff
    posts = [d for d in lab.responder.incidents() if d["id"] == refused.expected_id()]
    check(len(posts) == 1, f"the refused incident was sent once, not retried ({len(posts)})")
    check("refused incident " + refused.expected_id() in lab.read(lab.correlator_log),
          "the correlator logged the refusal")
    ctl = os.environ["VTRACE_CTL"]
    out = subprocess.run([ctl, "refused", "--state-dir", lab.state], capture_output=True,
                         text=True, timeout=30)
    print(out.stdout + out.stderr)
    check(out.returncode == 0 and refused.expected_id() in out.stdout
          and "HTTP 400" in out.stdout and accepted.expected_id() not in out.stdout,
          "vtracectl refused lists it, with the responder's answer")


if __name__ == "__main__":
    harness.run("responder_refuses_incident", body)
