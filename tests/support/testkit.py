"""Helpers the Python test and benchmark drivers share: free ports on 127.0.0.1, stopping a
child process, snmpsim data files (.snmprec) for simulated switches and routers, and a
vtrace-responder under test (started from a config file, driven over its HTTP API).

Import from a script in tests/<dir>/ or bench/ with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
(bench/: '..', 'tests', 'support').
"""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

# This folder: the fake servers the drivers start (smtp_sink.py, automation_server.py) live here.
SUPPORT_DIR = os.path.dirname(os.path.abspath(__file__))


class Checks:
    """The named checks of a test script, called as check(cond, what): each is printed as it
    runs ('ok' or 'FAIL'), failed ones are kept in `failures`, and `count` says how many ran."""

    def __init__(self):
        self.count = 0
        self.failures = []

    def __call__(self, cond, what):
        self.count += 1
        print(('ok    ' if cond else 'FAIL  ') + what, flush=True)
        if not cond:
            self.failures.append(what)
        return cond


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that was free a moment ago (TCP, or UDP with SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def stop(p, timeout=10):
    """SIGTERM, then SIGKILL after `timeout` seconds; waits for the process either way."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def mac_hex(mac):
    """'02:99:01:00:00:0a' -> '029901000000a' as snmprec's hex strings write a MAC."""
    return mac.replace(':', '').lower()


def mac_oid(mac):
    """'02:99:01:00:00:0a' -> '2.153.1.0.0.10', the MAC as the index of an FDB or ARP table."""
    return '.'.join(str(int(b, 16)) for b in mac.split(':'))


def emit(path, records):
    """Writes snmpsim records (oid, tag, value) sorted by numeric OID, as snmpsim needs them,
    readable by snmpsimd running as nobody."""
    records.sort(key=lambda r: [int(p) for p in r[0].split('.')])
    with open(path, 'w') as f:
        for oid, tag, val in records:
            f.write('%s|%s|%s\n' % (oid, tag, val))
    os.chmod(path, 0o644)


def start_snmpsim(tmp, endpoint, ready, procs, options=()):
    """snmpsimd serving the .snmprec files in tmp/data with the variation modules in
    tmp/variation on `endpoint` (host:port), as nobody when we are root, with `options` added;
    returns the process once ready() is true (SystemExit naming its output when it is not)."""
    cache = tmp + '/cache'
    os.makedirs(cache, exist_ok=True)
    os.chmod(cache, 0o777)
    asroot = ['--process-user=nobody', '--process-group=nogroup'] if os.getuid() == 0 else []
    p = subprocess.Popen(
        ['snmpsimd', '--data-dir=' + tmp + '/data', '--cache-dir=' + cache,
         '--variation-modules-dir=' + tmp + '/variation', '--agent-udpv4-endpoint=' + endpoint,
         *options, *asroot, '--logging-method=file:' + tmp + '/snmpsimd.log'],
        stdout=open(tmp + '/snmpsimd.out', 'w'), stderr=subprocess.STDOUT)
    procs.append(p)
    for _ in range(150):
        if ready():
            return p
        if p.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit('snmpsimd did not come up; see %s/snmpsimd.out' % tmp)


def write_file(path, text, mode=0o600):
    """Writes `text` to `path` with permissions `mode` (secrets files are checked for it)."""
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def http(method, url, body=None, token=None):
    """(status, body text) of one HTTP request; a `body` is sent as JSON, a `token` as a bearer
    token. An HTTP error status is returned like any other."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def incident(id, ip, zone='lab', virus='Worm.Mydoom.M', at=None):
    """An exact incident (vtrace.incident/1) tracing a worm mail to the internal host `ip`,
    detected at `at` (RFC 3339; now when None)."""
    at = at or time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    return json.dumps({
        'schema': 'vtrace.incident/1', 'id': id, 'revision': 1, 'detected_at': at,
        'detector': {'host': 'gw1', 'format': 'clamav-milter'}, 'virus': virus,
        'action': 'rejected', 'envelope': {'from': 'forged@example.com', 'to': ['a@example.ac.jp']},
        'message': {'queue_id': '4Q' + id, 'message_id': id + '@pc'},
        'hops': [{'host': 'gw1', 'queue_id': '4Q' + id, 'received_at': at,
                  'client_ip': ip, 'client_name': 'pc', 'link': 'queue_id'}],
        'origin': {'ip': ip, 'name': 'pc', 'internal': True, 'zone': zone},
        'confidence': 'exact', 'candidates': []})


class Responder:
    """A vtrace-responder under test, listening on 127.0.0.1:`port`. Every process it starts
    is appended to `procs` (the caller stops them all in its `finally`)."""

    def __init__(self, binary, port, procs):
        self.binary, self.procs = binary, procs
        self.url = 'http://127.0.0.1:%d' % port
        self.port = port

    def start(self, config, log, timeout=10):
        """Starts it with `config`, output appended to `log`; returns the process once it
        listens (SystemExit naming the log when it does not)."""
        out = open(log, 'a')
        p = subprocess.Popen([self.binary, '--config', config], stdout=out, stderr=out)
        self.procs.append(p)
        end = time.time() + timeout
        while time.time() < end:
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.2).close()
                return p
            except OSError:
                if p.poll() is not None:
                    break
                time.sleep(0.05)
        raise SystemExit('responder did not listen; see %s' % log)

    def http(self, method, path, body=None):
        """(status, body text) of one API request; `body` is sent as JSON."""
        return http(method, self.url + path, body or None)

    def containments(self):
        status, body = self.http('GET', '/v1/containments')
        return json.loads(body)['containments'] if status == 200 else []

    def containment_for(self, incident_id):
        for c in self.containments():
            if c['incident'] == incident_id:
                return c
        return None

    def settle(self, incident_id, wanted=None, timeout=10, poll=0.005):
        """Polls until the incident's containment left pending/working/writing (or is
        `wanted`); returns it as last seen."""
        end = time.time() + timeout
        while time.time() < end:
            c = self.containment_for(incident_id)
            if c and (c['status'] == wanted if wanted else
                      c['status'] not in ('pending', 'working', 'writing')):
                return c
            time.sleep(poll)
        return self.containment_for(incident_id)

    def release(self, containment_id, reason='cleaned'):
        """Asks for an operator release through the API; (status, body)."""
        return self.http('POST', '/v1/containments/%d/release' % containment_id,
                         json.dumps({'operator': 'test', 'reason': reason}))
