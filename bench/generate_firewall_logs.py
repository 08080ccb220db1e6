#!/usr/bin/env python3
"""Deterministic generator of a busy border firewall's logs for the firewall replay benchmark
(bench/firewall_bench): the same campus as generate_logs.py, seen by its two firewalls.

  fw1  Linux netfilter (ufw), its kernel log as a collector's rsyslogd writes it by default
       (BSD timestamp): "Nov 28 00:00:01 fw1 kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT=
       MAC=... SRC=... DST=... LEN=60 TOS=0x00 PREC=0x00 TTL=50 ID=4711 DF PROTO=TCP SPT=51234
       DPT=23 WINDOW=64240 RES=0x00 SYN URGP=0" (net/netfilter/nf_log_syslog.c's layout):
       inbound scans blocked, the PCs' outbound web/DNS/NTP allowed, ICMP, mid-connection
       packets (ACK PSH, FIN) that ufw's audit rules log, the relays' outbound SMTP, submission
       to providers (587).
  fw2  Cisco ASA, as rsyslogd writes it with RFC 3339 timestamps (the ASA's tag taken for the
       program): "2026-11-28T00:00:01.123456+00:00 fw2 %ASA-6-302013: Built outbound TCP
       connection ...", in the layouts of Cisco's "ASA Series Syslog Messages": 302013/302014
       (TCP built/teardown), 302015 (UDP built), 305011 (dynamic translation), 106023 (deny by
       access-group), 106100 (ACL log), 710003 (denied to the box).

Worms: four internal PCs (two behind each firewall) each try port 25 of hundreds of outside
hosts within minutes, blocked; the truth is those four hosts. Everyone else stays below the
direct_smtp threshold (a few port-25 tries, or submission on 587) or is exempt (the relays).

Output: fw1.log fw2.log vtrace.yaml truth.json manifest.json
Usage: generate_firewall_logs.py [--lines 500000] [--seed 1] [--out DIR]
"""
import argparse
import json
import os
import random
from datetime import datetime, timedelta, timezone

START = datetime(2026, 11, 28, 0, 0, 0, tzinfo=timezone.utc)
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
RELAYS = ["10.1.0.25", "10.1.0.26"]
WORMS = {"fw1": ["10.20.3.17", "10.20.7.201"], "fw2": ["10.30.1.45", "10.30.9.88"]}
WORM_ATTEMPTS = 300


def bsd(t):
    d = START + timedelta(seconds=t)
    return "%s %2d %s" % (MON[d.month - 1], d.day, d.strftime("%H:%M:%S"))


def rfc3339(t):
    return (START + timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Site:
    def __init__(self, rng):
        self.rng = rng
        self.pcs1 = ["10.20.%d.%d" % (rng.randrange(1, 16), rng.randrange(2, 250))
                     for _ in range(1200)]
        self.pcs2 = ["10.30.%d.%d" % (rng.randrange(1, 16), rng.randrange(2, 250))
                     for _ in range(800)]
        self.outside = ["%d.%d.%d.%d" % (rng.choice((198, 203, 185, 45, 91, 104)),
                                         rng.randrange(0, 256), rng.randrange(0, 256),
                                         rng.randrange(1, 255)) for _ in range(5000)]
        self.mx = ["%d.%d.%d.%d" % (rng.choice((198, 203, 64, 209)), rng.randrange(0, 256),
                                    rng.randrange(0, 256), rng.randrange(1, 255))
                   for _ in range(2000)]
        self.conn = 100000000

    def port(self):
        return self.rng.randrange(32768, 61000)

    def ext(self):
        return self.rng.choice(self.outside)


def netfilter(site, t, prefix, inbound, src, dst, proto, dpt, flags="SYN"):
    r = site.rng
    iface = "IN=eth0 OUT= MAC=52:54:00:12:34:56:00:1b:21:0a:0b:0c:08:00" if inbound else \
        "IN=eth1 OUT=eth0 MAC=52:54:00:ab:cd:ef:52:54:00:12:34:57:08:00"
    head = "%s fw1 kernel: [%d.%06d] %s%s SRC=%s DST=%s LEN=%d TOS=0x00 PREC=0x00 TTL=%d ID=%d " \
        % (bsd(t), 80000 + int(t), r.randrange(1000000), prefix, iface, src, dst,
           r.choice((52, 60, 60, 40, 1500)), r.choice((49, 52, 63, 117, 243)), r.randrange(65536))
    if proto == "TCP":
        return head + "DF PROTO=TCP SPT=%d DPT=%d WINDOW=%d RES=0x00 %s URGP=0" % (
            site.port(), dpt, r.choice((64240, 65535, 1024, 29200, 502)), flags)
    if proto == "UDP":
        return head + "PROTO=UDP SPT=%d DPT=%d LEN=%d" % (site.port(), dpt, r.randrange(20, 512))
    return head + "PROTO=ICMP TYPE=8 CODE=0 ID=%d SEQ=%d" % (r.randrange(65536), r.randrange(100))


def fw1_line(site, t):
    r = site.rng
    x = r.random()
    if x < 0.34:      # scans and probes from outside, blocked
        return netfilter(site, t, "[UFW BLOCK] ", True, site.ext(), "192.0.2.%d" % r.randrange(1, 60),
                         "TCP", r.choice((22, 23, 445, 3389, 8080, 1433, 5900, 25, 80, 6379)))
    if x < 0.56:      # the PCs' web, allowed
        return netfilter(site, t, "[UFW ALLOW] ", False, r.choice(site.pcs1), site.ext(), "TCP",
                         r.choice((443, 443, 443, 80, 8443)))
    if x < 0.68:      # DNS and NTP
        return netfilter(site, t, "[UFW ALLOW] ", False, r.choice(site.pcs1), site.ext(), "UDP",
                         r.choice((53, 53, 123, 443)))
    if x < 0.72:
        return netfilter(site, t, "[UFW BLOCK] ", True, site.ext(), "192.0.2.%d" % r.randrange(1, 60),
                         "ICMP", 0)
    if x < 0.88:      # mid-connection packets the audit rules log
        return netfilter(site, t, "[UFW AUDIT] ", False, r.choice(site.pcs1), site.ext(), "TCP",
                         r.choice((443, 80, 25)), r.choice(("ACK PSH", "ACK", "ACK FIN", "ACK RST")))
    if x < 0.96:      # the relays' outbound SMTP: mail sources, exempt
        return netfilter(site, t, "[UFW ALLOW] ", False, r.choice(RELAYS), r.choice(site.mx),
                         "TCP", 25)
    if x < 0.99:      # submission to a provider, allowed
        return netfilter(site, t, "[UFW ALLOW] ", False, r.choice(site.pcs1), r.choice(site.mx[:20]),
                         "TCP", 587)
    # a PC's stray port-25 try: a few per host, under the threshold
    return netfilter(site, t, "[UFW BLOCK] ", False, r.choice(site.pcs1), r.choice(site.mx), "TCP", 25)


def asa(t, body):
    level, msg_id, text = body
    return "%s fw2 %%ASA-%d-%s: %s" % (rfc3339(t), level, msg_id, text)


def fw2_line(site, t):
    r = site.rng
    site.conn += 1
    pc, ext, sp, pt = r.choice(site.pcs2), site.ext(), site.port(), r.randrange(1024, 65535)
    x = r.random()
    if x < 0.30:
        dport = r.choice((443, 443, 80, 8443, 993))
        return asa(t, (6, "302013", "Built outbound TCP connection %d for outside:%s/%d (%s/%d) "
                       "to inside:%s/%d (203.0.113.9/%d)" % (site.conn, ext, dport, ext, dport, pc,
                                                            sp, pt)))
    if x < 0.58:
        return asa(t, (6, "302014", "Teardown TCP connection %d for outside:%s/443 to inside:%s/%d "
                       "duration 0:%02d:%02d bytes %d TCP FINs from inside"
                       % (site.conn - r.randrange(1, 500), ext, pc, sp, r.randrange(60),
                          r.randrange(60), r.randrange(100, 900000))))
    if x < 0.70:
        return asa(t, (6, "302015", "Built outbound UDP connection %d for outside:%s/53 (%s/53) "
                       "to inside:%s/%d (203.0.113.9/%d)" % (site.conn, ext, ext, pc, sp, pt)))
    if x < 0.78:
        return asa(t, (6, "305011", "Built dynamic TCP translation from inside:%s/%d to "
                       "outside:203.0.113.9/%d" % (pc, sp, pt)))
    if x < 0.89:
        return asa(t, (4, "106023", "Deny tcp src outside:%s/%d dst inside:192.0.2.%d/%d by "
                       "access-group \"outside_in\" [0x0, 0x0]"
                       % (ext, sp, r.randrange(1, 60), r.choice((22, 23, 445, 3389, 1433)))))
    if x < 0.93:
        return asa(t, (3, "710003", "TCP access denied by ACL from %s/%d to outside:203.0.113.9/22"
                       % (ext, sp)))
    if x < 0.975:     # the relays' outbound SMTP
        mx = r.choice(site.mx)
        return asa(t, (6, "302013", "Built outbound TCP connection %d for outside:%s/25 (%s/25) "
                       "to inside:%s/%d (%s/%d)" % (site.conn, mx, mx, r.choice(RELAYS), sp,
                                                    "203.0.113.10", pt)))
    if x < 0.99:
        return asa(t, (6, "106100", "access-list inside_in permitted tcp inside/%s(%d) -> "
                       "outside/%s(587) hit-cnt 1 first hit [0x91e9b1c8, 0x0]"
                       % (pc, sp, r.choice(site.mx[:20]))))
    return asa(t, (4, "106023", "Deny tcp src inside:%s/%d dst outside:%s/25 by access-group "
                   "\"inside_in\" [0x0, 0x0]" % (pc, sp, r.choice(site.mx))))


def worm_line(site, fw, t, pc):
    mx = site.rng.choice(site.mx)
    if fw == "fw1":
        return netfilter(site, t, "[UFW BLOCK] ", False, pc, mx, "TCP", 25)
    return asa(t, (4, "106023", "Deny tcp src inside:%s/%d dst outside:%s/25 by access-group "
                   "\"inside_in\" [0x0, 0x0]" % (pc, site.port(), mx)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=500000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=".")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    site = Site(rng)
    span = 6 * 3600.0
    share = {"fw1": 0.55, "fw2": 0.45}
    worm_lines = WORM_ATTEMPTS * sum(len(v) for v in WORMS.values())
    counts = {}
    for fw, make in (("fw1", fw1_line), ("fw2", fw2_line)):
        n = int((a.lines - worm_lines) * share[fw])
        events = [(i * span / n, None) for i in range(n)]
        for k, pc in enumerate(WORMS[fw]):          # a burst of ~4 minutes each
            t0 = span * (0.2 + 0.35 * k) + rng.random() * 600
            events += [(t0 + j * 0.8 + rng.random() * 0.5, pc) for j in range(WORM_ATTEMPTS)]
        events.sort(key=lambda e: e[0])
        with open(os.path.join(a.out, fw + ".log"), "w") as f:
            f.writelines((make(site, t) if pc is None else worm_line(site, fw, t, pc)) + "\n"
                         for t, pc in events)
        counts[fw] = len(events)
    with open(os.path.join(a.out, "vtrace.yaml"), "w") as f:
        f.write("""# firewall replay benchmark (generated by bench/generate_firewall_logs.py)
sources:
  - name: relay1
    hostnames: [relay1]
    addresses: [10.1.0.25]
    role: relay
  - name: relay2
    hostnames: [relay2]
    addresses: [10.1.0.26]
    role: relay
  - name: fw1
    hostnames: [fw1]
    role: firewall
  - name: fw2
    hostnames: [fw2]
    role: firewall
networks:
  internal:
    - name: campus
      cidrs: [10.0.0.0/8]
correlation:
  window: 30m
direct_smtp:
  ports: [25, 587]
  threshold:
    connections: 20
    destinations: 5
    within: 10m
""")
    with open(os.path.join(a.out, "truth.json"), "w") as f:
        json.dump({"direct_smtp_origins": sorted(pc for v in WORMS.values() for pc in v)}, f)
    with open(os.path.join(a.out, "manifest.json"), "w") as f:
        json.dump({"lines": counts, "seed": a.seed, "span_seconds": span,
                   "worm_attempts_per_host": WORM_ATTEMPTS}, f)


if __name__ == "__main__":
    main()
