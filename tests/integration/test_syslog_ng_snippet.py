#!/usr/bin/env python3
"""The shipped syslog-ng snippet (packaging/syslog-ng/vtrace.conf): disabled as shipped (every
line a comment), accepted by `syslog-ng --syntax-only` inside Debian's own syslog-ng.conf (which
includes /etc/syslog-ng/conf.d/*.conf) both as shipped and enabled with its core and every feed
as its header says (sed 's/^#@<feed> //'); it feeds the correlator with --input syslog-ng and the
rsyslog snippet's field names; a typo in it is rejected.
"""
import os
import re
import shutil
import tempfile

import syslog_ng_harness as sng
from harness import check

FEEDS = ("mail", "tcp", "syslog", "isvw")
FIELDS = ("timereported=${ISODATE}", "hostname=${HOST}", "fromhost-ip=${SOURCEIP}",
          "app-name=${PROGRAM}", "procid=${PID}", "msg=${MSG}", "inputname=${.vtrace.input}")


def body(syslog_ng):
    with open(sng.SNIPPET, encoding="utf-8") as f:
        shipped = f.read()
    check(all(line.startswith("#") for line in shipped.splitlines() if line.strip()),
          "as shipped every line is a comment")
    for feed in FEEDS:
        check(re.search(rf"^#@{feed} ", shipped, re.M) is not None, f"the snippet has feed {feed}")
    enabled = re.sub(r"^#@[a-z]* ", "", shipped, flags=re.M)
    check("--input syslog-ng" in enabled, "the correlator is told its input is syslog-ng")
    check(all(field in enabled for field in FIELDS),
          "the JSON has the rsyslog snippet's fields, from syslog-ng's macros")
    check("reliable(yes)" in enabled and "flags(flow-control)" in enabled
          and "keep-alive(yes)" in enabled,
          "a reliable disk buffer, flow control on the network feeds, the program kept alive")

    work = tempfile.mkdtemp(prefix="vtrace-sng-snippet-")
    try:
        conf_d = os.path.join(work, "conf.d")
        os.makedirs(conf_d)
        # Debian's syslog-ng.conf, reading its SCL and conf.d from where this copy has them.
        with open(syslog_ng.scl_conf, encoding="utf-8") as f:
            scl = f.read().replace("@include 'scl/*/*.conf'",
                                   f"@include '{syslog_ng.include_path}/scl/*/*.conf'")
        with open(os.path.join(work, "scl.conf"), "w", encoding="utf-8") as f:
            f.write(scl)
        with open(syslog_ng.debian_conf, encoding="utf-8") as f:
            debian = f.read()
        check('@include "/etc/syslog-ng/conf.d/*.conf"' in debian,
              "Debian's syslog-ng.conf includes /etc/syslog-ng/conf.d/*.conf")
        debian = debian.replace(
            '@include "scl.conf"',
            f'@define scl-root "{syslog_ng.include_path}/scl"\n'
            f'@include "{work}/scl.conf"').replace(
            '@include "/etc/syslog-ng/conf.d/*.conf"', f'@include "{conf_d}/*.conf"')
        conf = os.path.join(work, "syslog-ng.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(debian)
        snippet = os.path.join(conf_d, "vtrace.conf")

        for label, text in (("as shipped", shipped), ("enabled, every feed", enabled)):
            with open(snippet, "w", encoding="utf-8") as f:
                f.write(text)
            r = syslog_ng.syntax_check(conf)
            check(r.returncode == 0,
                  f"syslog-ng --syntax-only accepts Debian's syslog-ng.conf with the snippet "
                  f"{label}{'' if r.returncode == 0 else ': ' + r.stderr[-800:]}")
        with open(snippet, "w", encoding="utf-8") as f:
            f.write(enabled.replace("disk-buffer(reliable(yes)", "disk-buffer(relyable(yes)"))
        r = syslog_ng.syntax_check(conf)
        check(r.returncode != 0 and "vtrace.conf" in r.stderr,
              "a typo in the snippet is rejected, naming the snippet")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sng.run("syslog_ng_snippet_is_disabled_as_shipped_and_valid_when_enabled", body,
            needs_lab=False)
