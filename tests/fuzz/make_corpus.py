#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<target>/ from the repository's real-format
fixtures, its configuration files and the regression lines (see corpus/README.md for the
origin of every file). Deterministic: running it again gives the same files.

    tests/fuzz/make_corpus.py [--incidents FILE.jsonl]...

--incidents: incident JSON lines (vtrace-correlator --replay of tests/fixtures/scenario, see
corpus/README.md) for the incident_json corpus; without it that corpus is left as it is.
"""
import argparse
import datetime
import hashlib
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures"
OUT = ROOT / "tests" / "fuzz" / "corpus"
DICT = ROOT / "tests" / "fuzz" / "dict"
SCENARIO_LOGS = ["gw1.log", "gw2.log", "relay1.log", "relay2.log", "relay3.log", "intruder.log"]
# The gw/relay loop: four verbatim lines of a postfix gateway and relay that crashed the
# correlator (a gw <-> relay loop whose other lines are missing).
ISSUE22 = """\
Nov 28 06:00:53 gw postfix/qmgr[30915]: 0A56EA720DF: from=<support@bank.example>, size=563, nrcpt=1 (queue active)
Nov 28 06:00:53 relay postfix/smtpd[31056]: 0B615A720F0: client=gw.campus.example[10.201.2.1]
Nov 28 06:00:53 relay postfix/qmgr[30999]: 0B615A720F0: from=<support@bank.example>, size=808, nrcpt=1 (queue active)
Nov 28 06:00:55 gw postfix/cleanup[31062]: 0D477A72239: milter-reject: END-OF-MESSAGE from relay.campus.example[10.201.1.2]: 5.7.1 Virus Lab.Worm.BankFake-A.UNOFFICIAL detected by gw.campus.example; from=<support@bank.example> to=<accounts@partner.example> proto=ESMTP helo=<relay.campus.example>
"""
SOURCES = {"gw1": "192.0.2.25", "gw2": "192.0.2.26", "relay1": "10.1.0.25",
           "relay2": "10.1.0.26", "relay3": "10.20.0.5", "gw": "10.201.2.1",
           "relay": "10.201.1.2"}
MONTHS = {m: i + 1 for i, m in enumerate(
    "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}


def lines_of(path):
    return [l for l in path.read_text(errors="surrogateescape").splitlines() if l.strip()]


def cpp_string_literals(path, start_marker, end_marker):
    """The string values of a C++ initializer list between two markers: adjacent literals
    joined, comment lines skipped (the seeds of tests/module/parsers/parser_fuzz_test.cpp)."""
    text = path.read_text()
    body = text[text.index(start_marker):]
    body = body[:body.index(end_marker)]
    body = "\n".join(l for l in body.splitlines() if not l.strip().startswith("//"))
    values, current = [], None
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"|(,)', body):
        if m.group(2):
            if current is not None:
                values.append(current)
            current = None
        else:
            current = (current or "") + bytes(m.group(1), "utf-8").decode("unicode_escape")
    if current is not None:
        values.append(current)
    return values


def raw_strings(path):
    """Every R\"(...)\" literal of a C++ file (the YAML documents of the loader tests)."""
    return re.findall(r'R"\((.*?)\)"', path.read_text(), re.S)


def every_nth(items, count):
    if len(items) <= count:
        return list(items)
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


def write(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    (d / name).write_bytes(data)


def reset(target):
    """Removes what this script wrote before; keeps the regression-* inputs (crashes found by
    fuzzing and fixed, added by hand)."""
    for path in (OUT / target).glob("*"):
        if not path.name.startswith("regression-"):
            path.unlink()


def scenario_time(line):
    """Seconds of a scenario line's envelope time (RFC 3339 or BSD of 2026), or None."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)", line)
    if m:
        y, mo, d, h, mi, s = map(int, m.groups())
        return datetime.datetime(y, mo, d, h, mi, s).timestamp()
    m = re.match(r"([A-Z][a-z]{2}) +(\d+) (\d\d):(\d\d):(\d\d) ", line)
    if m:
        return datetime.datetime(2026, MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)),
                                 int(m.group(4)), int(m.group(5))).timestamp()
    return None


def scenario_windows(count, seconds):
    """Groups of scenario lines of every host within `seconds` after a detection, in time
    order: whole traces across relays and gateways."""
    timed = []
    for name in SCENARIO_LOGS:
        for line in lines_of(FIX / "scenario" / name):
            t = scenario_time(line)
            if t is not None:
                timed.append((t, line))
    timed.sort(key=lambda x: x[0])
    detections = [t for t, l in timed if re.search(r"infected|[Vv]irus|INFECTED|FOUND", l)]
    windows = []
    for t0 in every_nth(detections, count):
        windows.append([l for t, l in timed if t0 - seconds <= t <= t0 + 1])
    return windows


def isvw_records(count):
    lines = lines_of(FIX / "scenario" / "isvw.log")
    records, current = [], []
    for line in lines:
        if line.startswith("Date:") and current:
            records.append(current)
            current = []
        current.append(line)
    if current:
        records.append(current)
    return every_nth(records, count)


def syslog_seeds():
    seeds = cpp_string_literals(ROOT / "tests/module/parsers/parser_fuzz_test.cpp",
                                "curated_seeds() {", "return seeds;")
    mainlog = cpp_string_literals(ROOT / "tests/module/parsers/parser_fuzz_test.cpp",
                                  "exim_mainlog_seeds() {", "return seeds;")
    return seeds, mainlog


def to_rsyslog_json(line):
    """A syslog line as rsyslog's JSON template (packaging/rsyslog/60-vtrace.conf) gives it."""
    m = re.match(r"(\S+) (\S+) ([^\[:]+)(?:\[(\d+)\])?:(.*)$", line)
    if m and re.match(r"\d{4}-", m.group(1)):
        when, host, app, pid, msg = m.groups()
    else:
        m = re.match(r"([A-Z][a-z]{2} +\d+ \d\d:\d\d:\d\d) (\S+) ([^\[:]+)(?:\[(\d+)\])?:(.*)$", line)
        if not m:
            return None
        stamp, host, app, pid, msg = m.groups()
        when = datetime.datetime.strptime("2026 " + stamp, "%Y %b %d %H:%M:%S").strftime(
            "%Y-%m-%dT%H:%M:%S.000000+00:00")
    record = {"timereported": when, "hostname": host,
              "fromhost-ip": SOURCES.get(host.split(".")[0], "198.51.100.7"),
              "app-name": app, "procid": pid or "-", "msg": msg}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


ASA_LAYOUTS = [
    "Mar 16 2015 20:57:10 V901-V101 : %ASA-4-106023: Deny tcp src outside:10.251.52.73/61688 "
    "dst inside:10.4.0.200/25 by access-group \"ACL_V901:DMZ_V101:DATACENTER\" [0x0, 0x0]",
    "<164>Dec 07 2026 10:00:03: %ASA-4-106023: Deny tcp src inside:10.1.2.3/61688 dst "
    "outside:198.51.100.7/25 by access-group \"inside_in\" [0x0, 0x0]",
    "Dec  7 10:00:03 fw2 : %ASA-6-302013: Built outbound TCP connection 1234 for "
    "outside:198.51.100.7/25 (198.51.100.7/25) to inside:10.1.2.3/50312 (203.0.113.9/50312)",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--incidents", action="append", default=[])
    args = ap.parse_args()
    curated, mainlog = syslog_seeds()
    fixture_lines = (lines_of(FIX / "logs/log-ship-elastic-postfix/mail.log") +
                     lines_of(FIX / "logs/fluent-plugin-sendmail/data"))
    scenario_lines = []
    for name in SCENARIO_LOGS:
        scenario_lines += every_nth(lines_of(FIX / "scenario" / name), 4)
    issue22 = ISSUE22.splitlines()

    # syslog_envelope: one line per file, then a few files of consecutive lines (the caches).
    reset("syslog_envelope")
    singles = every_nth(curated + mainlog + fixture_lines, 36) + every_nth(scenario_lines, 18)
    for i, line in enumerate(singles):
        write("syslog_envelope", f"line-{i:03d}", line + "\n")
    for i, name in enumerate(["gw1.log", "gw2.log", "relay3.log"]):
        write("syslog_envelope", f"run-{i}", "\n".join(lines_of(FIX / "scenario" / name)[:12]) + "\n")
    # Firewall layouts: the ASA's own timestamp and device-id, public netfilter and ASA lines.
    write("syslog_envelope", "firewall-layouts", "\n".join(ASA_LAYOUTS + lines_of(
        FIX / "firewall-public" / "logstash-patterns-core.log")) + "\n")

    # parsers: every curated line, the grok-pattern bodies (bare messages), ISVW records and
    # lines of the site formats declared by the target.
    reset("parsers")
    for i, line in enumerate(every_nth(curated + mainlog + fixture_lines, 36) + issue22):
        write("parsers", f"line-{i:03d}", line + "\n")
    grok = every_nth(sorted((FIX / "logs/postfix-grok-patterns/test").glob("*.yaml")), 12)
    for path in grok:
        m = re.search(r'^data: "(.*)"$', path.read_text(), re.M)
        if m:
            write("parsers", "grok-" + path.stem, m.group(1).replace('\\"', '"') + "\n")
    for i, record in enumerate(isvw_records(3)):
        write("parsers", f"isvw-{i}", "\n".join(record) + "\n")
    write("parsers", "custom-0",
          "Nov 28 05:00:09 gw2 myavd[42]: virus Worm.Mydoom.M found in 6AS508oo001529\n")
    write("parsers", "custom-1",
          "Nov 28 05:00:08 gw2 mygw[7]: 9F3A2B: accepted from pc1.example [10.1.2.3] "
          "msgid=<a.1@example.net> from=<x@example.net> to=a@example.ac.jp,b@example.ac.jp\n")
    # firewalls: public netfilter and ASA lines, the ASA's own layouts, the scenario's lines
    firewall = (lines_of(FIX / "firewall-public" / "crowdsec-iptables-logs.log") +
                lines_of(FIX / "firewall-public" / "logstash-patterns-core.log") + ASA_LAYOUTS +
                lines_of(FIX / "direct_smtp" / "firewall.log")[:8])
    for i, line in enumerate(firewall):
        write("parsers", f"firewall-{i:02d}", line + "\n")

    # correlator: whole traces across hosts, the same with a hop's lines missing, the gw/relay loop
    # loop (it crashed the correlator until 3ce09d4), and ISVW records with the gateway's lines.
    reset("correlator")
    for i, window in enumerate(scenario_windows(20, 4)):
        write("correlator", f"trace-{i:02d}", "\n".join(window) + "\n")
        if i % 3 == 0:
            kept = [l for l in window if " relay" not in l[:40]]
            write("correlator", f"trace-{i:02d}-no-relay", "\n".join(kept) + "\n")
    write("correlator", "issue22-gw-relay-loop", ISSUE22)
    write("correlator", "intruder", "\n".join(lines_of(FIX / "scenario/intruder.log")) + "\n")
    write("correlator", "direct-smtp",
          "\n".join(lines_of(FIX / "direct_smtp" / "firewall.log")[:90]) + "\n")
    gw2 = lines_of(FIX / "scenario/gw2.log")
    for i, record in enumerate(isvw_records(3)):
        write("correlator", f"isvw-{i}", "\n".join(gw2[i * 6:i * 6 + 6] + record) + "\n")

    # omprog_json: the same traces as rsyslog's JSON records, and single records with escapes.
    reset("omprog_json")
    for i, window in enumerate(scenario_windows(16, 4)):
        records = [r for r in map(to_rsyslog_json, window) if r]
        write("omprog_json", f"trace-{i:02d}", "\n".join(records) + "\n")
    write("omprog_json", "issue22-gw-relay-loop",
          "\n".join(map(to_rsyslog_json, issue22)) + "\n")
    for i, line in enumerate(every_nth(curated, 12)):
        record = to_rsyslog_json(line)
        if record:
            write("omprog_json", f"record-{i:02d}", record + "\n")
    write("omprog_json", "escapes",
          '{"timereported":"2026-11-28T05:00:05.5+09:00","hostname":"relay1",'
          '"fromhost-ip":"10.1.0.25","app-name":"postfix\\/smtpd","procid":"1",'
          '"inputname":"imtcp","msg":" 1345D2CCE8: client=pc\\u00e9[10.1.23.45] \\"q\\" \\\\ '
          '\\ud83d\\ude00 \\t"}\n')
    write("omprog_json", "latin1",
          b'{"timereported":"2026-11-28T05:00:06Z","hostname":"gw1","fromhost-ip":"192.0.2.25",'
          b'"app-name":"clamav-milter","procid":"-","msg":" Message 7F310975433 from <a\xe9@x> '
          b'to <b@example.ac.jp> infected by Worm.X"}\n')

    # incident_json: incidents of the scenario's replay (every confidence), one per file.
    if args.incidents:
        reset("incident_json")
        incidents = [l for path in args.incidents
                     for l in pathlib.Path(path).read_text().splitlines() if l]
        by_confidence = {}
        for line in dict.fromkeys(incidents):
            by_confidence.setdefault(json.loads(line)["confidence"], []).append(line)
        for confidence, group in sorted(by_confidence.items()):
            for i, line in enumerate(every_nth(group, 8)):
                write("incident_json", f"{confidence}-{i}", line + "\n")

    # time: the timestamps of every envelope, durations of the configuration files.
    reset("time")
    stamps = ["2026-11-28T05:00:36.618019+00:00", "2026-11-28T05:00:36Z",
              "2026-11-28T05:00:36+0000", "2026-11-28 05:00:36.5+09:00",
              "2026-11-28T05:00:36", "2018-11-21T15:18:44+0000",
              "2026-05-16T16:13:25.138386+02:00", "11/28/26 05:00:59", "11/28/2026 05:00:59",
              "5s", "30m", "1h", "250ms", "2d", "300", "0", "1.5s"]
    for i, s in enumerate(stamps):
        write("time", f"value-{i:02d}", s + "\n")
    write("time", "stream", "\n".join(stamps[:4] + ["2026-11-28T05:00:37.1+00:00",
                                                    "2026-11-28T05:01:00.000001+00:00"]) + "\n")

    # correlator_settings / responder_config: the shipped files, the fixtures, the documents
    # of the loader tests.
    for target, files, tests in [
            ("correlator_settings",
             [ROOT / "rules/vtrace.yaml", FIX / "scenario/vtrace.yaml", FIX / "config/minimal.yaml",
              FIX / "config/several-errors.yaml"], [ROOT / "tests/module/settings_test.cpp"]),
            ("responder_config", [ROOT / "rules/responder.yaml"],
             [ROOT / "tests/responder" / f for f in
              ["config/config_test.cpp", "containment/containment_test.cpp",
               "containment/http_port_controllers_test.cpp"]])]:
        reset(target)
        for path in files:
            write(target, path.parent.name + "-" + path.name, path.read_bytes())
        for doc in (d for test in tests for d in raw_strings(test)):
            if re.match(r"\s*\w+:", doc):
                digest = hashlib.sha1(doc.encode()).hexdigest()[:10]
                write(target, f"test-{digest}.yaml", doc)

    # Dictionaries: the keys of every YAML seed (libFuzzer's -dict= format).
    for target in ["correlator_settings", "responder_config"]:
        keys = set()
        for path in (OUT / target).iterdir():
            if path.name.startswith("regression-"):
                continue
            keys.update(re.findall(r"^[ -]*([a-z_]+):", path.read_text(errors="replace"), re.M))
        DICT.mkdir(exist_ok=True)
        (DICT / f"{target}.dict").write_text(
            f"# The keys of tests/fuzz/corpus/{target}/ (written by make_corpus.py).\n" +
            "".join(f'"{k}:"\n' for k in sorted(keys)))


if __name__ == "__main__":
    main()
