#!/usr/bin/env python3
"""Deterministic generator of large, realistic multi-host mail logs for the vtrace benchmark.

The site is the one of tests/fixtures/scenario (same host names, addresses and line shapes):

  internal PCs --> relay1 (postfix, BSD syslog)   --> gw1 (postfix + clamav-milter, RFC 3339 us)
               --> relay2 (sendmail, BSD syslog)  --> gw2 (sendmail, BSD syslog; ISVW virus log)
               --> relay3 (exim via syslog)       --> relay1 --> gw1  (or straight to gw2)
  external MTAs -----------------------------------> gw1 / gw2 --> mailhost or the Internet

plus noise (postscreen CONNECT/PASS/PREGREET/DNSBL, smtpd connect/disconnect, NOQUEUE rejects,
SASL failures, TLS lines, anvil and scache statistics, qmgr removed, sendmail ruleset rejects
and STARTTLS lines, exim queue runs and RCPT rejects), postfix queue-id reuse (small inode
pool + deliberate reuse of ids removed > 10 min earlier), per-host clock skew (< 2 s) and about
1 % virus mails:

  * gw1 (clamav-milter LogInfected Full): the clamav-milter line, postfix cleanup
    `milter-reject: END-OF-MESSAGE ... 5.7.1 Virus NAME detected by gateway; from=<> to=<> ...`;
    the sending relay logs `status=bounced (host gw1...[...] said: 550 5.7.1 Virus NAME
    detected by gateway (in reply to end of DATA command))` (postfix) or `dsn=5.7.1,
    stat=Service unavailable` + a DSN line (sendmail), then sends a non-delivery notice.
  * gw2 (sendmail + InterScan VirusWall): gw2 logs from= and the ISVW log a Date/From/To/
    File/Action/Virus block 0.3-2.5 s later (envelope and time only: a fuzzy match).
  * two bursts: one infected PC sending 15 virus mails through relay1 within 3 minutes
    (exact chain), and two infected PCs sending identical envelopes through relay2 to gw2
    (ISVW; undecidable by envelope when another same-envelope message is within 10 s).

Output (one file per host, each in time order):
  relay1.log relay2.log relay3.log gw1.log gw2.log isvw.log (gw2's, give it as gw2=isvw.log)
  vtrace.yaml   the sources (host names and addresses as logged) and the internal network
  truth.jsonl   one line per virus mail: detector host, its queue id, message-id, true origin
  manifest.json parameters and counts

Usage: generate_logs.py [--lines 500000] [--out DIR] [--seed 1] [--pcs 2000]
"""

import argparse
import json
import os
import random
import sys
from collections import deque
from datetime import datetime, timedelta, timezone

START = datetime(2026, 11, 28, 0, 0, 0, tzinfo=timezone.utc)
START_TS = int(START.timestamp())
MON = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DOW = "Mon Tue Wed Thu Fri Sat Sun".split()
B60 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"  # sendmail QueueEncode
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # exim base62

SURNAMES = ("sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato "
            "yoshida yamada sasaki yamaguchi matsumoto inoue kimura hayashi shimizu yamazaki "
            "mori abe ikeda hashimoto yamashita ishikawa nakajima maeda fujita ogawa goto "
            "okada hasegawa murakami kondo ishii saito sakamoto endo aoki").split()
GIVEN = ("taro hana ken yui sho mai ryo aya dai emi jun kana koji mika naoki rie shun yuko "
         "hiro saki").split()
ROLES = ["office", "info", "admin", "support", "billing", "jimu", "kyomu", "soumu"]
EXT_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.org",
               "partner.example.co.jp", "shop.example.com", "news.example.net",
               "univ.example.edu", "lab.example.jp", "cloud.example.io"]
SUBJECTS = ["Re: document", "Your invoice", "Details", "hello", "Mail Delivery (failure)",
            "Meeting minutes", "Re: Re: schedule", "Payment confirmation", "It's your order",
            "Scan from copier", "Shipping notice", "Fw: report"]
CLAM_VIRUSES = ["Win.Worm.Netsky-71", "Win.Worm.Mydoom-1", "Win.Trojan.Mabutu-2",
                "Win.Worm.Lovgate-3", "Doc.Dropper.Agent-6925813-0",
                "Xls.Downloader.Emotet-9876543-0", "Win.Trojan.Agent-1234567",
                "Html.Phishing.Bank-4211"]
ISVW_VIRUSES = ["WORM_NETSKY.P", "WORM_MYDOOM.M", "WORM_LOVGATE.F", "MIME_Tag_Overflow",
                "TROJ_EMOTET.SMD", "TROJ_AGENT.XYZ"]
ISVW_FILES = ["photo.exe", "readme.scr", "details.zip", "document.pif", "invoice.doc.exe",
              "message.html"]

# The site: name -> (syslog hostname, FQDN used by peers, address, MTA, timestamp style,
# clock skew in seconds).
HOSTS = {
    "relay1": ("relay1", "relay1.campus.example.ac.jp", "10.1.0.25", "postfix", "bsd", 0.0),
    "relay2": ("relay2", "relay2.campus.example.ac.jp", "10.1.0.26", "sendmail", "bsd", 0.8),
    "relay3": ("relay3", "mail.dept.example.ac.jp", "10.20.0.5", "exim", "bsd", -1.2),
    "gw1": ("gw1", "gw1.example.ac.jp", "192.0.2.25", "postfix", "rfc3339", 0.3),
    "gw2": ("gw2", "gw2.example.ac.jp", "192.0.2.26", "sendmail", "bsd", -0.5),
}
DEFAULT_GW = {"relay1": "gw1", "relay2": "gw2", "relay3": "relay1"}
MAILHOST = ("mailhost.campus.example.ac.jp", "10.1.0.80")

_stamp_cache = {}


def _second_strings(sec):
    """(BSD 'Nov 28 05:00:05', ISO '2026-11-28T05:00:05', exim '2026-11-28 05:00:05')."""
    s = _stamp_cache.get(sec)
    if s is None:
        d = START + timedelta(seconds=sec)
        hms = f"{d.hour:02d}:{d.minute:02d}:{d.second:02d}"
        ymd = f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
        s = (f"{MON[d.month - 1]} {d.day:2d} {hms}", f"{ymd}T{hms}", f"{ymd} {hms}")
        if len(_stamp_cache) > 200000:
            _stamp_cache.clear()
        _stamp_cache[sec] = s
    return s


def split_time(t):
    sec = int(t // 1)
    usec = int(round((t - sec) * 1e6))
    if usec >= 1000000:
        sec, usec = sec + 1, usec - 1000000
    return sec, usec


def b62(n, width):
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(B62[r])
    return "".join(reversed(out))


def pf_delay(x):
    """Postfix-style short delay numbers: 0.52, 1.2, 12, 0."""
    if x < 0.005:
        return "0"
    if x < 1:
        return f"{x:.2f}".rstrip("0").rstrip(".")
    if x < 10:
        return f"{x:.1f}".rstrip("0").rstrip(".")
    return f"{x:.0f}"


def hms(x):
    x = max(0, int(x))
    return f"{x // 3600:02d}:{x % 3600 // 60:02d}:{x % 60:02d}"


class Host:
    def __init__(self, gen, key):
        self.gen = gen
        self.key = key
        self.name, self.fqdn, self.ip, self.mta, self.style, self.skew = HOSTS[key]
        self.lines = []
        self.pid_counter = gen.rng.randrange(1500, 9000)

    def next_pid(self):
        self.pid_counter += self.gen.rng.randrange(1, 24)
        if self.pid_counter > 999999:
            self.pid_counter = 300 + self.gen.rng.randrange(100)
        return self.pid_counter

    def local(self, t):
        return t + self.skew

    def log(self, t, prog, text):
        lt = t + self.skew
        sec, usec = split_time(lt)
        if self.style == "bsd":
            stamp = _second_strings(sec)[0]
        else:
            stamp = f"{_second_strings(sec)[1]}.{usec:06d}+00:00"
        self.lines.append((lt, self.gen.seq, f"{stamp} {self.name} {prog}: {text}"))
        self.gen.seq += 1
        self.gen.nlines += 1

    def exim(self, t, pid, text):
        sec, _ = split_time(t + self.skew)
        self.log(t, f"exim[{pid}]", f"{_second_strings(sec)[2]} {text}")


def sendmail_qid(host, t, pid, rng):
    """sendmail's id: year, month, day, hour, minute, second (base 60), two sequence
    characters and the six-digit pid of the process that got the message."""
    sec, _ = split_time(host.local(t))
    d = START + timedelta(seconds=sec)
    return (B60[(d.year - 1900) % 60] + B60[d.month - 1] + B60[d.day] + B60[d.hour] +
            B60[d.minute] + B60[d.second] + B60[rng.randrange(60)] + B60[rng.randrange(60)] +
            f"{pid % 1000000:06d}")


class PostfixMTA:
    DAEMONS = {"smtpd": 24, "cleanup": 8, "smtp": 16, "bounce": 2, "dnsblog": 4}

    def __init__(self, gen, host):
        self.gen, self.host = gen, host
        rng = gen.rng
        self.pools = {d: [host.next_pid() for _ in range(n)] for d, n in self.DAEMONS.items()}
        self.single = {d: host.next_pid() for d in ("qmgr", "postscreen", "anvil", "scache")}
        # Queue files live on few inodes that the kernel hands out again and again.
        self.inodes = rng.sample(range(0x10000, 0xFFFFFF), 48)
        self.busy = {}  # qid -> local time it is removed
        self.released = deque(maxlen=4000)

    def pid(self, daemon):
        if daemon in self.single:
            return self.single[daemon]
        pool = self.pools[daemon]
        i = self.gen.rng.randrange(len(pool))
        if self.gen.rng.random() < 0.01:  # max_use reached: a new process
            pool[i] = self.host.next_pid()
        return pool[i]

    def new_qid(self, t):
        rng, lt = self.gen.rng, self.host.local(t)
        if rng.random() < self.gen.args.reuse and self.released:
            for _ in range(8):
                when, qid = self.released[rng.randrange(min(len(self.released), 400))]
                if when < lt - 600 and self.busy.get(qid, -1) < lt:
                    self.gen.stats["qid_reused_deliberately"] += 1
                    self.busy[qid] = lt + 3600
                    return qid
        usec = split_time(lt)[1]
        for _ in range(20):
            qid = f"{usec:05X}{rng.choice(self.inodes):X}"
            if self.busy.get(qid, -1) < lt:
                break
        if qid in self.busy:
            self.gen.stats["qid_reused_naturally"] += 1
        self.busy[qid] = lt + 3600  # until removed
        return qid

    def release(self, qid, t):
        lt = self.host.local(t)
        self.busy[qid] = lt
        self.released.append((lt, qid))


class Msg:
    __slots__ = ("mid", "sender", "rcpts", "size", "subject", "virus", "origin_ip",
                 "origin_name", "date_hdr", "kind", "helo")

    def __init__(self, **kw):
        self.virus = None
        self.kind = "clean"
        self.helo = None
        for k, v in kw.items():
            setattr(self, k, v)


class Rx:
    """One hop's reception of a message."""
    __slots__ = ("hop", "qid", "t_start", "t_commit", "rejected", "deleted", "close", "size",
                 "local")

    def __init__(self, hop, qid, t_start, t_commit, size, close=None, rejected=False,
                 deleted=False, local=False):
        self.hop, self.qid, self.t_start, self.t_commit = hop, qid, t_start, t_commit
        self.size, self.close, self.rejected, self.deleted = size, close, rejected, deleted
        self.local = local


class Generator:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.seq = 0
        self.nlines = 0
        self.hosts = {k: Host(self, k) for k in HOSTS}
        self.pf = {k: PostfixMTA(self, self.hosts[k]) for k in ("relay1", "gw1")}
        self.isvw_lines = []  # (local time, seq, [lines])
        self.truth = []
        self.gw2_receptions = []  # (local t, sender, rcpts, qid) for decidability
        self.stats = {k: 0 for k in ("messages", "virus", "bounces", "deferred",
                                     "qid_reused_deliberately", "qid_reused_naturally")}
        self.mid_counter = 0
        self.seen_ext = set()
        self._people()

    # ---------------------------------------------------------------- population
    def _people(self):
        rng = self.rng
        names = set()
        while len(names) < 420:
            s, g = rng.choice(SURNAMES), rng.choice(GIVEN)
            names.add(rng.choice([f"{g}.{s}", f"{s}", f"{s}.{g[0]}", f"{g}-{s}"]))
        names = sorted(names)
        self.users = [f"{n}@example.ac.jp" for n in names[:340]]
        self.users += [f"{n}@dept.example.ac.jp" for n in names[340:]]
        self.users += [f"{r}@example.ac.jp" for r in ROLES]
        self.ext_users = []
        for d in EXT_DOMAINS:
            for _ in range(30):
                self.ext_users.append(f"{rng.choice(GIVEN)}{rng.randrange(1, 99)}@{d}")
            self.ext_users += [f"{r}@{d}" for r in ("info", "support", "billing", "noreply")]
        # External MTAs: one well-named MTA per domain plus anonymous senders.
        self.ext_mtas = [(f"mail.{d}", f"198.51.100.{10 + i * 7}") for i, d in
                         enumerate(EXT_DOMAINS)]
        self.mx = {d: (f"mx1.{d}", f"198.51.100.{12 + i * 7}") for i, d in
                   enumerate(EXT_DOMAINS)}
        # Internal PCs.
        self.pcs = []
        used = set()
        for i in range(self.args.pcs):
            dept = rng.random() < 0.15
            if dept:
                while True:
                    ip = f"10.20.{rng.randrange(1, 4)}.{rng.randrange(2, 254)}"
                    if ip not in used:
                        break
                name = f"pc{i}.dept.example.ac.jp"
                relay = "relay3"
            else:
                relay = "relay1" if rng.random() < 0.65 else "relay2"
                if relay == "relay1" and rng.random() < 0.06:
                    ip = f"2001:db8:100::{rng.randrange(0x100, 0xffff):x}"
                else:
                    while True:
                        ip = f"10.1.{rng.randrange(1, 255)}.{rng.randrange(2, 254)}"
                        if ip not in used:
                            break
                name = f"pc{i}.campus.example.ac.jp" if not ip.startswith("2001") else \
                    f"pc{i}-v6.campus.example.ac.jp"
            used.add(ip)
            if rng.random() < 0.08:
                name = "unknown"  # no reverse DNS
            self.pcs.append({"name": name, "ip": ip, "relay": relay,
                             "user": rng.choice(self.users)})
        by_relay = {}
        for pc in self.pcs:
            by_relay.setdefault(pc["relay"], []).append(pc)
        self.pcs_by_relay = by_relay
        infected = rng.sample(self.pcs, min(30, len(self.pcs)))
        self.infected = [(pc, rng.choice(CLAM_VIRUSES), rng.choice(ISVW_VIRUSES))
                         for pc in infected]

    # ---------------------------------------------------------------- message facts
    def new_mid(self, t, sender_domain, style=None):
        rng = self.rng
        self.mid_counter += 1
        style = style if style is not None else rng.random()
        sec, usec = split_time(t)
        d = START + timedelta(seconds=sec)
        if style < 0.35:
            w = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
            tail = "".join(rng.choice(B62) for _ in range(6))
            return f"{w}.{self.mid_counter}.{tail}@{sender_domain}"
        if style < 0.55:
            return (f"{d:%Y%m%d%H%M%S}.{usec:06d}.{rng.randrange(1 << 30):x}"
                    f"@{sender_domain}")
        if style < 0.75:
            body = "".join(rng.choice(B62 + "+_-") for _ in range(36))
            return f"CA+{body}@mail.gmail.com"
        if style < 0.9:
            h = "%032x" % rng.getrandbits(128)
            return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}@{sender_domain}"
        n = rng.randrange(10 ** 6, 10 ** 7)
        return (f"TYCPR01MB{n}{rng.choice('ABCDEFGH')}{rng.randrange(10, 99)}"
                f"@TYCPR01MB{n}.jpnprd01.prod.outlook.com")

    def date_header(self, t):
        sec, _ = split_time(t)
        tz = self.rng.choice([0, 0, 9])
        d = START + timedelta(seconds=sec, hours=tz)
        return (f"{DOW[d.weekday()]}, {d.day} {MON[d.month - 1]} {d.year} "
                f"{d.hour:02d}:{d.minute:02d}:{d.second:02d} +{tz:02d}00")

    def rcpt_count(self):
        r = self.rng.random()
        return 1 if r < 0.8 else 2 if r < 0.92 else self.rng.randrange(3, 6)

    # ---------------------------------------------------------------- receive
    def rx_postfix(self, hop, t, client, msg, idx):
        """Postfix smtpd reception: postscreen (gw1), connect, client=, message-id, qmgr."""
        h, pf, rng = self.hosts[hop], self.pf[hop], self.rng
        cname, cip = client
        port = rng.randrange(32768, 61000)
        smtpd = pf.pid("smtpd")
        internal = cip.startswith("10.") or cip.startswith("2001:db8:100:")
        if hop == "gw1":
            ps = pf.pid("postscreen")
            h.log(t, f"postfix/postscreen[{ps}]", f"CONNECT from [{cip}]:{port} to [{h.ip}]:25")
            if internal:
                h.log(t + 0.0004, f"postfix/postscreen[{ps}]", f"ALLOWLISTED [{cip}]:{port}")
            elif cip in self.seen_ext:
                h.log(t + 0.0004, f"postfix/postscreen[{ps}]", f"PASS OLD [{cip}]:{port}")
            else:
                self.seen_ext.add(cip)
                h.log(t + 6.2, f"postfix/postscreen[{ps}]", f"PASS NEW [{cip}]:{port}")
                t += 6.2
            t += rng.uniform(0.001, 0.01)
        shown = cname if cname else "unknown"
        h.log(t, f"postfix/smtpd[{smtpd}]", f"connect from {shown}[{cip}]")
        if rng.random() < (0.9 if internal else 0.6):
            h.log(t + rng.uniform(0.01, 0.05), f"postfix/smtpd[{smtpd}]",
                  f"Anonymous TLS connection established from {shown}[{cip}]: TLSv1.3 with "
                  f"cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 "
                  f"server-signature RSA-PSS (2048 bits) server-digest SHA256")
        t0 = t
        t += rng.uniform(0.06, 0.3)
        qid = pf.new_qid(t)
        extra = ""
        if hop == "relay1" and idx == 0 and rng.random() < 0.12:
            extra = f", sasl_method=PLAIN, sasl_username={msg.sender.split('@')[0]}"
        h.log(t, f"postfix/smtpd[{smtpd}]", f"{qid}: client={shown}[{cip}]{extra}")
        t += rng.uniform(0.02, 0.25)
        h.log(t, f"postfix/cleanup[{pf.pid('cleanup')}]", f"{qid}: message-id=<{msg.mid}>")
        size = msg.size + 450 * idx + rng.randrange(0, 120)

        def close(tc, _h=h, _smtpd=smtpd, _shown=shown, _cip=cip, rc=len(msg.rcpts)):
            _h.log(tc, f"postfix/smtpd[{_smtpd}]",
                   f"disconnect from {_shown}[{_cip}] ehlo=2 starttls=1 mail=1 rcpt={rc} "
                   f"data=1 quit=1 commands={5 + rc}")

        if msg.virus and hop == "gw1":
            t += rng.uniform(0.1, 0.4)
            # A relay says its own name in HELO; an outside client whatever it likes.
            helo = shown if internal else (msg.helo or shown)
            self.detect_gw1(t, qid, msg, shown, cip, client_helo=helo)
            t += 0.01
            pf.release(qid, t)

            def close_rej(tc, _h=h, _smtpd=smtpd, _shown=shown, _cip=cip):
                _h.log(tc, f"postfix/smtpd[{_smtpd}]",
                       f"disconnect from {_shown}[{_cip}] ehlo=2 starttls=1 mail=1 "
                       f"rcpt={len(msg.rcpts)} data=0/1 quit=1 commands={4 + len(msg.rcpts)}/"
                       f"{5 + len(msg.rcpts)}")
            return Rx(hop, qid, t0, t, size, close=close_rej, rejected=True)
        t += rng.uniform(0.005, 0.03)
        h.log(t, f"postfix/qmgr[{pf.pid('qmgr')}]",
              f"{qid}: from=<{msg.sender}>, size={size}, nrcpt={len(msg.rcpts)} (queue active)")
        return Rx(hop, qid, t0, t, size, close=close)

    def detect_gw1(self, t, qid, msg, shown, cip, client_helo):
        h, pf = self.hosts["gw1"], self.pf["gw1"]
        h.log(t, "clamav-milter[777]",
              f"Message {qid} from <{msg.sender}> to <{msg.rcpts[0]}> with subject "
              f"'{msg.subject}' message-id '<{msg.mid}>' date '{msg.date_hdr}' "
              f"infected by {msg.virus}")
        h.log(t + 0.01, f"postfix/cleanup[{pf.pid('cleanup')}]",
              f"{qid}: milter-reject: END-OF-MESSAGE from {shown}[{cip}]: 5.7.1 Virus "
              f"{msg.virus} detected by gateway; from=<{msg.sender}> to=<{msg.rcpts[0]}> "
              f"proto=ESMTP helo=<{client_helo}>")
        sec, usec = split_time(h.local(t))
        self.truth.append({
            "host": "gw1", "queue_id": qid, "message_id": msg.mid, "origin": msg.origin_ip,
            "virus": msg.virus, "kind": msg.kind, "from": msg.sender, "to": msg.rcpts[0],
            "det_time": f"{_second_strings(sec)[1]}.{usec:06d}+00:00", "decidable": True})

    def rx_sendmail(self, hop, t, client, msg, idx):
        h, rng = self.hosts[hop], self.rng
        cname, cip = client
        pid = h.next_pid()
        if rng.random() < 0.5:
            relay = f"{cname} [{cip}]" if cname else f"[{cip}]"
            h.log(t + rng.uniform(0.02, 0.08), f"sendmail[{pid}]",
                  f"STARTTLS=server, relay={relay}, version=TLSv1.3, verify=NO, "
                  f"cipher=TLS_AES_256_GCM_SHA384, bits=256/256")
        t0 = t
        t += rng.uniform(0.15, 0.6)
        lt = h.local(t)
        qid = sendmail_qid(h, t, pid, rng)
        size = msg.size + 450 * idx + rng.randrange(0, 120)
        if cname:
            relay = f"{cname} [{cip}]"
            if idx == 0 and rng.random() < 0.1:
                relay += " (may be forged)"
        else:
            relay = f"[{cip}]"
        mid = f", msgid=<{msg.mid}>" if msg.mid else ""
        proto = "ESMTPS" if rng.random() < 0.3 else "ESMTP"
        h.log(t, f"sendmail[{pid}]",
              f"{qid}: from=<{msg.sender}>, size={size}, class=0, nrcpts={len(msg.rcpts)}"
              f"{mid}, proto={proto}, daemon=MTA, relay={relay}")
        if hop == "gw2":
            self.gw2_receptions.append((lt, msg.sender, tuple(msg.rcpts), qid))
        if msg.mid is None:
            # sendmail adds a Message-Id header: the next hop logs it.
            msg.mid = f"{qid}@{h.fqdn}"
        rx = Rx(hop, qid, t0, t, size)
        if msg.virus and hop == "gw2":
            rx.deleted = True
            self.detect_isvw(t + rng.uniform(0.3, 2.5), qid, msg)
        return rx

    def detect_isvw(self, t, qid, msg):
        h = self.hosts["gw2"]
        lt = h.local(t)
        sec, _ = split_time(lt)
        d = START + timedelta(seconds=sec)
        date = f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d} {d:%H:%M:%S}"
        virus = msg.virus
        block = [f"Date: {date}", "Method: SMTP", f"From: {msg.sender}",
                 "To: " + ", ".join(f"<{r}>" for r in msg.rcpts),
                 f"File: {self.rng.choice(ISVW_FILES)}", "Action: deleted", f"Virus: {virus}",
                 ""]
        self.isvw_lines.append((lt, self.seq, block))
        self.seq += 1
        self.nlines += len(block)
        self.truth.append({
            "host": "gw2", "queue_id": qid, "message_id": msg.mid, "origin": msg.origin_ip,
            "virus": virus, "kind": msg.kind, "from": msg.sender, "to": msg.rcpts[0],
            "det_time": f"{_second_strings(sec)[1]}+00:00", "decidable": True,
            "gw2_time_local": lt})

    def rx_exim(self, hop, t, client, msg, idx):
        h, rng = self.hosts[hop], self.rng
        cname, cip = client
        pid = h.next_pid()
        t0 = t
        t += rng.uniform(0.15, 0.6)
        lt = h.local(t)
        sec, usec = split_time(lt)
        eid = f"{b62(START_TS + sec, 6)}-{b62(pid, 6)}-{b62(usec // 500, 2)}"
        size = msg.size + 450 * idx + rng.randrange(0, 120)
        r = rng.random()
        if not cname:
            host = f"({msg.helo or 'localhost'}) [{cip}]"
        elif r < 0.1:
            host = f"{cname} ({msg.helo or cname.split('.')[0]}) [{cip}]"
        else:
            host = f"{cname} [{cip}]"
        tls = (" X=TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256 CV=no"
               if rng.random() < 0.4 else "")
        if msg.mid is None:
            msg.mid = f"E1{eid}@{h.fqdn}"
        proto = "esmtpsa" if tls and rng.random() < 0.3 else "esmtps" if tls else "esmtp"
        h.exim(t, pid, f"{eid} <= {msg.sender} H={host} P={proto}{tls} S={size} id={msg.mid}")
        return Rx(hop, eid, t0, t, size)

    def receive(self, hop, t, client, msg, idx):
        mta = self.hosts[hop].mta
        if mta == "postfix":
            return self.rx_postfix(hop, t, client, msg, idx)
        if mta == "sendmail":
            return self.rx_sendmail(hop, t, client, msg, idx)
        return self.rx_exim(hop, t, client, msg, idx)

    # ---------------------------------------------------------------- delivery
    def reply_from(self, peer_hop, qid):
        """The 250 reply text a peer MTA gives (with code)."""
        mta = self.hosts[peer_hop].mta
        if mta == "postfix":
            return f"250 2.0.0 Ok: queued as {qid}"
        if mta == "sendmail":
            return f"250 2.0.0 {qid} Message accepted for delivery"
        return f"250 OK id={qid}"

    def deliver(self, hop, rx, msg, t, groups):
        """groups: list of (rcpts, (relay name, ip), kind, reply) with kind in
        sent|bounced|deferred; reply is the peer's reply text with its code."""
        h, rng = self.hosts[hop], self.rng
        mta = h.mta
        if mta == "postfix":
            pf = self.pf[hop]
            for rcpts, (rname, rip), kind, reply in groups:
                smtp = pf.pid("smtp")
                for r in rcpts:
                    delay = t - rx.t_start
                    a = max(0.0, rx.t_commit - rx.t_start)
                    c = rng.uniform(0.01, 0.2)
                    d = max(0.0, delay - a - c)
                    common = (f"{rx.qid}: to=<{r}>, relay={rname}[{rip}]:25, "
                              f"delay={pf_delay(delay)}, delays={pf_delay(a)}/"
                              f"{pf_delay(rng.uniform(0, 0.02))}/{pf_delay(c)}/{pf_delay(d)}, ")
                    if kind == "sent":
                        h.log(t, f"postfix/smtp[{smtp}]",
                              common + f"dsn=2.0.0, status=sent ({reply})")
                    elif kind == "bounced":
                        h.log(t, f"postfix/smtp[{smtp}]",
                              common + f"dsn=5.7.1, status=bounced (host {rname}[{rip}] said: "
                                       f"{reply} (in reply to end of DATA command))")
                    else:
                        h.log(t, f"postfix/smtp[{smtp}]",
                              f"{rx.qid}: to=<{r}>, relay=none, delay={pf_delay(delay)}, "
                              f"delays={pf_delay(a)}/0.01/30/0, dsn=4.4.1, status=deferred "
                              f"(connect to {rname}[{rip}]:25: Connection timed out)")
                    t += rng.uniform(0.0005, 0.003)
            return t
        if mta == "sendmail":
            for rcpts, (rname, rip), kind, reply in groups:
                pid = h.next_pid()
                delay = t - rx.t_start
                head = (f"{rx.qid}: to={','.join(f'<{r}>' for r in rcpts)}, delay={hms(delay)}, "
                        f"xdelay={hms(t - rx.t_commit)}, mailer=esmtp, "
                        f"pri={rx.size + 30000 * len(rcpts)}, relay={rname}. [{rip}], ")
                if kind == "sent":
                    text = reply.split(" ", 1)[1] if reply[:4] == "250 " else reply
                    if text.startswith("2.0.0 "):
                        text = text[6:]
                    h.log(t, f"sendmail[{pid}]", head + f"dsn=2.0.0, stat=Sent ({text})")
                elif kind == "bounced":
                    h.log(t, f"sendmail[{pid}]", head + "dsn=5.7.1, stat=Service unavailable")
                else:
                    h.log(t, f"sendmail[{pid}]",
                          f"{rx.qid}: to={','.join(f'<{r}>' for r in rcpts)}, "
                          f"delay={hms(delay)}, xdelay=00:00:30, mailer=esmtp, "
                          f"pri={rx.size + 30000 * len(rcpts)}, relay={rname}. [{rip}], "
                          f"dsn=4.0.0, stat=Deferred: Connection timed out with {rname}.")
                t += rng.uniform(0.001, 0.01)
            return t
        # exim
        pid = h.next_pid()
        for rcpts, (rname, rip), kind, reply in groups:
            for i, r in enumerate(rcpts):
                flag = "=>" if i == 0 else "->"
                h.exim(t, pid, f"{rx.qid} {flag} {r} R=smarthost T=remote_smtp "
                               f"H={rname} [{rip}] C=\"{reply}\"")
            t += rng.uniform(0.001, 0.01)
        h.exim(t, pid, f"{rx.qid} Completed")
        return t

    def done(self, hop, rx, t):
        h = self.hosts[hop]
        if h.mta == "postfix":
            pf = self.pf[hop]
            h.log(t, f"postfix/qmgr[{pf.pid('qmgr')}]", f"{rx.qid}: removed")
            pf.release(rx.qid, t)

    def final_groups(self, hop, msg):
        """Where a gateway sends the message: mailhost for internal rcpts, the MX otherwise."""
        rng = self.rng
        internal = [r for r in msg.rcpts if r.endswith("example.ac.jp")]
        external = [r for r in msg.rcpts if not r.endswith("example.ac.jp")]
        groups = []
        if internal:
            q = f"{rng.randrange(1 << 20):05X}{rng.randrange(0x10000, 0xFFFFFF):X}"
            groups.append((internal, MAILHOST, "sent", f"250 2.0.0 Ok: queued as {q}"))
        by_dom = {}
        for r in external:
            by_dom.setdefault(r.split("@", 1)[1], []).append(r)
        for dom, rs in by_dom.items():
            mx = self.mx.get(dom, (f"mx.{dom}", "198.51.100.250"))
            x = rng.random()
            if x < 0.4:
                reply = (f"250 2.0.0 OK  {START_TS + rng.randrange(86400)} "
                         f"{''.join(rng.choice(B62) for _ in range(20))}.123 - gsmtp")
            elif x < 0.75:
                reply = f"250 2.0.0 Ok: queued as 4d{''.join(rng.choice(B62) for _ in range(12))}"
            else:
                reply = f"250 OK id=1v{''.join(rng.choice(B62) for _ in range(4))}-000" \
                        f"{rng.randrange(100, 999)}-{rng.choice(B62)}{rng.choice(B62)}"
            groups.append((rs, mx, "sent", reply))
        return groups

    def route(self, t, msg, path, first_rx=None):
        """Carries msg along path (hop names); the client of the first hop is the origin."""
        rng = self.rng
        self.stats["messages"] += 1
        client = (None if msg.origin_name == "unknown" else msg.origin_name, msg.origin_ip)
        rxs = []
        for i, hop in enumerate(path):
            if i == 0 and first_rx is not None:
                rx = first_rx
            else:
                rx = self.receive(hop, t, client, msg, i)
            rxs.append(rx)
            if rx.rejected or rx.deleted:
                break
            t = rx.t_commit + rng.uniform(0.02, 0.5)
            client = (self.hosts[hop].fqdn, self.hosts[hop].ip)
        last = len(rxs) - 1
        hop = path[last]
        rx = rxs[last]
        if not rx.rejected and not rx.deleted:
            groups = self.final_groups(hop, msg)
            tdel = t + rng.uniform(0.05, 0.6)
            later = []
            if rng.random() < 0.015 and any(g[1] != MAILHOST for g in groups):
                # The first attempt to an external MX times out; the retry succeeds.
                self.stats["deferred"] += 1
                ext = [g for g in groups if g[1] != MAILHOST]
                self.deliver(hop, rx, msg, tdel + 30, [(g[0], g[1], "deferred", "")
                                                       for g in ext])
                later = ext
                groups = [g for g in groups if g[1] == MAILHOST]
            tend = self.deliver(hop, rx, msg, tdel, groups) if groups else tdel
            if later:
                tend = self.deliver(hop, rx, msg, tdel + rng.uniform(300, 900), later)
            self.done(hop, rx, tend + rng.uniform(0.001, 0.01))
        # Deliveries hop by hop, backwards: hop i hands over to hop i+1 once i+1 replied.
        for i in range(last - 1, -1, -1):
            nxt, cur = rxs[i + 1], rxs[i]
            tdel = nxt.t_commit + rng.uniform(0.001, 0.05)
            peer = self.hosts[path[i + 1]]
            if nxt.rejected:
                reply = f"550 5.7.1 Virus {msg.virus} detected by gateway"
                tend = self.deliver(path[i], cur, msg, tdel,
                                    [(msg.rcpts, (peer.fqdn, peer.ip), "bounced", reply)])
                self.bounce(path[i], cur, msg, tend + rng.uniform(0.001, 0.02))
            else:
                reply = self.reply_from(path[i + 1], nxt.qid)
                tend = self.deliver(path[i], cur, msg, tdel,
                                    [(msg.rcpts, (peer.fqdn, peer.ip), "sent", reply)])
                self.done(path[i], cur, tend + rng.uniform(0.001, 0.01))
            if nxt.close:
                nxt.close(tend + rng.uniform(0.001, 0.02))
        if rxs[0].close:
            rxs[0].close(rxs[0].t_commit + rng.uniform(0.01, 0.1))

    def bounce(self, hop, rx, msg, t):
        """A relay's non-delivery notice to the (forged) sender of a rejected message."""
        h, rng = self.hosts[hop], self.rng
        self.stats["bounces"] += 1
        bmsg = Msg(mid=None, sender="", rcpts=[msg.sender], size=rng.randrange(2400, 4200),
                   subject="Undelivered Mail Returned to Sender", origin_ip=h.ip,
                   origin_name=h.fqdn, date_hdr="")
        bmsg.kind = "bounce"
        if h.mta == "postfix":
            pf = self.pf[hop]
            bq = pf.new_qid(t)
            sec, usec = split_time(h.local(t))
            d = START + timedelta(seconds=sec)
            bmsg.mid = f"{d:%Y%m%d%H%M%S}.{bq}@{h.fqdn}"
            h.log(t, f"postfix/cleanup[{pf.pid('cleanup')}]", f"{bq}: message-id=<{bmsg.mid}>")
            h.log(t + 0.001, f"postfix/bounce[{pf.pid('bounce')}]",
                  f"{rx.qid}: sender non-delivery notification: {bq}")
            h.log(t + 0.002, f"postfix/qmgr[{pf.pid('qmgr')}]", f"{rx.qid}: removed")
            pf.release(rx.qid, t + 0.002)
            h.log(t + 0.003, f"postfix/qmgr[{pf.pid('qmgr')}]",
                  f"{bq}: from=<>, size={bmsg.size}, nrcpt=1 (queue active)")
            brx = Rx(hop, bq, t, t + 0.003, bmsg.size, local=True)
        else:  # sendmail: "QID: NEWQID: DSN: ..." and no from= line for the DSN
            pid = h.next_pid()
            bq = sendmail_qid(h, t, pid, rng)
            bmsg.mid = f"{bq}@{h.fqdn}"
            h.log(t, f"sendmail[{pid}]", f"{rx.qid}: {bq}: DSN: Service unavailable")
            brx = Rx(hop, bq, t, t + 0.01, bmsg.size, local=True)
        self.route(t + 0.01, bmsg, [hop, DEFAULT_GW[hop]], first_rx=brx)
        self.stats["messages"] -= 1  # counted as a bounce, not a new message

    # ---------------------------------------------------------------- traffic
    def clean_message(self, t):
        rng = self.rng
        r = rng.random()
        n = self.rcpt_count()
        if r < 0.37:  # from outside, to our users
            mta = rng.choice(self.ext_mtas) if rng.random() < 0.6 else \
                (None, f"203.0.113.{rng.randrange(2, 254)}")
            sender = rng.choice(self.ext_users)
            rcpts = rng.sample(self.users, n)
            msg = Msg(mid=self.new_mid(t, sender.split("@")[1]), sender=sender, rcpts=rcpts,
                      size=rng.randrange(1500, 90000), subject="", origin_ip=mta[1],
                      origin_name=mta[0] or "unknown", date_hdr="")
            msg.helo = mta[0] or "mail.example.com"
            self.route(t, msg, ["gw1" if rng.random() < 0.66 else "gw2"])
            return
        pc = rng.choice(self.pcs)
        relay = pc["relay"]
        sender = pc["user"] if rng.random() < 0.85 else rng.choice(self.users)
        rcpts = []
        while len(rcpts) < n:
            x = rng.choice(self.users) if rng.random() < 0.5 else rng.choice(self.ext_users)
            if x not in rcpts:
                rcpts.append(x)
        mid = self.new_mid(t, sender.split("@")[1])
        if relay == "relay2" and rng.random() < 0.03:
            mid = None  # no Message-ID header: sendmail adds one
        msg = Msg(mid=mid, sender=sender, rcpts=rcpts, size=rng.randrange(800, 120000),
                  subject="", origin_ip=pc["ip"], origin_name=pc["name"], date_hdr="")
        if relay == "relay1":
            path = ["relay1", "gw1" if rng.random() < 0.9 else "gw2"]
        elif relay == "relay2":
            path = ["relay2", "gw2" if rng.random() < 0.85 else "gw1"]
        else:
            path = ["relay3", "relay1", "gw1"] if rng.random() < 0.8 else ["relay3", "gw2"]
        self.route(t, msg, path)

    def virus_message(self, t, pc=None, kind=None, path=None, sender=None, rcpt=None,
                      isvw_name=None):
        rng = self.rng
        self.stats["virus"] += 1
        if path is None:
            r = rng.random()
            if r < 0.25:  # from outside
                mta = rng.choice(self.ext_mtas) if rng.random() < 0.3 else \
                    (None, f"203.0.113.{rng.randrange(2, 254)}")
                gw = "gw1" if rng.random() < 0.7 else "gw2"
                sender = rng.choice(self.ext_users + self.users)
                msg = Msg(mid=self.new_mid(t, sender.split("@")[1]), sender=sender,
                          rcpts=[rng.choice(self.users)], size=rng.randrange(20000, 90000),
                          subject=rng.choice(SUBJECTS), origin_ip=mta[1],
                          origin_name=mta[0] or "unknown", date_hdr=self.date_header(t))
                msg.helo = mta[0] or rng.choice(["User", "localhost", "mail.example.com"])
                msg.kind = f"external-{gw}"
                msg.virus = rng.choice(CLAM_VIRUSES if gw == "gw1" else ISVW_VIRUSES)
                self.route(t, msg, [gw])
                return
            pc, clam, isvw = rng.choice(self.infected)
            relay = pc["relay"]
            if relay == "relay1":
                path = ["relay1", "gw1" if rng.random() < 0.85 else "gw2"]
            elif relay == "relay2":
                path = ["relay2", "gw2" if rng.random() < 0.7 else "gw1"]
            else:
                path = ["relay3", "relay1", "gw1"] if rng.random() < 0.75 else ["relay3", "gw2"]
            isvw_name = isvw
        else:
            clam = next(v for p, v, _ in self.infected if p is pc) if any(
                p is pc for p, _, _ in self.infected) else rng.choice(CLAM_VIRUSES)
        sender = sender or rng.choice(self.ext_users + self.users)  # forged
        rcpts = [rcpt] if rcpt else [rng.choice(self.users + self.ext_users)
                                     for _ in range(1 if rng.random() < 0.85 else 3)]
        rcpts = list(dict.fromkeys(rcpts))
        msg = Msg(mid=self.new_mid(t, sender.split("@")[1]), sender=sender, rcpts=rcpts,
                  size=rng.randrange(20000, 90000), subject=rng.choice(SUBJECTS),
                  origin_ip=pc["ip"], origin_name=pc["name"], date_hdr=self.date_header(t))
        msg.helo = pc["name"] if pc["name"] != "unknown" else "DESKTOP-" + pc["ip"][-3:]
        msg.kind = kind or "-".join(path)
        msg.virus = clam if path[-1] == "gw1" else (isvw_name or rng.choice(ISVW_VIRUSES))
        self.route(t, msg, path)

    # ---------------------------------------------------------------- noise
    def noise_gw1(self, t):
        h, pf, rng = self.hosts["gw1"], self.pf["gw1"], self.rng
        ip = f"{rng.choice(['203.0.113', '198.51.100'])}.{rng.randrange(2, 254)}"
        port = rng.randrange(1024, 65000)
        ps = pf.pid("postscreen")
        rcpt = rng.choice(self.users) if rng.random() < 0.7 else \
            f"{rng.choice(SURNAMES)}{rng.randrange(99)}@example.ac.jp"
        fake = f"{rng.choice(GIVEN)}@{rng.choice(EXT_DOMAINS)}"
        helo = rng.choice(["User", "localhost", "ylmf-pc", "WIN-3K7Q2", f"[{ip}]",
                           "mail.example.com"])
        r = rng.random()
        h.log(t, f"postfix/postscreen[{ps}]", f"CONNECT from [{ip}]:{port} to [{h.ip}]:25")
        if r < 0.35:
            h.log(t + 0.001, f"postfix/dnsblog[{pf.pid('dnsblog')}]",
                  f"addr {ip} listed by domain zen.spamhaus.org as 127.0.0.{rng.choice([2, 3, 4, 11])}")
            h.log(t + 0.15, f"postfix/postscreen[{ps}]",
                  f"PREGREET 11 after 0.15 from [{ip}]:{port}: EHLO {helo}\\r\\n")
            h.log(t + 6.0, f"postfix/postscreen[{ps}]",
                  f"DNSBL rank {rng.randrange(2, 6)} for [{ip}]:{port}")
            h.log(t + 7.1, f"postfix/postscreen[{ps}]",
                  f"NOQUEUE: reject: RCPT from [{ip}]:{port}: 550 5.7.1 Service unavailable; "
                  f"client [{ip}] blocked using zen.spamhaus.org; from=<{fake}>, to=<{rcpt}>, "
                  f"proto=ESMTP, helo=<{helo}>")
            h.log(t + 7.3, f"postfix/postscreen[{ps}]", f"DISCONNECT [{ip}]:{port}")
        elif r < 0.65:
            smtpd = pf.pid("smtpd")
            h.log(t + 6.1, f"postfix/postscreen[{ps}]", f"PASS NEW [{ip}]:{port}")
            h.log(t + 6.2, f"postfix/smtpd[{smtpd}]", f"connect from unknown[{ip}]")
            x = rng.random()
            if x < 0.4:
                reply = (f"450 4.7.1 Client host rejected: cannot find your hostname, [{ip}]")
            elif x < 0.8:
                reply = (f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in "
                         f"relay recipient table")
            else:
                rcpt = f"{rng.choice(GIVEN)}@{rng.choice(EXT_DOMAINS)}"
                reply = f"554 5.7.1 <{rcpt}>: Relay access denied"
            h.log(t + 6.9, f"postfix/smtpd[{smtpd}]",
                  f"NOQUEUE: reject: RCPT from unknown[{ip}]: {reply}; from=<{fake}> "
                  f"to=<{rcpt}> proto=ESMTP helo=<{helo}>")
            h.log(t + 7.2, f"postfix/smtpd[{smtpd}]",
                  f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 rset=1 quit=1 "
                  f"commands=4/5")
        elif r < 0.75:
            h.log(t + 1.2, f"postfix/postscreen[{ps}]",
                  f"HANGUP after 1.2 from [{ip}]:{port} in tests after SMTP handshake")
            h.log(t + 1.2, f"postfix/postscreen[{ps}]", f"DISCONNECT [{ip}]:{port}")
        elif r < 0.9:
            smtpd = pf.pid("smtpd")
            h.log(t + 0.001, f"postfix/postscreen[{ps}]", f"PASS OLD [{ip}]:{port}")
            h.log(t + 0.01, f"postfix/smtpd[{smtpd}]", f"connect from unknown[{ip}]")
            h.log(t + 2.5, f"postfix/smtpd[{smtpd}]",
                  f"warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6")
            h.log(t + 2.6, f"postfix/smtpd[{smtpd}]",
                  f"lost connection after AUTH from unknown[{ip}]")
            h.log(t + 2.6, f"postfix/smtpd[{smtpd}]",
                  f"disconnect from unknown[{ip}] ehlo=1 auth=0/1 commands=1/2")
        else:
            smtpd = pf.pid("smtpd")
            fq = f"host-{ip.replace('.', '-')}.dyn.example.net"
            h.log(t + 0.001, f"postfix/postscreen[{ps}]", f"PASS OLD [{ip}]:{port}")
            h.log(t + 0.01, f"postfix/smtpd[{smtpd}]",
                  f"warning: hostname {fq} does not resolve to address {ip}: "
                  f"Name or service not known")
            h.log(t + 0.02, f"postfix/smtpd[{smtpd}]", f"connect from unknown[{ip}]")
            h.log(t + 0.03, f"postfix/smtpd[{smtpd}]",
                  f"improper command pipelining after CONNECT from unknown[{ip}]: "
                  f"EHLO {helo}\\r\\n")
            h.log(t + 0.3, f"postfix/smtpd[{smtpd}]",
                  f"disconnect from unknown[{ip}] ehlo=1 quit=1 commands=2")

    def noise_relay1(self, t):
        h, pf, rng = self.hosts["relay1"], self.pf["relay1"], self.rng
        pc = rng.choice(self.pcs_by_relay["relay1"])
        name = pc["name"]
        smtpd = pf.pid("smtpd")
        h.log(t, f"postfix/smtpd[{smtpd}]", f"connect from {name}[{pc['ip']}]")
        r = rng.random()
        if r < 0.4:
            h.log(t + 0.2, f"postfix/smtpd[{smtpd}]",
                  f"lost connection after EHLO from {name}[{pc['ip']}]")
            h.log(t + 0.2, f"postfix/smtpd[{smtpd}]",
                  f"disconnect from {name}[{pc['ip']}] ehlo=1 commands=1")
        elif r < 0.7:
            h.log(t + 0.4, f"postfix/smtpd[{smtpd}]",
                  f"warning: {name}[{pc['ip']}]: SASL PLAIN authentication failed: "
                  f"authentication failure")
            h.log(t + 0.5, f"postfix/smtpd[{smtpd}]",
                  f"disconnect from {name}[{pc['ip']}] ehlo=2 starttls=1 auth=0/1 quit=1 "
                  f"commands=4/5")
        else:
            fake = f"{rng.choice(GIVEN)}@nonexistent.invalid"
            h.log(t + 0.3, f"postfix/smtpd[{smtpd}]",
                  f"NOQUEUE: reject: RCPT from {name}[{pc['ip']}]: 450 4.1.8 <{fake}>: Sender "
                  f"address rejected: Domain not found; from=<{fake}> "
                  f"to=<{rng.choice(self.ext_users)}> proto=ESMTP helo=<{name}>")
            h.log(t + 0.4, f"postfix/smtpd[{smtpd}]",
                  f"disconnect from {name}[{pc['ip']}] ehlo=1 mail=1 rcpt=0/1 quit=1 "
                  f"commands=3/4")

    def noise_gw2(self, t):
        h, rng = self.hosts["gw2"], self.rng
        ip = f"{rng.choice(['203.0.113', '198.51.100'])}.{rng.randrange(2, 254)}"
        pid = h.next_pid()
        qid = sendmail_qid(h, t, pid, rng)
        r = rng.random()
        fake = f"{rng.choice(GIVEN)}@{rng.choice(EXT_DOMAINS)}"
        if r < 0.4:
            rc = f"{rng.choice(GIVEN)}@{rng.choice(EXT_DOMAINS)}"
            h.log(t + 0.5, f"sendmail[{pid}]",
                  f"{qid}: ruleset=check_rcpt, arg1=<{rc}>, relay=unknown [{ip}], "
                  f"reject=550 5.7.1 <{rc}>... Relaying denied. IP name lookup failed [{ip}]")
            h.log(t + 0.9, f"sendmail[{pid}]",
                  f"{qid}: from=<{fake}>, size=0, class=0, nrcpts=0, proto=ESMTP, "
                  f"daemon=MTA, relay=unknown [{ip}]")
        elif r < 0.65:
            h.log(t + 3.0, f"sendmail[{pid}]",
                  f"{qid}: [{ip}] did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA")
        elif r < 0.85:
            u = f"{rng.choice(SURNAMES)}{rng.randrange(99)}@example.ac.jp"
            h.log(t + 0.4, f"sendmail[{pid}]", f"{qid}: <{u}>... User unknown")
            h.log(t + 0.6, f"sendmail[{pid}]",
                  f"{qid}: lost input channel from [{ip}] to MTA after rcpt")
            h.log(t + 0.6, f"sendmail[{pid}]",
                  f"{qid}: from=<{fake}>, size=0, class=0, nrcpts=0, proto=ESMTP, "
                  f"daemon=MTA, relay=[{ip}]")
        else:
            h.log(t + 0.2, f"sendmail[{pid}]",
                  f"NOQUEUE: ruleset=check_relay, arg1=[{ip}], arg2=127.0.0.2, relay=[{ip}], "
                  f"reject=554 5.7.1 Rejected {ip} found in zen.spamhaus.org")

    def noise_relay2(self, t):
        h, rng = self.hosts["relay2"], self.rng
        pc = rng.choice(self.pcs_by_relay["relay2"])
        pid = h.next_pid()
        name = pc["name"] if pc["name"] != "unknown" else ""
        relay = f"{name} [{pc['ip']}]" if name else f"[{pc['ip']}]"
        if rng.random() < 0.5:
            h.log(t, f"sendmail[{pid}]",
                  f"STARTTLS=server, relay={relay}, version=TLSv1.3, verify=NO, "
                  f"cipher=TLS_AES_256_GCM_SHA384, bits=256/256")
            h.log(t + 0.3, f"sendmail[{pid}]",
                  f"AUTH=server, relay={relay}, authid={pc['user'].split('@')[0]}, "
                  f"mech=PLAIN, bits=0")
        else:
            qid = sendmail_qid(h, t, pid, rng)
            h.log(t, f"sendmail[{pid}]",
                  f"{qid}: {relay} did not issue MAIL/EXPN/VRFY/ETRN during connection to MTA")

    def noise_relay3(self, t):
        h, rng = self.hosts["relay3"], self.rng
        pc = rng.choice(self.pcs_by_relay["relay3"])
        pid = h.next_pid()
        r = rng.random()
        host = f"{pc['name']} [{pc['ip']}]" if pc["name"] != "unknown" else f"[{pc['ip']}]"
        if r < 0.5:
            rc = f"{rng.choice(GIVEN)}@{rng.choice(EXT_DOMAINS)}"
            h.exim(t, pid, f"H={host} F=<{rng.choice(GIVEN)}@nonexistent.invalid> rejected "
                           f"RCPT <{rc}>: Sender verify failed")
        elif r < 0.8:
            h.exim(t, pid, f"SMTP connection from {host} lost D=0s")
        else:
            h.exim(t, pid, f"TLS error on connection from {host} (SSL_accept): "
                           f"error:0A000126:SSL routines::unexpected eof while reading")

    def periodic(self, t):
        """Every 10 minutes: anvil and scache statistics (postfix hosts), exim queue runs."""
        sec, _ = split_time(t)
        at = _second_strings(sec)[0]
        rng = self.rng
        for hop in ("relay1", "gw1"):
            h, pf = self.hosts[hop], self.pf[hop]
            ip = f"203.0.113.{rng.randrange(2, 254)}" if hop == "gw1" else \
                rng.choice(self.pcs_by_relay["relay1"])["ip"]
            a = f"postfix/anvil[{pf.pid('anvil')}]"
            h.log(t, a, f"statistics: max connection rate {rng.randrange(2, 12)}/60s for "
                        f"(smtp:{ip}) at {at}")
            h.log(t, a, f"statistics: max connection count {rng.randrange(1, 4)} for "
                        f"(smtp:{ip}) at {at}")
            h.log(t, a, f"statistics: max cache size {rng.randrange(3, 40)} at {at}")
            s = f"postfix/scache[{pf.pid('scache')}]"
            h.log(t + 0.5, s, f"statistics: start interval {at}")
            h.log(t + 0.5, s, f"statistics: domain lookup hits={rng.randrange(50)} "
                              f"miss={rng.randrange(1, 20)} success={rng.randrange(0, 90)}%")
            h.log(t + 0.5, s, f"statistics: address lookup hits={rng.randrange(50)} "
                              f"miss={rng.randrange(1, 20)} success={rng.randrange(0, 90)}%")
            h.log(t + 0.5, s, f"statistics: max simultaneous domains=1 addresses=1 "
                              f"connection={rng.randrange(1, 4)}")
        h = self.hosts["relay3"]
        pid = h.next_pid()
        h.exim(t + 1, pid, f"Start queue run: pid={pid}")
        h.exim(t + 1.2, pid, f"End queue run: pid={pid}")

    # ---------------------------------------------------------------- bursts
    def burst_exact(self, t):
        """One infected PC on relay1 sends 15 virus mails in 3 minutes (exact chain)."""
        pc, clam, _ = next(x for x in self.infected if x[0]["relay"] == "relay1")
        for i in range(15):
            self.virus_message(t + i * 12 + self.rng.uniform(0, 6), pc=pc, kind="burst-exact",
                               path=["relay1", "gw1"], sender="support@example.com",
                               rcpt="office@example.ac.jp")

    def burst_same_envelope(self, t):
        """Two infected PCs on relay2 send identical envelopes to gw2 (ISVW): undecidable."""
        pcs = [x for x in self.infected if x[0]["relay"] == "relay2"][:2]
        if len(pcs) < 2:
            pcs = [(p, None, None) for p in self.pcs_by_relay["relay2"][:2]]
        for i in range(16):
            pc = pcs[i % 2][0]
            self.virus_message(t + i * 1.1 + self.rng.uniform(0, 0.5), pc=pc,
                               kind="burst-same-envelope", path=["relay2", "gw2"],
                               sender="support@example.com", rcpt="office@example.ac.jp",
                               isvw_name="WORM_NETSKY.P")

    # ---------------------------------------------------------------- main loop
    def run(self):
        a, rng = self.args, self.rng
        rates = {  # events per second
            "msg": a.rate, "virus": a.rate * a.virus_share, "gw1": a.rate * 0.9,
            "gw2": a.rate * 0.3, "relay1": a.rate * 0.05, "relay2": a.rate * 0.04,
            "relay3": a.rate * 0.02,
        }
        import heapq
        heap = [(rng.expovariate(r), k) for k, r in rates.items()]
        heap.append((5.0, "periodic"))
        heapq.heapify(heap)
        handlers = {"msg": self.clean_message, "virus": self.virus_message,
                    "gw1": self.noise_gw1, "gw2": self.noise_gw2, "relay1": self.noise_relay1,
                    "relay2": self.noise_relay2, "relay3": self.noise_relay3,
                    "periodic": self.periodic}
        bursts = [(0.35, self.burst_exact), (0.7, self.burst_same_envelope)]
        target = a.lines
        t = 0.0
        while self.nlines < target:
            t, k = heapq.heappop(heap)
            handlers[k](t)
            if bursts and self.nlines >= bursts[0][0] * target:
                bursts.pop(0)[1](t)
            heapq.heappush(heap, (t + (600.0 if k == "periodic" else
                                       rng.expovariate(rates[k])), k))
        self.span = t

    # ---------------------------------------------------------------- output
    def write(self, out):
        os.makedirs(out, exist_ok=True)
        counts = {}
        for key, h in self.hosts.items():
            h.lines.sort(key=lambda x: (x[0], x[1]))
            with open(os.path.join(out, f"{key}.log"), "w") as f:
                f.write("\n".join(x[2] for x in h.lines))
                f.write("\n")
            counts[f"{key}.log"] = len(h.lines)
        self.isvw_lines.sort(key=lambda x: (x[0], x[1]))
        with open(os.path.join(out, "isvw.log"), "w") as f:
            n = 0
            for _, _, block in self.isvw_lines:
                f.write("\n".join(block) + "\n")
                n += len(block)
            counts["isvw.log"] = n
        # Decidability of ISVW detections: another gw2 message with the same envelope within
        # 10 s either side makes an envelope-and-time match ambiguous.
        recs = sorted(self.gw2_receptions)
        times = [r[0] for r in recs]
        import bisect
        for tr in self.truth:
            if tr["host"] != "gw2":
                continue
            lt = tr.pop("gw2_time_local")
            lo, hi = bisect.bisect_left(times, lt - 10), bisect.bisect_right(times, lt + 10)
            same = [r for r in recs[lo:hi] if r[1] == tr["from"] and tr["to"] in r[2] and
                    r[3] != tr["queue_id"]]
            tr["decidable"] = not same
        self.truth.sort(key=lambda x: x["det_time"])
        with open(os.path.join(out, "truth.jsonl"), "w") as f:
            for tr in self.truth:
                f.write(json.dumps(tr, sort_keys=True) + "\n")
        with open(os.path.join(out, "vtrace.yaml"), "w") as f:
            f.write("# Generated by bench/generate_logs.py: the benchmark site.\nsources:\n")
            for key in ("gw1", "gw2", "relay1", "relay2", "relay3"):
                name, fqdn, ip, _, _, _ = HOSTS[key]
                role = "gateway" if key.startswith("gw") else "relay"
                f.write(f"  - name: {key}\n    hostnames: [{name}, {fqdn}]\n"
                        f"    addresses: [{ip}]\n    role: {role}\n")
            f.write("networks:\n  internal:\n    - name: campus\n"
                    "      cidrs: [10.0.0.0/8, 2001:db8:100::/48]\n"
                    "correlation:\n  clock_skew: 5s\n  window: 30m\n")
        manifest = {
            "seed": self.args.seed, "target_lines": self.args.lines, "pcs": self.args.pcs,
            "lines": sum(counts.values()), "files": counts,
            "span_seconds": round(self.span, 1), "start": START.isoformat(),
            "truth": len(self.truth),
            "truth_decidable": sum(1 for t in self.truth if t["decidable"]),
            **self.stats,
            "replay_arguments": ["relay1.log", "relay2.log", "relay3.log", "gw1.log",
                                 "gw2.log", "gw2=isvw.log"],
        }
        with open(os.path.join(out, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        return manifest


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lines", type=int, default=500000, help="approximate total lines")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "data"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--pcs", type=int, default=2000, help="internal PCs")
    p.add_argument("--rate", type=float, default=1.5, help="clean messages per second")
    p.add_argument("--virus-share", type=float, default=0.01,
                   help="virus mails per clean message")
    p.add_argument("--reuse", type=float, default=0.002,
                   help="chance that postfix reuses a queue id removed > 10 min earlier")
    args = p.parse_args()
    gen = Generator(args)
    gen.run()
    m = gen.write(args.out)
    print(f"wrote {m['lines']} lines over {m['span_seconds'] / 3600:.2f} h to {args.out}: "
          f"{m['messages']} messages, {m['virus']} virus mails ({m['truth']} detections, "
          f"{m['truth_decidable']} decidable), {m['bounces']} bounces", file=sys.stderr)


if __name__ == "__main__":
    main()
