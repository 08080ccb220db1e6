#!/usr/bin/python3
"""Browser test of the operator page (issue 8): a real vtrace-responder serving responder/web/,
a real snmpsim switch, Debian's chromium driven by playwright-core (web_e2e.mjs).

The responder listens on 0.0.0.0 (a non-loopback bind), so it requires the API token on every
mutating call: the page must fail to release without it, then ask for it and succeed.
Skips (77) when chromium, node/npm or snmpsim is missing, or npm cannot fetch playwright-core.

usage: web_e2e.py --responder PATH --ctl PATH --cache DIR [--artifacts DIR]   (run by ctest)
"""
import argparse, json, os, shutil, signal, socket, subprocess, sys, tempfile, time
import urllib.error, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
ap = argparse.ArgumentParser()
ap.add_argument('--responder', required=True)
ap.add_argument('--ctl', required=True)
ap.add_argument('--cache', required=True, help='npm prefix for playwright-core')
ap.add_argument('--artifacts', default='', help='screenshot dir ($VTRACE_ARTIFACTS wins)')
ap.add_argument('--keep', action='store_true')
args = ap.parse_args()
artifacts = os.environ.get('VTRACE_ARTIFACTS') or args.artifacts or os.path.join(os.path.dirname(args.cache), 'artifacts')

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
for need, what in [(CHROMIUM, 'chromium'), (shutil.which('node'), 'node'), (shutil.which('npm'), 'npm'),
                   (shutil.which('snmpsimd'), 'snmpsim'), (shutil.which('snmpget'), 'snmp')]:
    if not need or not os.path.exists(need):
        print('SKIP: %s is not installed (scripts/install-deps)' % what)
        sys.exit(77)

# playwright-core from npm into the build tree (never `playwright install`: we use Debian's chromium).
modules = os.path.join(args.cache, 'node_modules')
if not os.path.isdir(os.path.join(modules, 'playwright-core')):
    os.makedirs(args.cache, exist_ok=True)
    try:
        r = subprocess.run(['npm', 'install', '--prefix', args.cache, '--no-audit', '--no-fund',
                            '--ignore-scripts', 'playwright-core@1'],
                           capture_output=True, text=True, timeout=240)
    except subprocess.TimeoutExpired:
        r = None
    if r is None or r.returncode != 0 or not os.path.isdir(os.path.join(modules, 'playwright-core')):
        print('SKIP: npm could not install playwright-core:', (r.stderr[-500:] if r else 'timeout'))
        sys.exit(77)

TMP = tempfile.mkdtemp(prefix='vtrace-web-e2e-')
os.chmod(TMP, 0o755)
procs = []
ENV = dict(os.environ, SNMP_PERSISTENT_DIR=TMP + '/persist', SNMPCONFPATH=TMP + '/persist', MIBS='')


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write(path, text, mode=0o600):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


# ---- a small switch: 4 ports, writable ifAdminStatus (snmpsim writecache) -------------------
IF, IFX = '1.3.6.1.2.1.2.2.1', '1.3.6.1.2.1.31.1.1.1'
recs = [('1.3.6.1.2.1.1.1.0', '4', 'LabSim 4-port switch'), ('1.3.6.1.2.1.1.5.0', '4', 'lab-sw1'),
        ('1.3.6.1.2.1.2.1.0', '2', '4')]
for i in range(1, 5):
    recs += [('%s.1.%d' % (IF, i), '2', str(i)), ('%s.2.%d' % (IF, i), '4', 'GigabitEthernet1/0/%d' % i),
             ('%s.7.%d' % (IF, i), '2:writecache', 'value=1,vlist=lt:1:wrongvalue:gt:3:wrongvalue'),
             ('%s.1.%d' % (IFX, i), '4', 'Gi1/0/%d' % i)]
recs.sort(key=lambda r: [int(p) for p in r[0].split('.')])
for d in ('data', 'persist', 'cache'):
    os.makedirs(os.path.join(TMP, d))
    os.chmod(os.path.join(TMP, d), 0o777)
write(TMP + '/data/switch.snmprec', ''.join('%s|%s|%s\n' % r for r in recs), 0o644)
SNMP_PORT = free_port(socket.SOCK_DGRAM)
SNMP = '127.0.0.1:%d' % SNMP_PORT


def admin(i):
    r = subprocess.run(['snmpget', '-v2c', '-c', 'switch', '-t', '1', '-r', '1', '-Oqv', SNMP,
                        '%s.7.%d' % (IF, i)], env=ENV, capture_output=True, text=True)
    return r.stdout.strip()


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


API = free_port()
URL = 'http://127.0.0.1:%d' % API
TOKEN = 'e2e-' + os.urandom(16).hex()
failures = []


def check(cond, what):
    print(('ok    ' if cond else 'FAIL  ') + what, flush=True)
    if not cond:
        failures.append(what)


def http(method, path, body=None, token=TOKEN):
    req = urllib.request.Request(URL + path, data=body.encode() if body else None, method=method)
    if body:
        req.add_header('Content-Type', 'application/json')
    if token:
        req.add_header('Authorization', 'Bearer ' + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def incident(id, at, ip, name, internal, zone, virus, subject='Your document', sender='forged@example.com',
             hops=None):
    return json.dumps({
        'schema': 'vtrace.incident/1', 'id': id, 'revision': 1, 'detected_at': at,
        'detector': {'host': 'gw1', 'format': 'clamav-milter'}, 'virus': virus, 'action': 'rejected',
        'envelope': {'from': sender, 'to': ['staff@example.ac.jp']},
        'message': {'queue_id': 'Q' + id, 'message_id': id + '@pc', 'subject': subject},
        'hops': hops or [{'host': 'gw1', 'queue_id': 'Q' + id, 'received_at': at, 'client_ip': ip,
                          'client_name': name, 'link': 'queue_id'}],
        'origin': {'ip': ip, 'name': name, 'internal': internal, 'zone': zone},
        'confidence': 'exact', 'candidates': [],
        'evidence': ['Nov 28 05:00:36 gw1 clamav-milter[812]: Q%s: Message infected by %s' % (id, virus)]})


try:
    asroot = ['--process-user=nobody', '--process-group=nogroup'] if os.getuid() == 0 else []
    snmpsim = subprocess.Popen(
        ['snmpsimd', '--data-dir=' + TMP + '/data', '--cache-dir=' + TMP + '/cache',
         '--variation-module-options=writecache:', '--agent-udpv4-endpoint=' + SNMP, *asroot,
         '--logging-method=file:' + TMP + '/snmpsimd.log'],
        stdout=open(TMP + '/snmpsimd.out', 'w'), stderr=subprocess.STDOUT)
    procs.append(snmpsim)
    for _ in range(150):
        if admin(4) == '1':
            break
        time.sleep(0.1)
    check(admin(4) == '1', 'snmpsim switch is up, Gi1/0/4 enabled')

    write(TMP + '/secrets.yaml', 'api_token: %s\nsnmp_credentials:\n  sw-rw: {community: switch}\n' % TOKEN)
    write(TMP + '/responder.yaml', f"""listen: {{address: 0.0.0.0, port: {API}, web_root: {SOURCE}/responder/web}}
state_file: {TMP}/state.db
secrets_file: {TMP}/secrets.yaml
smtp: {{host: 127.0.0.1, port: 9}}
containment:
  snmp_timeout: 500ms
  switches:
    - {{name: sw1, address: 127.0.0.1, port: {SNMP_PORT}, version: "2c", credential: sw-rw, dry_run: false}}
  static_map:
    - {{ip: 10.1.23.45, switch: sw1, port: Gi1/0/4}}
policies:
  - name: contain-lab
    match: {{zones: [lab]}}
    actions:
      - {{type: disable_port, dry_run: false, duration: 4h}}
""", 0o644)
    log = open(TMP + '/responder.log', 'a')
    resp = subprocess.Popen([args.responder, '--config', TMP + '/responder.yaml'], stdout=log, stderr=log)
    procs.append(resp)
    for _ in range(200):
        try:
            socket.create_connection(('127.0.0.1', API), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)

    relay_hops = [
        {'host': 'gw1', 'queue_id': 'QGW1', 'received_at': '2026-11-28T05:00:36Z', 'client_ip': '10.1.0.25',
         'client_name': 'relay1', 'link': 'queue_id'},
        {'host': 'relay1', 'queue_id': 'QRL1', 'received_at': '2026-11-28T05:00:35Z', 'client_ip': '10.1.23.45',
         'client_name': 'pc-45', 'link': 'next_hop_queue_id'}]
    seeds = [
        incident('i-pc45', '2026-11-28T05:00:36Z', '10.1.23.45', 'pc-45', True, 'lab', 'Worm.Mydoom.M',
                 hops=relay_hops),
        incident('i-hostile', '2026-11-28T05:10:00Z', '198.51.100.7', 'mx.bad.example.net', False, '',
                 'Win.Trojan.<img src=x onerror=alert(2)>',
                 subject='<img src=x onerror=alert(1)>',
                 sender='"><script>window.__pwned=1</script>@evil.example'),
        incident('i-ext2', '2026-11-28T04:00:00Z', '203.0.113.9', 'mail.other.example', False, '', 'Win.Trojan.Agent'),
    ]
    for body in seeds:
        status, text = http('POST', '/v1/incidents', body)
        check(status == 201, 'seeded incident (%d %s)' % (status, text[:120]))
    status, _ = http('POST', '/v1/incidents', seeds[2].replace('i-ext2', 'i-ext3'), token='')
    check(status == 401, 'a POST without the token on a non-loopback bind is refused (%d)' % status)

    contained = None
    for _ in range(100):
        s, text = http('GET', '/v1/containments', token='')
        cs = json.loads(text)['containments'] if s == 200 else []
        contained = next((c for c in cs if c['incident'] == 'i-pc45'), None)
        if contained and contained['status'] not in ('pending', 'working', 'writing'):
            break
        time.sleep(0.1)
    check(contained is not None and contained['status'] == 'down',
          'i-pc45 contained: %s' % str(contained and (contained['status'], contained['detail'])))
    check(admin(4) == '2', 'snmpsim reads ifAdminStatus.4 = down(2)')

    os.makedirs(artifacts, exist_ok=True)
    env = dict(os.environ, NODE_PATH=modules, VTRACE_URL=URL, VTRACE_TOKEN=TOKEN, CHROMIUM=CHROMIUM,
               VTRACE_ARTIFACTS=artifacts, VTRACE_PROFILE=TMP + '/chromium-profile', SNMP_ENDPOINT=SNMP,
               SNMP_PERSISTENT_DIR=ENV['SNMP_PERSISTENT_DIR'], SNMPCONFPATH=ENV['SNMPCONFPATH'], MIBS='')
    # NODE_PATH does not apply to ES modules: run the test from a copy next to node_modules.
    script = os.path.join(args.cache, 'web_e2e.mjs')
    shutil.copy(os.path.join(HERE, 'web_e2e.mjs'), script)
    r = subprocess.run(['node', script], env=env, timeout=180)
    check(r.returncode == 0, 'browser checks (web_e2e.mjs) passed')
    check(admin(4) == '1', 'after the release click snmpsim reads ifAdminStatus.4 = up(1)')
    s, text = http('GET', '/v1/containments', token='')
    c = next((c for c in json.loads(text)['containments'] if c['id'] == contained['id']), {})
    check(c.get('status') == 'released' and 'e2e' in c.get('release_reason', ''),
          'the API shows the containment released with the operator reason: %s' % c.get('status'))
    r = subprocess.run([args.ctl, '--url', URL, 'report', '--since', '10000d'], capture_output=True, text=True)
    print(r.stdout)
    check(r.returncode == 0 and 'Worm.Mydoom.M' in r.stdout and '10.1.23.45' in r.stdout,
          'vtracectl report prints the statistics table')
finally:
    for p in reversed(procs):
        stop(p)
    if failures or args.keep:
        print('kept', TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)

print('%d failures' % len(failures))
sys.exit(1 if failures else 0)
