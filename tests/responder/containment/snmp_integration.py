#!/usr/bin/python3
"""Integration test: a real vtrace-responder shutting ports on a real SNMP agent,
snmpsim 0.4.5 (data files sorted by numeric OID,
writable ifAdminStatus through the writecache variation module, one alias per device, SNMPv3
user labuser SHA/AES with the data file name as context).

Checked: discovery (router ARP -> switch Q-BRIDGE FDB with VLANs -> bridge port -> ifIndex ->
ifName) and the right port shut and read back; the incident-to-verified-down latency, on cold
tables (the first incident after a start) and on warm ones (a second host on the same switch
within table_max_age, and with table_refresh); a write
the agent answers but that does not take (custom 'stuck' variation module) reported as failed;
configured uplink, MAC-count uplink, LLDP and CDP neighbour and protected ports refused with no write;
an operator release with vtracectl; the timed re-enable after a restart of the responder;
SNMPv3 authPriv; the static map; the webhook back end through the daemon (port located over
SNMP, written through automation_server.py, verified by its status URL).

usage: snmp_integration.py --responder PATH --ctl PATH   (run by ctest)
"""
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, time
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'support'))
import testkit  # noqa: E402
from testkit import free_port, stop, mac_hex, mac_oid, emit, write_file as write  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--responder', required=True)
ap.add_argument('--ctl', required=True)
ap.add_argument('--keep', action='store_true')
args = ap.parse_args()

if not shutil.which('snmpsimd') or not shutil.which('snmpget'):
    print('SKIP: snmpsim / snmp are not installed (scripts/install-deps)')
    sys.exit(77)

TMP = tempfile.mkdtemp(prefix='vtrace-snmp-it-')
os.chmod(TMP, 0o755)   # snmpsimd runs as nobody when we are root
procs = []
ENV = dict(os.environ, SNMP_PERSISTENT_DIR=TMP + '/persist', SNMPCONFPATH=TMP + '/persist', MIBS='')


check = testkit.Checks()
failures = check.failures


# ---- data files (the lab's generator, extended: VLANs, LLDP, a stuck port) ------------------


IF, IFX = '1.3.6.1.2.1.2.2.1', '1.3.6.1.2.1.31.1.1.1'
RW_INT = 'value=%s,vlist=lt:1:wrongvalue:gt:3:wrongvalue'
# switch: 8 ports; Gi1/0/1 uplink to the router (VLAN 10 and 20); Gi1/0/3 two PCs; Gi1/0/5 a
# protected printer; Gi1/0/6 an access point (LLDP neighbour); Gi1/0/7 answers SETs but never
# changes (stuck); Gi1/0/8 a hub with 5 MACs; Gi1/0/9 a switch seen only by CDP.
FDB = [('3c:ec:ef:00:00:01', 1, 10), ('3c:ec:ef:00:00:01', 1, 20),
       ('00:50:56:aa:00:01', 2, 10), ('00:50:56:aa:00:02', 3, 10), ('00:50:56:aa:00:03', 3, 10),
       ('52:54:00:12:34:56', 4, 10), ('00:1b:21:0a:0b:0c', 5, 20), ('00:1b:21:0a:0b:0d', 6, 10),
       ('00:1b:21:0a:0b:0e', 7, 10), ('00:1b:21:0a:0b:0f', 9, 10)] + \
    [('02:00:00:00:08:%02x' % i, 8, 20) for i in range(5)]
ARP = [('192.168.10.1', '3c:ec:ef:00:00:01'), ('192.168.10.11', '00:50:56:aa:00:01'),
       ('192.168.10.12', '00:50:56:aa:00:02'), ('192.168.10.13', '00:50:56:aa:00:03'),
       ('192.168.10.20', '52:54:00:12:34:56'), ('192.168.10.30', '00:1b:21:0a:0b:0c'),
       ('192.168.10.40', '00:1b:21:0a:0b:0d'), ('192.168.10.50', '00:1b:21:0a:0b:0e'),
       ('192.168.10.60', '02:00:00:00:08:00'), ('192.168.10.70', '00:1b:21:0a:0b:0f'),
       ('192.168.20.10', '00:50:56:cc:00:10'), ('192.168.20.20', '00:50:56:cc:00:20')]

# swv: a switch with one BRIDGE-MIB instance per VLAN (community swv@10, swv@20), each with
# its own bridge-port numbering: VLAN 10 bridge port 1 is ifIndex 3, VLAN 20 bridge port 1 is
# ifIndex 6. The default community has no FDB at all.
def vlan_switch(vlan=None):
    if vlan is None:
        sw = [('1.3.6.1.2.1.1.5.0', '4', 'lab-swv')]
        for i in range(1, 9):
            sw += [('%s.1.%d' % (IF, i), '2', str(i)),
                   ('%s.7.%d' % (IF, i), '2:wcvlan', RW_INT % 1),
                   ('%s.1.%d' % (IFX, i), '4', 'Fa0/%d' % i)]
        return sw
    if_index, mac = {10: (3, '00:50:56:cc:00:10'), 20: (6, '00:50:56:cc:00:20')}[vlan]
    return [('1.3.6.1.2.1.1.5.0', '4', 'lab-swv'),
            ('1.3.6.1.2.1.17.1.4.1.2.1', '2', str(if_index)),
            ('1.3.6.1.2.1.17.4.3.1.2.%s' % mac_oid(mac), '2', '1')]


def switch():
    sw = [('1.3.6.1.2.1.1.1.0', '4', 'LabSim 8-port Gigabit Ethernet Switch, SW 1.0'),
          ('1.3.6.1.2.1.1.5.0', '4', 'lab-sw1'), ('1.3.6.1.2.1.2.1.0', '2', '9')]
    for i in range(1, 10):
        admin = '2:stuck' if i == 7 else '2:writecache'
        sw += [('%s.1.%d' % (IF, i), '2', str(i)),
               ('%s.2.%d' % (IF, i), '4', 'GigabitEthernet1/0/%d' % i),
               ('%s.7.%d' % (IF, i), admin, RW_INT % 1),
               ('%s.1.%d' % (IFX, i), '4', 'Gi1/0/%d' % i),
               ('1.3.6.1.2.1.17.1.4.1.2.%d' % i, '2', str(i))]
    for m, p, vlan in FDB:
        sw += [('1.3.6.1.2.1.17.7.1.2.2.1.2.%d.%s' % (vlan, mac_oid(m)), '2', str(p)),
               ('1.3.6.1.2.1.17.7.1.2.2.1.3.%d.%s' % (vlan, mac_oid(m)), '2', '3')]
    sw += [('1.0.8802.1.1.2.1.4.1.1.9.0.6.1', '4', 'ap-3f-east')]   # lldpRemSysName on port 6
    sw += [('1.3.6.1.4.1.9.9.23.1.2.1.1.6.9.1', '4', 'sw-2f-core')]  # cdpCacheDeviceId, port 9
    return sw


def router():
    rt = [('1.3.6.1.2.1.1.5.0', '4', 'lab-rtr1'), ('%s.1.1' % IF, '2', '1'),
          ('%s.7.1' % IF, '2:wcrouter', RW_INT % 1), ('%s.1.1' % IFX, '4', 'eth0')]
    for ip, m in ARP:
        rt += [('1.3.6.1.2.1.4.22.1.2.1.%s' % ip, '4x', mac_hex(m)),
               ('1.3.6.1.2.1.4.35.1.4.1.1.4.%s' % ip, '4x', mac_hex(m))]
    return rt


STUCK = '''# snmpsim variation module "stuck": answers a SET with success and the value sent, but keeps
# returning value= on every GET: a write that silently does not take.
from snmpsim.mltsplit import split


def init(**context):
    pass


def variate(oid, tag, value, **context):
    if not context['nextFlag'] and not context['exactMatch']:
        return context['origOid'], tag, context['errorStatus']
    if context['setFlag']:
        return oid, tag, context['origValue']
    settings = dict([split(x, '=') for x in split(value, ',')])
    return oid, tag, settings.get('value', '1')


def shutdown(**context):
    pass
'''

for d in ('data', 'variation', 'persist'):
    os.makedirs(os.path.join(TMP, d))
    os.chmod(os.path.join(TMP, d), 0o755)
emit(TMP + '/data/switch.snmprec', switch())
emit(TMP + '/data/router.snmprec', router())
emit(TMP + '/data/swv.snmprec', vlan_switch())
emit(TMP + '/data/swv@10.snmprec', vlan_switch(10))
emit(TMP + '/data/swv@20.snmprec', vlan_switch(20))
with open(TMP + '/variation/stuck.py', 'w') as f:
    f.write(STUCK)
os.chmod(TMP + '/variation/stuck.py', 0o644)

SNMP_PORT = free_port(socket.SOCK_DGRAM)
P = '127.0.0.1:%d' % SNMP_PORT


def vlan_admin(i):
    return snmp('snmpget', '1.3.6.1.2.1.2.2.1.7.%d' % i, community='swv')


def snmp(cmd, *rest, community='switch'):
    r = subprocess.run([cmd, '-v2c', '-c', community, '-t', '1', '-r', '1', '-Oqv', P, *rest],
                       env=ENV, capture_output=True, text=True)
    return r.stdout.strip()


def admin(i):
    return snmp('snmpget', '1.3.6.1.2.1.2.2.1.7.%d' % i)


def start_snmpsim():
    shutil.rmtree(TMP + '/cache', ignore_errors=True)
    return testkit.start_snmpsim(
        TMP, P, lambda: snmp('snmpget', '1.3.6.1.2.1.1.5.0') == '"lab-sw1"', procs,
        ['--variation-module-options=writecache:',
         '--variation-module-options=writecache=wcrouter:',
         '--variation-module-options=writecache=wcvlan:',
         '--v3-user=labuser', '--v3-auth-key=labauthpass', '--v3-auth-proto=SHA',
         '--v3-priv-key=labprivpass', '--v3-priv-proto=AES'])


# ---- the responder ---------------------------------------------------------------------------
API = free_port()
R = testkit.Responder(args.responder, API, procs)
URL = R.url
http, containments, containment_for, settle = R.http, R.containments, R.containment_for, R.settle


write(TMP + '/secrets.yaml', '''snmp_credentials:
  sw-rw: {community: switch}
  swv-rw: {community: swv}
  rtr-ro: {community: router}
  sw-v3: {user: labuser, auth_protocol: SHA, auth_key: labauthpass, priv_protocol: AES, priv_key: labprivpass}
''')


def config(state, version='2c', extra=''):
    cred = 'sw-v3' if version == '3' else 'sw-rw'
    return f"""listen: {{address: 127.0.0.1, port: {API}}}
state_file: {state}
secrets_file: {TMP}/secrets.yaml
smtp: {{host: 127.0.0.1, port: 9}}
containment:
{extra}  protected_hosts: [192.168.10.250]
  uplink_max_macs: 4
  snmp_timeout: 500ms
  breaker: {{max_per_hour: 20, max_per_switch_per_hour: 20}}
  routers:
    - {{name: rtr, address: 127.0.0.1, port: {SNMP_PORT}, credential: rtr-ro}}
  switches:
    - name: sw1
      address: 127.0.0.1
      port: {SNMP_PORT}
      version: "{version}"
      credential: {cred}
      context: switch
      dry_run: false
      uplinks: [Gi1/0/1]
      protected_ports: [Gi1/0/5]
  static_map:
    - {{ip: 10.7.7.7, switch: sw1, port: Gi1/0/2}}
policies:
  - name: contain-short
    match: {{zones: [short]}}
    actions:
      - {{type: disable_port, dry_run: false, duration: 10s}}
  - name: contain
    match: {{zones: [lab]}}
    actions:
      - {{type: disable_port, dry_run: false, duration: 4h}}
"""


def start_responder(cfg, name):
    return R.start(cfg, os.path.join(TMP, name + '.log'))


def incident(id, ip, zone='lab', virus='Worm.Mydoom.M'):
    return testkit.incident(id, ip, zone, virus, at='2026-11-28T05:00:36Z')


def ctl(*a):
    r = subprocess.run([args.ctl, '--url', URL, *a], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


try:
    start_snmpsim()
    check(admin(4) == '1' and admin(7) == '1', 'snmpsim answers: ifAdminStatus.4 and .7 are up(1)')
    state = TMP + '/state.db'
    write(TMP + '/responder.yaml', config(state), 0o644)
    resp = start_responder(TMP + '/responder.yaml', 'responder')

    # 1. discovery: 192.168.10.20 -> 52:54:00:12:34:56 -> VLAN 10 bridge port 4 -> Gi1/0/4
    t0 = time.monotonic()
    status, body = http('POST', '/v1/incidents', incident('i-pc20', '192.168.10.20'))
    c = settle('i-pc20', 'down')
    elapsed = (time.monotonic() - t0) * 1000
    check(status == 201, 'incident accepted (%d)' % status)
    check(c and c['status'] == 'down' and c['switch'] == 'sw1' and c['port'] == 'Gi1/0/4'
          and c['if_index'] == 4 and c['mac'] == '52:54:00:12:34:56',
          'located through ARP + Q-BRIDGE FDB and shut: %s' % str(c and (c['status'], c['port'], c['detail'])))
    check(admin(4) == '2', 'the agent reads ifAdminStatus.4 = down(2)')
    check(admin(3) == '1' and admin(2) == '1', 'no other port was touched')
    print('incident POST -> port verified down: %.1f ms (target <= 100 ms)' % elapsed, flush=True)
    check(elapsed < 1000, 'incident to verified-down in well under a second (%.1f ms)' % elapsed)

    # 1b. warm tables: another host on the same switch, located from the tables walked for the
    # first one (no location cached for it); then released so later sections find it up.
    t0 = time.monotonic()
    http('POST', '/v1/incidents', incident('i-pc13', '192.168.10.13'))
    c = settle('i-pc13', 'down')
    warm = (time.monotonic() - t0) * 1000
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/3' and admin(3) == '2',
          'a second host located on the warm tables and shut: %s' % (c and c['detail']))
    print('incident POST -> port verified down, warm tables: %.1f ms (target <= 100 ms)' % warm,
          flush=True)
    check(warm < 1000, 'warm incident to verified-down in well under a second (%.1f ms)' % warm)
    status, body = http('POST', '/v1/containments/%d/release' % c['id'],
                        json.dumps({'operator': 'test', 'reason': 'latency sample'}))
    check(status == 202, 'the API takes the release request (%d %s)' % (status, body))
    c = settle('i-pc13', 'released')
    check(c and c['status'] == 'released' and admin(3) == '1',
          'the containment worker re-enabled the warm sample (%s)' % (c and c['status']))

    # 2. guards: configured uplink, protected port, LLDP neighbour, hub with many MACs
    for iid, ip, expect in [('i-rtr', '192.168.10.1', 'configured uplink'),
                            ('i-printer', '192.168.10.30', 'is protected'),
                            ('i-ap', '192.168.10.40', 'by LLDP or CDP (ap-3f-east)'),
                            ('i-cdp', '192.168.10.70', '(sw-2f-core via CDP)'),
                            ('i-hub', '192.168.10.60', 'carries 5 MACs'),
                            ('i-unknown', '192.168.10.99', 'no router has 192.168.10.99')]:
        http('POST', '/v1/incidents', incident(iid, ip))
        c = settle(iid)
        check(c and c['status'] in ('refused', 'not_located') and expect in c['detail'],
              '%s refused: %s' % (ip, c and c['detail']))
    check(admin(1) == '1' and admin(5) == '1' and admin(6) == '1' and admin(8) == '1'
          and admin(9) == '1', 'uplink, protected, LLDP, CDP and hub ports are still up')
    http('POST', '/v1/incidents', incident('i-prot', '192.168.10.250'))
    status, body = http('GET', '/v1/incidents/i-prot')
    check('protected host' in body, 'a protected host is refused before any SNMP traffic')

    # 3. a write that silently does not take
    http('POST', '/v1/incidents', incident('i-stuck', '192.168.10.50'))
    c = settle('i-stuck')
    check(c and c['status'] == 'failed' and 'did not take' in c['detail'],
          'a SET answered but not applied is reported failed: %s' % (c and c['detail']))
    check(admin(7) == '1', 'the stuck port still reads up(1)')

    # 4. static map entry, and the operator release through vtracectl
    http('POST', '/v1/incidents', incident('i-static', '10.7.7.7'))
    c = settle('i-static', 'down')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/2', 'static map entry shut Gi1/0/2')
    check(admin(2) == '2', 'ifAdminStatus.2 = down(2)')
    rc, out = ctl('containments')
    check(rc == 0 and 'Gi1/0/2' in out and 'down' in out, 'vtracectl containments lists it')
    rc, out = ctl('release', 'c%d' % c['id'])
    check(rc == 2 and '--reason' in out, 'vtracectl release without --reason is refused')
    rc, out = ctl('release', 'c%d' % c['id'], '--reason', 'reimaged by helpdesk', '--operator', 'alice')
    check(rc == 0 and 'released' in out, 'vtracectl release c%d: %s' % (c['id'], out.strip()))
    check(admin(2) == '1', 'ifAdminStatus.2 is up(1) again')
    c = containment_for('i-static')
    check(c['status'] == 'released' and 'operator=alice' in c['released_by']
          and c['release_reason'] == 'reimaged by helpdesk', 'the release is recorded with who and why')

    # 5. timed re-enable across a restart of the responder
    http('POST', '/v1/incidents', incident('i-short', '192.168.10.11', zone='short'))
    c = settle('i-short', 'down')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/2' and admin(2) == '2',
          'short containment: Gi1/0/2 down for 10s')
    stop(resp)
    resp = start_responder(TMP + '/responder.yaml', 'responder')
    check(containment_for('i-short')['status'] == 'down', 'after a restart the containment is still down')
    c = settle('i-short', 'released', timeout=25)
    check(c and c['status'] == 'released' and c['released_by'] == 'timer',
          'the restarted responder re-enabled it on expiry (%s)' % (c and c['status']))
    check(admin(2) == '1', 'ifAdminStatus.2 is up(1) after the timer')
    check(admin(4) == '2', 'the 4h containment is still down')

    # 6. SNMPv3 authPriv (SHA/AES), context 'switch'
    stop(resp)
    write(TMP + '/responder-v3.yaml', config(TMP + '/state-v3.db', '3'), 0o644)
    resp = start_responder(TMP + '/responder-v3.yaml', 'responder-v3')
    http('POST', '/v1/incidents', incident('i-v3', '192.168.10.12'))
    c = settle('i-v3')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/3',
          'SNMPv3 authPriv: Gi1/0/3 shut and verified (%s)' % (c and c['detail']))
    check(admin(3) == '2', 'ifAdminStatus.3 = down(2) (read over v2c)')
    status, body = http('GET', '/metrics')
    check('vtrace_responder_ports_disabled_total 1' in body, 'metrics count the disabled port')
    stop(resp)

    # 7. the webhook back end through the daemon, with tables kept warm by table_refresh:
    # located over SNMP, written by POSTing to automation_server.py (bearer token checked by
    # it), verified through its status URL; the SNMP port itself is never written.
    hook = subprocess.Popen(['/usr/bin/python3', os.path.join(testkit.SUPPORT_DIR, 'automation_server.py'),
                             '--token', 'it-token-0123456789', '--hmac-key', 'it-hmac-key-0123456789'],
                            stdout=subprocess.PIPE, text=True)
    procs.append(hook)
    hook_base = 'http://127.0.0.1:%d' % int(hook.stdout.readline().split()[1])
    with open(TMP + '/secrets.yaml', 'a') as f:
        f.write('http_credentials:\n  netauto: {token: it-token-0123456789}\n')
    webhook = f"""  table_refresh: 20s
  backend: webhook
  webhook:
    url: {hook_base}/hook/ok/{{{{switch}}}}/{{{{port}}}}/{{{{action}}}}
    body: '{{"switch": {{{{switch}}}}, "port": {{{{port}}}}, "action": {{{{action}}}}, "incident": {{{{incident}}}}}}'
    auth: bearer
    credential: netauto
    timeout: 2s
    verify:
      method: status_url
      url: {hook_base}/status/{{{{switch}}}}/{{{{port}}}}
      field: /port/admin
      attempts: 3
      interval: 50ms
"""
    write(TMP + '/responder-hook.yaml', config(TMP + '/state-hook.db', extra=webhook), 0o644)
    resp = start_responder(TMP + '/responder-hook.yaml', 'responder-hook')
    time.sleep(0.5)   # a running daemon: table_refresh has walked the tables once
    t0 = time.monotonic()
    http('POST', '/v1/incidents', incident('i-hook', '192.168.10.11'))
    c = settle('i-hook')
    hooked = (time.monotonic() - t0) * 1000
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/2' and 'verified' in c['detail'],
          'webhook back end: Gi1/0/2 down, verified by the status URL (%s)' % (c and c['detail']))
    check(admin(2) == '1', 'the webhook back end wrote nothing over SNMP')
    print('incident POST -> port verified down, webhook, warm tables: %.1f ms' % hooked, flush=True)
    with urllib.request.urlopen(hook_base + '/requests', timeout=5) as r:
        seen = json.loads(r.read())
    posts = [x for x in seen if x['method'] == 'POST']
    check(len(posts) == 1 and posts[0]['auth'] == 'bearer-ok'
          and json.loads(posts[0]['body'])['incident'] == 'i-hook',
          'the automation server got one POST with a valid bearer token')
    rc, out = ctl('release', 'c%d' % c['id'], '--reason', 'cleaned', '--operator', 'bob')
    check(rc == 0 and 'released' in out, 'released through the webhook back end: %s' % out.strip())
    stop(resp)

    # 8. per-VLAN BRIDGE-MIB (community@vlan): each VLAN's FDB maps the MAC through that VLAN's
    # own bridge-port numbering.
    write(TMP + '/responder-vlan.yaml', f"""listen: {{address: 127.0.0.1, port: {API}}}
state_file: {TMP}/state-vlan.db
secrets_file: {TMP}/secrets.yaml
smtp: {{host: 127.0.0.1, port: 9}}
containment:
  snmp_timeout: 500ms
  routers:
    - {{name: rtr, address: 127.0.0.1, port: {SNMP_PORT}, credential: rtr-ro}}
  switches:
    - {{name: swv, address: 127.0.0.1, port: {SNMP_PORT}, credential: swv-rw, dry_run: false,
       fdb_vlans: [10, 20]}}
policies:
  - name: contain
    actions:
      - {{type: disable_port, dry_run: false, duration: 4h}}
""", 0o644)
    resp = start_responder(TMP + '/responder-vlan.yaml', 'responder-vlan')
    for iid, ip, port, index in [('i-v10', '192.168.20.10', 'Fa0/3', 3),
                                 ('i-v20', '192.168.20.20', 'Fa0/6', 6)]:
        http('POST', '/v1/incidents', incident(iid, ip))
        c = settle(iid)
        check(c and c['status'] == 'down' and c['port'] == port and vlan_admin(index) == '2',
              'per-VLAN FDB: %s located on %s and shut (%s)' % (ip, port, c and c['detail']))
    check(vlan_admin(1) == '1', 'bridge port 1 was not taken for ifIndex 1')
    stop(resp)
finally:
    for p in procs:
        stop(p)
    if failures or args.keep:
        print('scratch directory kept: ' + TMP)
    else:
        shutil.rmtree(TMP, ignore_errors=True)

print('%d checks, %d failed' % (check.count, len(failures)))
sys.exit(1 if failures else 0)
