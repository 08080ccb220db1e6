#!/usr/bin/env python3
"""Live equals replay after a backlog. The bundled multi-host scenario (postfix,
sendmail and exim relays, a postfix + clamav-milter gateway and a sendmail gateway; its ISVW
log left out) is sent through a private rsyslogd with the shipped snippet, every line with its
original timestamp from November, as a collector sees them after an outage: first the
gateways' whole backlog, then, a second later, the relays'. The detections arrive long before
the relay records they need. Every incident must be the one replay gives for the same lines:
the same ids, and for each the same confidence, origin and hops; nothing else."""
import datetime as dt
import json
import os
import re
import subprocess
import time

import harness
from harness import check, log, rfc5424

SCENARIO = os.path.join(harness.SOURCE_DIR, "tests", "fixtures", "scenario")
FILES = ["gw1.log", "gw2.log", "intruder.log", "relay1.log", "relay2.log", "relay3.log"]
GATEWAYS = {"gw1.log", "gw2.log", "intruder.log"}
ADDRESSES = {"gw1": "127.0.0.11", "gw2": "127.0.0.12", "relay1": "127.0.0.13",
             "relay2": "127.0.0.14", "relay3": "127.0.0.15"}

LINE = re.compile(r"^(?P<stamp>\d{4}-\d\d-\d\dT\S+|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) "
                  r"(?P<host>\S+) (?P<app>[^\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)$")


def parse(name):
    out = []
    with open(os.path.join(SCENARIO, name), encoding="utf-8") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            stamp = m["stamp"]
            if stamp[0].isdigit():
                t = dt.datetime.fromisoformat(stamp).timestamp()
            else:
                t = dt.datetime.strptime("2026 " + stamp, "%Y %b %d %H:%M:%S").replace(
                    tzinfo=dt.timezone.utc).timestamp()
            out.append((t, m["host"], m["app"], m["pid"] or "-", m["msg"]))
    return out


def yaml_for(lab_yaml_tail):
    with open(os.path.join(SCENARIO, "vtrace.yaml"), encoding="utf-8") as f:
        text = f.read()
    for host, address in ADDRESSES.items():
        text = re.sub(rf"(- name: {host}\n    hostnames: \[[^\]]*\]\n    addresses: \[)",
                      rf"\g<1>{address}, ", text)
    return text + lab_yaml_tail


def body(lab):
    lab.start()
    senders = {host: lab.sender(address) for host, address in ADDRESSES.items()}
    # The relays' backlog trails the gateways' by half a second of log time, as when both
    # hosts' queues flush into the collector at once: when a detection arrives, the relay
    # records of its last half second are still on their way, and older mail with the same
    # forged envelope is already there.
    lines = []
    for name in FILES:
        lag = 0.0 if name in GATEWAYS else 0.5
        lines.extend((t + lag, t, host, app, pid, msg) for t, host, app, pid, msg in parse(name))
    lines.sort(key=lambda x: (x[0], x[2]))
    for _, t, host, app, pid, msg in lines:
        senders[host].send(rfc5424(host, app, pid, msg, t))
    log(f"sent the backlog: {len(lines)} lines with their November timestamps")

    replay = subprocess.run(
        [lab.correlator, "--config", lab.config, "--replay", "--year", "2026", "--timezone", "UTC"]
        + [os.path.join(SCENARIO, n) for n in FILES], capture_output=True, text=True, timeout=60)
    check(replay.returncode == 0, f"replay of the same files succeeds ({replay.stderr[-300:]})")
    expected = {d["id"]: d for d in map(json.loads, replay.stdout.splitlines())}
    log(f"replay: {len(expected)} incidents")

    # Live: held detections settle, unresolved ones wait out pending_timeout (10 s here).
    deadline = time.time() + 60
    while time.time() < deadline:
        stats = lab.stats()
        if stats.get("pending") == 0 and set(expected) <= set(lab.responder.ids()):
            break
        time.sleep(0.5)
    time.sleep(2.0)
    live = {}
    for d in lab.responder.incidents():
        if d["id"] not in live or d["revision"] >= live[d["id"]]["revision"]:
            live[d["id"]] = d
    missing = sorted(set(expected) - set(live))
    extra = sorted(set(live) - set(expected))
    check(not missing, f"every replayed incident is reported live ({len(missing)} missing: "
                       f"{[(expected[i]['detector']['host'], expected[i]['virus']) for i in missing][:5]})")
    check(not extra, f"nothing is reported live that replay does not report ({len(extra)}: "
                     f"{[(live[i]['detector']['host'], live[i]['confidence']) for i in extra][:5]})")

    def summary(d):
        origin = d.get("origin") or {}
        return (d["confidence"], origin.get("ip"), [h["host"] for h in d["hops"]])

    differ = [(i, summary(expected[i]), summary(live[i])) for i in expected
              if i in live and summary(expected[i]) != summary(live[i])]
    for i, want, got in differ[:10]:
        print(f"   {i}: replay {want}, live {got}")
    check(not differ, f"each incident has replay's confidence, origin and hops "
                      f"({len(differ)} of {len(expected)} differ)")



if __name__ == "__main__":
    template = yaml_for(harness.OUTPUT_YAML).replace("  window: 30m\n", "  window: 30m\n  pending_timeout: {pending_timeout}\n")
    template = template.replace("  clock_skew: 5s\n", "  clock_skew: {clock_skew}\n")
    harness.run("backlog_equals_replay", body, yaml_template=template, clock_skew="5s",
                pending_timeout="10s")
