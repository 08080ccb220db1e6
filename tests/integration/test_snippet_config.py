#!/usr/bin/env python3
"""(f) The shipped rsyslog snippet, packaging/rsyslog/60-vtrace.conf.

- As shipped it is disabled: every non-blank line is a comment, and rsyslogd -N1 accepts the
  Debian rsyslog.conf with the file dropped into its include directory.
- Uncommented the way its header says (the core and every feed: mail, tcp, relp, isvw),
  rsyslogd -N1 accepts it, both inside Debian's rsyslog.conf and on its own.
- The uncommented text holds the omprog contract (confirmMessages; one worker on a pure disk
  queue and no forceSingleInstance, which segfaults rsyslogd 8.2302 when the program exits at
  start; one message per dequeue; a full queue drops instead of blocking rsyslog; endless
  retries every 10 s; mmutf8fix before omprog; no useTransactions).
- A typo in it is rejected by -N1, so the checks above are not vacuous.
The other integration tests run rsyslogd live on the same text (core + tcp feed).
"""
import os
import re
import shutil
import subprocess
import tempfile

import harness
from harness import check

FEEDS = ("mail", "tcp", "relp", "isvw")
MODULE_DIRS = ("/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/aarch64-linux-gnu/rsyslog",
               "/usr/lib/rsyslog", "/usr/lib64/rsyslog")


def n1(rsyslogd, conf):
    r = subprocess.run([rsyslogd, "-N1", "-f", conf], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def body(_):
    rsyslogd = harness.find_rsyslogd()
    with open(harness.SNIPPET, encoding="utf-8") as f:
        shipped = f.read()
    tmp = tempfile.mkdtemp(prefix="vtrace-it-snippet-")
    try:
        active = [line for line in shipped.splitlines() if line.strip() and
                  not line.lstrip().startswith("#")]
        check(not active, f"as shipped, every non-blank line is a comment ({active[:3]})")
        for feed in FEEDS:
            check(f"\n#@{feed} " in shipped, f"feed '{feed}' is in the snippet")
        check("sed -i 's/^#@ //' /etc/rsyslog.d/60-vtrace.conf" in shipped,
              "the header documents how to enable the core")

        feeds = list(FEEDS)
        if not any(os.path.exists(os.path.join(d, "imrelp.so")) for d in MODULE_DIRS):
            feeds.remove("relp")
            print("  NOTE: imrelp is not installed (package rsyslog-relp): the relp feed is "
                  "not validated")
        # Uncomment exactly as the header tells an administrator: sed on the file.
        enabled = os.path.join(tmp, "enabled.conf")
        shutil.copy(harness.SNIPPET, enabled)
        subprocess.run(["sed", "-i", "-e", "s/^#@ //"] +
                       [a for feed in feeds for a in ("-e", f"s/^#@{feed} //")] + [enabled],
                       check=True)
        with open(enabled, encoding="utf-8") as f:
            text = f.read()
        check(_active(text) == _active(harness.render_snippet(feeds, text=shipped)),
              "the harness's rendering (used by the live tests) equals the documented sed")

        # Contract of the action.
        ruleset = text[text.index('ruleset(name="vtrace")'):]
        ruleset = ruleset[:ruleset.index("\n}\n")]
        for needle in ('type="omprog"',
                       'binary="/usr/bin/vtrace-correlator --config /etc/vtrace/vtrace.yaml"',
                       'template="vtrace_json"', 'confirmMessages="on"',
                       'queue.type="Disk"', 'queue.workerThreads="1"',
                       'queue.filename="', 'queue.dequeueBatchSize="1"',
                       'queue.timeoutEnqueue="0"', 'queue.maxDiskSpace="',
                       'action.resumeRetryCount="-1"', 'action.resumeInterval="10"',
                       'confirmTimeout="', 'killUnresponsive="on"', 'signalOnClose="on"',
                       'closeTimeout="', 'hup.signal="HUP"',
                       'output="/var/log/vtrace/correlator.log"', 'reportFailures="on"'):
            check(needle in ruleset, f"the omprog action has {needle}")
        check("useTransactions" not in text, "useTransactions is not used")
        check("forceSingleInstance" not in ruleset,
              "forceSingleInstance is not used (rsyslogd 8.2302 segfaults with it when the "
              "program exits at start)")
        check(ruleset.index('type="mmutf8fix"') < ruleset.index('type="omprog"'),
              "mmutf8fix runs before omprog")
        template = text[text.index('template(name="vtrace_json"'):]
        template = template[:template.index("\n}\n")]
        check('option.jsonf="on"' in template, 'the template uses option.jsonf="on"')
        outnames = re.findall(r'outname="([^"]+)"', template)
        check(outnames == ["timereported", "hostname", "fromhost-ip", "app-name", "procid",
                           "msg", "inputname", "filename", "fileoffset"],
              f"the template writes the contract's six properties, inputname, and imfile's "
              f"filename and fileoffset ({outnames})")
        check("main_queue(" not in _active(text), "main_queue is not forced (only documented)")
        check(re.search(r"^#.*main_queue\(queue.workerThreads=\"1\"\)", shipped, re.M)
              is not None, "main_queue(queue.workerThreads=\"1\") is documented")

        # Inside Debian's rsyslog.conf (the file dropped into rsyslog.d).
        work = os.path.join(tmp, "work")
        os.makedirs(work)
        dropin = os.path.join(tmp, "rsyslog.d")
        os.makedirs(dropin)
        if os.path.exists("/etc/rsyslog.conf"):
            with open("/etc/rsyslog.conf", encoding="utf-8") as f:
                main = f.read()
            check("/etc/rsyslog.d/*.conf" in main, "/etc/rsyslog.conf includes rsyslog.d/*.conf")
            main = main.replace("/etc/rsyslog.d/*.conf", os.path.join(dropin, "*.conf"))
            main = re.sub(r"^\$WorkDirectory .*$", f"$WorkDirectory {work}", main, flags=re.M)
            label = "a copy of /etc/rsyslog.conf"
        else:
            main = (f'global(workDirectory="{work}")\n'
                    f'include(file="{os.path.join(dropin, "*.conf")}")\n'
                    'action(type="omfile" file="/dev/null")\n')
            label = "a minimal main configuration (no /etc/rsyslog.conf here)"
        main_conf = os.path.join(tmp, "rsyslog.conf")
        with open(main_conf, "w", encoding="utf-8") as f:
            f.write(main)
        target = os.path.join(dropin, "60-vtrace.conf")

        shutil.copy(harness.SNIPPET, target)
        rc, out = n1(rsyslogd, main_conf)
        check(rc == 0, f"rsyslogd -N1 accepts {label} with the snippet as shipped"
              + ("" if rc == 0 else f"\n{out}"))
        shutil.copy(enabled, target)
        rc, out = n1(rsyslogd, main_conf)
        check(rc == 0, f"rsyslogd -N1 accepts {label} with the snippet enabled "
                       f"(core + {', '.join(feeds)})" + ("" if rc == 0 else f"\n{out}"))

        # On its own, with only a work directory.
        alone = os.path.join(tmp, "alone.conf")
        with open(alone, "w", encoding="utf-8") as f:
            f.write(f'global(workDirectory="{work}")\n' + text)
        rc, out = n1(rsyslogd, alone)
        check(rc == 0, "rsyslogd -N1 accepts the enabled snippet on its own"
              + ("" if rc == 0 else f"\n{out}"))

        # Not vacuous: a typo is caught.
        with open(target, "w", encoding="utf-8") as f:
            f.write(text.replace('confirmMessages="on"', 'confirmMesages="on"'))
        rc, out = n1(rsyslogd, main_conf)
        check(rc != 0 and "confirmMesages" in out, "rsyslogd -N1 rejects a typo in the snippet")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _active(text):
    return "\n".join(line for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#"))


if __name__ == "__main__":
    harness.run("shipped_snippet_validates", body, needs_correlator=False)
