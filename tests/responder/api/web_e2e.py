#!/usr/bin/python3
"""Browser test of the operator page: a real vtrace-responder serving
responder/web/, a real snmpsim switch, a real SMTP sink (aiosmtpd), Debian's chromium driven by
playwright-core (web_e2e.mjs).

The responder listens on 0.0.0.0 (a non-loopback bind), so it requires the API token on every
mutating call: the page must fail to release without it, then ask for it and succeed.
Seeded relative to now, so the page's default 18-day filter always shows them: a contained lab
PC first detected 3 h 7 min before its port went down, a 400-incident burst in three hours of
yesterday, fuzzy / ambiguous / unresolved traces, a hostile incident with a 3000-character
subject, and two held mails (abuse contact, rate limit).
Skips (77) when chromium, node/npm, snmpsim or aiosmtpd is missing, or npm cannot fetch
playwright-core.

usage: web_e2e.py --responder PATH --ctl PATH --cache DIR [--artifacts DIR]   (run by ctest)
"""
import argparse, datetime, email, email.policy, importlib.util, json, os, shutil, signal, socket
import sqlite3, subprocess, sys, tempfile, time, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'support'))
import testkit  # noqa: E402
from testkit import free_port, stop, write_file as write  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
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
if importlib.util.find_spec('aiosmtpd') is None:
    print('SKIP: python3-aiosmtpd is not installed (scripts/install-deps)')
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


API = free_port()
URL = 'http://127.0.0.1:%d' % API
TOKEN = 'e2e-' + os.urandom(16).hex()
failures = []


def check(cond, what):
    print(('ok    ' if cond else 'FAIL  ') + what, flush=True)
    if not cond:
        failures.append(what)


def http(method, path, body=None, token=TOKEN):
    return testkit.http(method, URL + path, body or None, token)


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def incident(id, t, ip, name, internal, zone, virus, subject='Your document', sender='forged@example.com',
             hops=None, confidence='exact', candidates=(), note=''):
    at = rfc3339(t)
    doc = {
        'schema': 'vtrace.incident/1', 'id': id, 'revision': 1, 'detected_at': at,
        'detector': {'host': 'gw1', 'format': 'clamav-milter'}, 'virus': virus, 'action': 'rejected',
        'envelope': {'from': sender, 'to': ['staff@example.ac.jp']},
        'message': {'queue_id': 'Q' + id, 'message_id': id + '@pc', 'subject': subject},
        # Without an origin the chain broke after the gateway: relay1 is the last known hop.
        'hops': hops or [{'host': 'gw1', 'queue_id': 'Q' + id, 'received_at': at, 'client_ip': ip or '10.1.0.25',
                          'client_name': name or 'relay1',
                          'link': 'envelope' if confidence == 'fuzzy' else 'queue_id'}],
        'origin': {'ip': ip, 'name': name, 'internal': internal, 'zone': zone},
        'confidence': confidence, 'candidates': list(candidates),
        'evidence': ['Nov 28 05:00:36 gw1 clamav-milter[812]: Q%s: Message infected by %s' % (id, virus)]}
    if note:
        doc['note'] = note
    if not ip:
        del doc['origin']
    return json.dumps(doc)


def direct_smtp_incident(id, t, ip, name, zone):
    """A firewall's incident: pc tried 312 SMTP connections to 97 hosts in 4 minutes."""
    at, start = rfc3339(t), rfc3339(t - 240)
    return json.dumps({
        'schema': 'vtrace.incident/1', 'id': id, 'revision': 1, 'kind': 'direct_smtp', 'detected_at': at,
        'detector': {'host': 'fw1', 'format': 'netfilter'}, 'virus': '', 'action': 'blocked',
        'envelope': {'from': '', 'to': []}, 'message': {'queue_id': '', 'message_id': ''},
        'hops': [{'host': 'fw1', 'queue_id': '', 'received_at': start, 'client_ip': ip, 'client_name': '',
                  'link': 'direct'}],
        'origin': {'ip': ip, 'name': name, 'internal': True, 'zone': zone}, 'confidence': 'exact',
        'candidates': [],
        'evidence': ['Dec  7 10:00:01 fw1 kernel: [UFW BLOCK] IN=eth1 OUT=eth0 SRC=%s DST=198.51.100.7 '
                     'PROTO=TCP SPT=41945 DPT=25 SYN URGP=0' % ip],
        'direct_smtp': {'connections': 312, 'destinations': 97, 'blocked': 312, 'allowed': 0,
                        'first_seen': start, 'last_seen': at}})


def maildir_messages(maildir):
    new = os.path.join(maildir, 'new')
    out = []
    for name in sorted(os.listdir(new)) if os.path.isdir(new) else []:
        with open(os.path.join(new, name), 'rb') as f:
            out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
    return out


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

    SMTP_PORT = free_port()
    MAILDIR = TMP + '/Maildir'
    sink = subprocess.Popen(['/usr/bin/python3', os.path.join(testkit.SUPPORT_DIR, 'smtp_sink.py'), str(SMTP_PORT), MAILDIR],
                            stdout=subprocess.PIPE, stderr=open(TMP + '/smtp_sink.log', 'w'), text=True)
    procs.append(sink)
    check(sink.stdout.readline().startswith('READY'), 'the SMTP sink is listening')

    write(TMP + '/secrets.yaml', 'api_token: %s\nsnmp_credentials:\n  sw-rw: {community: switch}\n' % TOKEN)
    write(TMP + '/responder.yaml', f"""listen: {{address: 0.0.0.0, port: {API}, web_root: {SOURCE}/responder/web}}
state_file: {TMP}/state.db
secrets_file: {TMP}/secrets.yaml
smtp: {{host: 127.0.0.1, port: {SMTP_PORT}, from: vtrace@example.ac.jp, retry_initial: 1s, retry_max: 2s}}
mail: {{per_recipient_per_hour: 1}}
abuse_contacts:
  - {{cidrs: [198.51.100.0/24], address: abuse@example.net}}
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
  - name: external-origin
    match: {{origin: external}}
    actions:
      - {{type: mail, to: [postmaster@example.ac.jp]}}
      - {{type: mail_abuse, hold: true}}
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

    # Times relative to now, so the default "18 days" filter always shows them. The lab PC was
    # first detected 3 h 7 min 28.8 s before now; its port goes down a moment after the POST.
    NOW = time.time()
    T_PC45 = NOW - 11248.8
    relay_hops = [
        {'host': 'gw1', 'queue_id': 'QGW1', 'received_at': rfc3339(T_PC45), 'client_ip': '10.1.0.25',
         'client_name': 'relay1', 'link': 'queue_id'},
        {'host': 'relay1', 'queue_id': 'QRL1', 'received_at': rfc3339(T_PC45 - 1), 'client_ip': '10.1.23.45',
         'client_name': 'pc-45', 'link': 'next_hop_queue_id'}]
    seeds = [
        incident('i-pc45', T_PC45, '10.1.23.45', 'pc-45', True, 'lab', 'Worm.Mydoom.M', hops=relay_hops),
        incident('i-hostile', T_PC45 + 600, '198.51.100.7', 'mx.bad.example.net', False, '',
                 'Win.Trojan.<img src=x onerror=alert(2)>',
                 subject='<img src=x onerror=alert(1)>',
                 sender='"><script>window.__pwned=1</script>@evil.example'),
        incident('i-ext2', T_PC45 - 3600, '203.0.113.9', 'mail.other.example', False, '', 'Win.Trojan.Agent'),
        incident('i-fuzzy1', T_PC45 - 7200, '10.1.30.7', 'pc-307', True, 'dorm', 'Worm.Bagle.A', confidence='fuzzy',
                 note='gw1 matched by envelope and time (one candidate)'),
        incident('i-fuzzy2', T_PC45 - 7300, '10.1.30.8', 'pc-308', True, 'dorm', 'Worm.Bagle.A', confidence='fuzzy',
                 note='gw1 matched by envelope and time (one candidate)'),
        incident('i-ambiguous', T_PC45 - 7400, '', '', False, '', 'Worm.Bagle.A', confidence='ambiguous',
                 candidates=[{'host': 'relay1', 'queue_id': 'RA1', 'received_at': rfc3339(T_PC45 - 7401),
                              'origin_ip': '10.1.30.9', 'origin_name': 'pc-309'},
                             {'host': 'relay1', 'queue_id': 'RA2', 'received_at': rfc3339(T_PC45 - 7402),
                              'origin_ip': '10.1.30.10', 'origin_name': 'pc-310'}],
                 note='2 candidates on relay1'),
        incident('i-unresolved', T_PC45 - 7500, '', '', False, '', 'Worm.Bagle.A', confidence='unresolved',
                 note='no record on relay1 of the message it handed to gw1'),
        # Attacker-written strings far longer than any screen.
        incident('i-long', NOW - 1200, '10.1.40.4', 'pc-404', True, 'dorm', 'Worm.' + 'Long' * 60,
                 subject='Re:' + 'A' * 3000, sender='x' * 400 + '@example.com'),
        # A worm with its own SMTP engine, seen by the border firewall (no virus, its own column).
        direct_smtp_incident('i-direct', NOW - 1800, '10.1.60.6', 'pc-606', 'dorm'),
    ]
    for body in seeds:
        status, text = http('POST', '/v1/incidents', body)
        check(status == 201, 'seeded incident (%d %s)' % (status, text[:120]))
    status, _ = http('POST', '/v1/incidents', seeds[2].replace('i-ext2', 'i-ext3'), token='')
    check(status == 401, 'a POST without the token on a non-loopback bind is refused (%d)' % status)

    # The burst: 400 detections from one dorm PC in three hours of yesterday (150, 200, 50).
    burst_hour = int(NOW // 3600) * 3600 - 30 * 3600
    per_hour = [150, 200, 50]
    expect_hours = {}
    n = 0
    for h, count in enumerate(per_hour):
        start = burst_hour + h * 3600
        expect_hours[rfc3339(start)] = {'internal': count}
        for k in range(count):
            status, text = http('POST', '/v1/incidents',
                                incident('i-burst-%03d' % n, start + k * (3599.0 / count), '10.1.50.5', 'pc-505',
                                         True, 'dorm', 'Worm.Netsky.P', subject='Your details'))
            n += 1
            if status != 201:
                check(False, 'seeded burst incident %d (%d %s)' % (n, status, text[:120]))
                break
    check(n == 400, 'seeded the 400-incident burst')

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
    # The external incidents queued one mail to postmaster (sent), one held by the rate limit
    # (1 per hour) and one abuse report held for review.
    held = []
    for _ in range(100):
        s, text = http('GET', '/v1/outbox?status=held', token='')
        held = json.loads(text)['mails'] if s == 200 else []
        if len(held) >= 2:
            break
        time.sleep(0.1)
    abuse = next((m for m in held if m['to'] == ['abuse@example.net']), None)
    check(len(held) == 2 and abuse is not None and
          any(m['last_error'].startswith('rate limit') for m in held),
          'two mails are held: the abuse report and one over the rate limit (%s)' %
          [(m['to'], m['last_error'][:40]) for m in held])

    env = dict(os.environ, NODE_PATH=modules, VTRACE_URL=URL, VTRACE_TOKEN=TOKEN, CHROMIUM=CHROMIUM,
               VTRACE_ARTIFACTS=artifacts, VTRACE_PROFILE=TMP + '/chromium-profile', SNMP_ENDPOINT=SNMP,
               SNMP_PERSISTENT_DIR=ENV['SNMP_PERSISTENT_DIR'], SNMPCONFPATH=ENV['SNMPCONFPATH'], MIBS='',
               VTRACE_EXPECT_HOURS=json.dumps(expect_hours),
               VTRACE_ABUSE_MAIL=str(abuse['id'] if abuse else 0))
    # NODE_PATH does not apply to ES modules: run the test from a copy next to node_modules.
    script = os.path.join(args.cache, 'web_e2e.mjs')
    shutil.copy(os.path.join(HERE, 'web_e2e.mjs'), script)
    r = subprocess.run(['node', script], env=env, timeout=240)
    check(r.returncode == 0, 'browser checks (web_e2e.mjs) passed')

    # The abuse report released on the page reaches the SMTP server, once, and is audited.
    got = []
    for _ in range(100):
        got = [m for m in maildir_messages(MAILDIR) if str(m['X-RcptTo']) == 'abuse@example.net']
        if got:
            break
        time.sleep(0.1)
    check(len(got) == 1 and str(got[0]['Subject']) == 'Abuse report: virus mail from 198.51.100.7',
          'the abuse report released from the page reached the SMTP sink: %s' % [str(m['Subject']) for m in got])
    s, text = http('GET', '/v1/outbox', token='')
    statuses = {m['id']: m['status'] for m in json.loads(text)['mails']} if s == 200 else {}
    check(abuse is not None and statuses.get(abuse['id']) == 'sent',
          'the outbox records the released mail as sent (%s)' % statuses.get(abuse and abuse['id']))
    check(sum(1 for v in statuses.values() if v == 'held') == 1, 'the rate-limited mail is still held')
    db = sqlite3.connect('file:%s/state.db?mode=ro' % TMP, uri=True)
    audit = db.execute("SELECT actor, detail FROM audit WHERE event='mail.released'").fetchall()
    db.close()
    check(abuse is not None and audit == [('api:127.0.0.1 operator=e2e-operator',
                                           'mail %d: e2e: abuse desk asked for reports' % abuse['id'])],
          'the release is audited with the operator and the reason: %s' % audit)
    check(admin(4) == '1', 'after the release click snmpsim reads ifAdminStatus.4 = up(1)')
    s, text = http('GET', '/v1/containments', token='')
    c = next((c for c in json.loads(text)['containments'] if c['id'] == contained['id']), {})
    check(c.get('status') == 'released' and 'e2e' in c.get('release_reason', ''),
          'the API shows the containment released with the operator reason: %s' % c.get('status'))
    r = subprocess.run([args.ctl, '--url', URL, 'report', '--since', '10000d'], capture_output=True, text=True)
    print(r.stdout)
    check(r.returncode == 0 and 'Worm.Mydoom.M' in r.stdout and '10.1.23.45' in r.stdout,
          'vtracectl report prints the statistics table')
    direct = r.stdout.split('DIRECT SMTP FROM', 1)[-1].split('\n\n', 1)[0]
    direct_rows = [l.split() for l in direct.splitlines() if l.startswith('10.1.60.6 ')]
    check('direct SMTP bursts (firewall):    1' in r.stdout and
          direct_rows == [['10.1.60.6', '1', '312', '97', '312', direct_rows[0][-1] if direct_rows else '']],
          'vtracectl report counts the direct SMTP burst apart, with its host\'s counts: %s' % direct_rows)
finally:
    for p in reversed(procs):
        stop(p)
    if failures or args.keep:
        print('kept', TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)

print('%d failures' % len(failures))
sys.exit(1 if failures else 0)
