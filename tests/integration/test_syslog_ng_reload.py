#!/usr/bin/env python3
"""syslog-ng-ctl reload under a steady stream of mail, each right after a burst of 300 mails
(the pipe full): the shipped keep-alive(yes) keeps the correlator and its pipe through syslog-ng's
reloads (syslog-ng sends it nothing: measured, same process), so nothing is lost, and the site's
own output of the same lines keeps flowing. (Without keep-alive syslog-ng restarts the program on
reload and, measured, drops a line being written under a backlog: syslog-ng issue #3353.)

An edited vtrace.yaml is loaded by SIGHUP to the correlator (as rsyslog's hup.signal does): a
gateway gw4 (127.0.0.5) is added; its detection sent before the SIGHUP stays untrusted (no
incident, also not after), its virus chain sent after it is traced, by the same process. Every
line from gw1 and relay1 reaches the journal; every incident comes once.
"""
import os
import random
import signal
import threading
import time

import harness
import syslog_ng_harness as sng
from harness import Mail, check, log

MAILS = 600
DURATION = 8.0
RELOAD_AT = (2.0, 4.5)
BURST = 300

GW4 = """\
  - name: gw4
    addresses: [127.0.0.5]
    role: gateway
"""


def lines_of(mails):
    out = []
    for m in mails:
        out += [("127.0.0.3", f.decode().split(": ", 1)[1].rstrip("\n")) for f in m.relay_lines()]
        out += [("127.0.0.2", f.decode().split(" - - ", 1)[1].rstrip("\n"))
                for f in m.gateway_lines()]
    return out


def body(lab):
    lab.start()
    relay = lab.sender("127.0.0.3")
    gw = lab.sender("127.0.0.2")
    gw4 = lab.sender("127.0.0.5")
    rng = random.Random(1718)
    burst_rng = random.Random(5)
    gw4_rng = random.Random(4)
    before = Mail(gw4_rng, 9001, virus="Win.Worm.BeforeHup")
    after = Mail(gw4_rng, 9002, virus="Win.Worm.AfterHup")
    mails = []
    pids = []
    t0 = time.time()

    def reloader():
        for k, at in enumerate(RELOAD_AT):
            time.sleep(max(0.0, t0 + at - time.time()))
            pids.append(lab.wait_correlator(timeout=15))
            for j in range(BURST):
                m = Mail(burst_rng, 10_000 * (k + 1) + j)
                mails.append(m)
                relay.send(*m.relay_lines())
                gw.send(*m.gateway_lines())
            lab.reload()
            log(f"syslog-ng-ctl reload at t+{time.time() - t0:.1f} s (correlator pid "
                f"{pids[-1]}), right after a burst of {BURST} mails")

    r = threading.Thread(target=reloader, daemon=True)
    r.start()
    for i in range(MAILS):
        due = t0 + i * DURATION / MAILS
        if due > time.time():
            time.sleep(due - time.time())
        m = Mail(rng, i, virus=f"Win.Worm.Reload-{i}" if i % 20 == 3 else None)
        mails.append(m)
        relay.send(*m.relay_lines())
        gw.send(*m.gateway_lines())
    r.join(timeout=30)
    pids.append(lab.wait_correlator(timeout=15))
    check(len(pids) == 3 and len(set(pids)) == 1 and None not in pids,
          f"the same correlator ran through both reloads (pids {pids})")
    check(lab.alive(), "syslog-ng is running")

    # A new vtrace.yaml: SIGHUP to the correlator.
    gw4.send(*before.gateway_lines("gw4"))
    time.sleep(1.0)
    with open(lab.config, encoding="utf-8") as f:
        text = f.read()
    with open(lab.config, "w", encoding="utf-8") as f:
        f.write(text.replace("  # Recognised by hostname only",
                             GW4 + "  # Recognised by hostname only"))
    os.kill(pids[0], signal.SIGHUP)
    # The reload replays the journal of the whole stream: seconds on a loaded host.
    deadline = time.time() + 30
    while time.time() < deadline and "configuration reloaded" not in lab.read(lab.correlator_log):
        time.sleep(0.1)
    check("configuration reloaded" in lab.read(lab.correlator_log),
          "SIGHUP made the correlator reload vtrace.yaml")
    relay.send(*after.relay_lines())
    gw4.send(*after.gateway_lines("gw4"))

    expected = {m.expected_id(): m for m in mails if m.virus}
    after_id = after.expected_id("gw4")
    check(lab.responder.wait_for_ids(list(expected) + [after_id], timeout=30),
          "every incident of the stream and gw4's chain sent after the SIGHUP arrived")
    time.sleep(7.0)  # relay echoes settle 3 x clock_skew after their log time
    ids = lab.responder.ids()
    check(not any(d.get("virus") == "Win.Worm.BeforeHup" for d in lab.responder.incidents()),
          "gw4's detection sent before the SIGHUP gave no incident")
    unexpected = set(ids) - set(expected) - {after_id}
    check(not unexpected, f"nothing else reported ({len(unexpected)} unexpected)")
    by_id = {d["id"]: d for d in lab.responder.incidents()}
    check(by_id[after_id]["detector"]["host"] == "gw4" and
          [h["host"] for h in by_id[after_id]["hops"]] == ["gw4", "relay1"],
          "the new source gw4 is traced: gw4 -> relay1")
    check(lab.correlator_pids() == [pids[0]], "still the same correlator process")
    print(f"  responder: {len(ids)} POSTs, {len(set(ids))} distinct incidents", flush=True)

    journal = harness.journal_lines(lab.state)
    seen = {(j["fromhost-ip"], j["msg"]) for j in journal}
    sent = lines_of(mails)
    lost = [s for s in sent if s not in seen]
    print(f"  MEASURED: {len(sent)} lines over {len(RELOAD_AT)} reloads, {len(lost)} lost",
          flush=True)
    check(not lost, f"every line of the stream reached the journal ({len(lost)} lost: "
                    f"{lost[:3]})")
    total = (len(sent) + len(before.gateway_lines("gw4")) + len(after.relay_lines())
             + len(after.gateway_lines("gw4")))
    check(lab.wait_site_lines(total) == total,
          f"the site's own output got all {total} lines through the reloads")


if __name__ == "__main__":
    sng.run("syslog_ng_reload_keeps_the_correlator_and_sighup_reloads_it", body, feeds=("tcp",),
            site_log=True)
