#!/usr/bin/python3
"""Benchmark (issue 16): time from an incident to a verified-down port right after the
responder starts (cold tables), on a campus-sized snmpsim floor, with the shipped containment
defaults (table_max_age 1m, table_refresh off, lldp_uplinks on).

The floor: a router with ARP_ENTRIES ARP entries (IP-MIB and RFC 1213 tables) on 4 interfaces;
a 48-port access switch whose uplink carries UPLINK_MACS MACs, 40 desks (every fourth behind
an LLDP phone), LLDP on the uplink. The incident names a PC whose ARP entry sorts last. Each run
starts a fresh responder (empty state file) and POSTs the incident as soon as it listens; the
figure is the median over RUNS runs, and a warm figure (a second PC right after) is printed too.

usage: bench/containment_cold_start.py --responder build/responder/vtrace-responder
       [--runs 5] [--arp 4000] [--uplink-macs 430]
Not a test: it prints figures and fails only when the floor does not work at all.
"""
import argparse, json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
import urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'support'))
from testkit import free_port, stop, mac_oid, emit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--responder', required=True)
ap.add_argument('--runs', type=int, default=5, choices=range(1, 10))
ap.add_argument('--arp', type=int, default=4000)
ap.add_argument('--uplink-macs', type=int, default=430)
args = ap.parse_args()

if not shutil.which('snmpsimd') or not shutil.which('snmpget'):
    sys.exit('snmpsim / snmp are not installed (scripts/install-deps)')

TMP = tempfile.mkdtemp(prefix='vtrace-cold-')
os.chmod(TMP, 0o755)
ENV = dict(os.environ, SNMP_PERSISTENT_DIR=TMP + '/persist', SNMPCONFPATH=TMP + '/persist', MIBS='')
procs = []


def mac_of(n, prefix='02:10'):
    return '%s:%02x:%02x:%02x:%02x' % (prefix, (n >> 24) & 255, (n >> 16) & 255, (n >> 8) & 255, n & 255)


IF, IFX = '1.3.6.1.2.1.2.2.1', '1.3.6.1.2.1.31.1.1.1'
# Hosts: index 0..ARP-1; 10.20.x.y. The desks are the last 40 (their ARP entries sort last).
hosts = [('10.20.%d.%d' % (1 + i // 250, 1 + i % 250), mac_of(i)) for i in range(args.arp)]
desks = hosts[-40:]
router = [('1.3.6.1.2.1.1.5.0', '4', 'bench-rtr')]
for i in range(1, 5):
    router += [('%s.1.%d' % (IF, i), '2', str(i)), ('%s.1.%d' % (IFX, i), '4', 'vlan%d' % i)]
for n, (ip, mac) in enumerate(hosts):
    ifindex = 1 + n % 4
    router += [('1.3.6.1.2.1.4.22.1.2.%d.%s' % (ifindex, ip), '4x', mac.replace(':', '')),
               ('1.3.6.1.2.1.4.35.1.4.%d.1.4.%s' % (ifindex, ip), '4x', mac.replace(':', ''))]
switch = [('1.3.6.1.2.1.1.5.0', '4', 'bench-sw')]
for i in range(1, 49):
    switch += [('%s.1.%d' % (IF, i), '2', str(i)),
               ('%s.7.%d' % (IF, i), '2:writecache', 'value=1'),
               ('%s.1.%d' % (IFX, i), '4', 'Gi1/0/%d' % i),
               ('1.3.6.1.2.1.17.1.4.1.2.%d' % i, '2', str(i))]
for n in range(args.uplink_macs):   # the rest of the campus, learned on the uplink
    switch.append(('1.3.6.1.2.1.17.7.1.2.2.1.2.10.%s' % mac_oid(mac_of(n, '02:20')), '2', '48'))
for port, (ip, mac) in enumerate(desks, start=1):
    switch.append(('1.3.6.1.2.1.17.7.1.2.2.1.2.10.%s' % mac_oid(mac), '2', str(port)))
    if port % 4 == 0:   # a phone on the voice VLAN, announced by LLDP
        phone = mac_of(port, '02:30')
        switch += [('1.3.6.1.2.1.17.7.1.2.2.1.2.20.%s' % mac_oid(phone), '2', str(port)),
                   ('1.0.8802.1.1.2.1.4.1.1.9.0.%d.1' % port, '4', 'SEP%d' % port),
                   ('1.0.8802.1.1.2.1.4.1.1.12.0.%d.1' % port, '4x', '24')]
switch += [('1.0.8802.1.1.2.1.4.1.1.9.0.48.1', '4', 'core-1'),
           ('1.0.8802.1.1.2.1.4.1.1.12.0.48.1', '4x', '28')]

for d in ('data', 'persist'):
    os.makedirs(os.path.join(TMP, d))
    os.chmod(os.path.join(TMP, d), 0o755)
emit(TMP + '/data/sw.snmprec', switch)
emit(TMP + '/data/rtr.snmprec', router)
SNMP_PORT = free_port(socket.SOCK_DGRAM)
API = free_port()
URL = 'http://127.0.0.1:%d' % API


def snmpget(oid, community='sw'):
    r = subprocess.run(['snmpget', '-v2c', '-c', community, '-t', '1', '-r', '1', '-Oqv',
                        '127.0.0.1:%d' % SNMP_PORT, oid], env=ENV, capture_output=True, text=True)
    return r.stdout.strip()


def http(method, path, body=None):
    req = urllib.request.Request(URL + path, data=body.encode() if body else None, method=method)
    if body:
        req.add_header('Content-Type', 'application/json')
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def incident(id, ip):
    now = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    return json.dumps({
        'schema': 'vtrace.incident/1', 'id': id, 'revision': 1, 'detected_at': now,
        'detector': {'host': 'gw1', 'format': 'clamav-milter'}, 'virus': 'Worm.Mydoom.M',
        'action': 'rejected', 'envelope': {'from': 'x@example.com', 'to': ['a@example.ac.jp']},
        'message': {'queue_id': '4Q' + id, 'message_id': id + '@pc'},
        'hops': [{'host': 'gw1', 'queue_id': '4Q' + id, 'received_at': now, 'client_ip': ip,
                  'client_name': 'pc', 'link': 'queue_id'}],
        'origin': {'ip': ip, 'name': 'pc', 'internal': True, 'zone': 'lab'},
        'confidence': 'exact', 'candidates': []})


def contained(iid, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        status, body = http('GET', '/v1/containments')
        for c in json.loads(body)['containments'] if status == 200 else []:
            if c['incident'] == iid and c['status'] not in ('pending', 'working', 'writing'):
                return c
        time.sleep(0.002)
    return None


with open(TMP + '/secrets.yaml', 'w') as f:
    f.write('snmp_credentials:\n  sw: {community: sw}\n  rtr: {community: rtr}\n')
os.chmod(TMP + '/secrets.yaml', 0o600)

try:
    cache = TMP + '/cache'
    os.makedirs(cache)
    os.chmod(cache, 0o777)
    asroot = ['--process-user=nobody', '--process-group=nogroup'] if os.getuid() == 0 else []
    procs.append(subprocess.Popen(
        ['snmpsimd', '--data-dir=' + TMP + '/data', '--cache-dir=' + cache,
         '--variation-module-options=writecache:', '--agent-udpv4-endpoint=127.0.0.1:%d' % SNMP_PORT,
         *asroot, '--logging-method=null'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for _ in range(600):
        if snmpget('1.3.6.1.2.1.1.5.0') == '"bench-sw"' and snmpget('1.3.6.1.2.1.1.5.0', 'rtr'):
            break
        time.sleep(0.1)
    else:
        sys.exit('snmpsimd did not come up')
    cold, warm = [], []
    for run in range(args.runs):
        state = '%s/state-%d.db' % (TMP, run)
        with open(TMP + '/responder.yaml', 'w') as f:
            f.write(f"""listen: {{address: 127.0.0.1, port: {API}}}
state_file: {state}
secrets_file: {TMP}/secrets.yaml
smtp: {{host: 127.0.0.1, port: 9}}
containment:
  breaker: {{max_per_hour: 100, max_per_switch_per_hour: 100}}
  routers:
    - {{name: rtr, address: 127.0.0.1, port: {SNMP_PORT}, credential: rtr}}
  switches:
    - {{name: sw, address: 127.0.0.1, port: {SNMP_PORT}, credential: sw, dry_run: false,
       uplinks: [Gi1/0/48]}}
policies:
  - name: contain
    actions:
      - {{type: disable_port, dry_run: false, duration: 1h}}
""")
        p = subprocess.Popen([args.responder, '--config', TMP + '/responder.yaml'],
                             stdout=open(TMP + '/responder.log', 'a'), stderr=subprocess.STDOUT)
        procs.append(p)
        end = time.time() + 10
        while time.time() < end:
            try:
                socket.create_connection(('127.0.0.1', API), 0.2).close()
                break
            except OSError:
                time.sleep(0.01)
        # A different desk each run, none behind a phone (so that a build without phone
        # support can be measured too).
        ip = desks[38 - 4 * run][0]
        t0 = time.monotonic()
        http('POST', '/v1/incidents', incident('cold%d' % run, ip))
        c = contained('cold%d' % run)
        cold.append((time.monotonic() - t0) * 1000)
        if not c or c['status'] != 'down':
            sys.exit('cold run %d: not contained: %s (see %s)' % (run, c, TMP))
        ip = desks[36 - 4 * run][0]
        t0 = time.monotonic()
        http('POST', '/v1/incidents', incident('warm%d' % run, ip))
        c = contained('warm%d' % run)
        warm.append((time.monotonic() - t0) * 1000)
        if not c or c['status'] != 'down':
            sys.exit('warm run %d: not contained: %s' % (run, c))
        stop(p)
        for port in range(1, 41):   # every desk port up again for the next run
            subprocess.run(['snmpset', '-v2c', '-c', 'sw', '-t', '1', '-r', '1',
                            '127.0.0.1:%d' % SNMP_PORT, '1.3.6.1.2.1.2.2.1.7.%d' % port, 'i', '1'],
                           env=ENV, capture_output=True)
    print('floor: %d ARP entries, %d MACs on the uplink, %d desks; %d runs'
          % (args.arp, args.uplink_macs, len(desks), args.runs))
    print('incident -> verified down, cold (first after start): median %.0f ms (min %.0f, max %.0f)'
          % (statistics.median(cold), min(cold), max(cold)))
    print('incident -> verified down, warm (second):            median %.0f ms (min %.0f, max %.0f)'
          % (statistics.median(warm), min(warm), max(warm)))
finally:
    for p in procs:
        stop(p)
    shutil.rmtree(TMP, ignore_errors=True)
