#!/usr/bin/python3
"""Integration test: containment at real desks, on a real SNMP agent (snmpsim 0.4.5, set
up as in snmp_integration.py) and a real vtrace-responder.

The simulated switches 'desk' (Q-BRIDGE, LLDP and CDP neighbours) and 'cisco' (as Cisco IOS:
one BRIDGE-MIB instance per VLAN behind community cisco@<vlan>, CDP phones, voice VLANs,
CISCO-VLAN-MEMBERSHIP-MIB vmVlan) are a floor: every writable object goes through the 'floor'
variation module below, which appends each SET to sets.log (so every write is counted at the
switch) and reads each forwarding-table entry it serves from a file the test can rewrite (so a
PC can be moved to another port while everything runs).

Checked: a PC behind an LLDP phone (telephone + bridge) and PCs behind CDP phones are
contained on their desk port, the phone's own MAC never being the target; a phone that sends
mail itself is refused, recognised by its LLDP chassis id, by the MAC a Cisco phone's CDP name
spells, by the address CDP announces, or by its MAC in the port's voice VLAN; a port whose LLDP
neighbour is a bridge is refused; a stale cached location (contained, released, moved,
detected again) shuts the port the PC is on now; a PC moved after its port was shut is
followed to its new port and the first containment is marked escaped (mailed to
escaped_notify); a switch that does not answer makes the location retried, with a message that
says so; quarantine_vlan round trips (dot1qPvid on 'desk', Cisco vmVlan on 'cisco': set, read
back, set back on release); quarantine_vlan through the webhook and AWX back ends of
automation_server.py (action quarantine_vlan / restore_vlan with vlan and previous_vlan, no
SNMP write); and no SET ever reaches a port the test does not name.

usage: desk_integration.py --responder PATH   (run by ctest)
"""
import argparse, json, os, shutil, socket, subprocess, sys, tempfile, time
import urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'support'))
import testkit  # noqa: E402
from testkit import free_port, stop, mac_hex, mac_oid, emit, write_file as write  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--responder', required=True)
ap.add_argument('--keep', action='store_true')
args = ap.parse_args()

if not shutil.which('snmpsimd') or not shutil.which('snmpget'):
    print('SKIP: snmpsim / snmp are not installed (scripts/install-deps)')
    sys.exit(77)

TMP = tempfile.mkdtemp(prefix='vtrace-desk-it-')
os.chmod(TMP, 0o755)   # snmpsimd runs as nobody when we are root
STATE = TMP + '/floor'
procs = []
ENV = dict(os.environ, SNMP_PERSISTENT_DIR=TMP + '/persist', SNMPCONFPATH=TMP + '/persist', MIBS='')


check = testkit.Checks()
failures = check.failures


def mac_bytes(m): return mac_hex(m)


FLOOR = '''# snmpsim variation module "floor": a value kept in a file per key under STATE. A SET
# writes the file and appends "key value" to STATE/sets.log; a GET reads the file (value= when
# there is none), so the test moves a MAC by writing its forwarding-table entry's file.
import os
from snmpsim.mltsplit import split

STATE = %r


def init(**context):
    pass


def variate(oid, tag, value, **context):
    if not context['nextFlag'] and not context['exactMatch']:
        return context['origOid'], tag, context['errorStatus']
    settings = dict([split(x, '=') for x in split(value, ',')])
    path = os.path.join(STATE, settings['key'])
    if context['setFlag']:
        written = int(context['origValue'])
        with open(os.path.join(STATE, 'sets.log'), 'a') as f:
            f.write('%%s %%d\\n' %% (settings['key'], written))
        with open(path, 'w') as f:
            f.write(str(written))
        return oid, tag, context['origValue']
    try:
        with open(path) as f:
            return oid, tag, f.read().strip()
    except OSError:
        return oid, tag, settings.get('value', '1')


def shutdown(**context):
    pass
''' % STATE

IF, IFX = '1.3.6.1.2.1.2.2.1', '1.3.6.1.2.1.31.1.1.1'
LLDP_REM = '1.0.8802.1.1.2.1.4.1.1'
CDP_CACHE = '1.3.6.1.4.1.9.9.23.1.2.1.1'
ROUTER_MAC = '3c:ec:ef:00:00:01'
# name: (ip, mac, VLAN, port); a port of 0 is a MAC not (yet) learned anywhere.
HOSTS = {
    'router': ('192.168.10.1', ROUTER_MAC, 10, 1),
    'pc-lldp': ('192.168.10.21', '00:50:56:aa:00:21', 10, 2),
    'phone-lldp': ('192.168.20.21', '00:1e:13:00:00:21', 20, 2),
    'pc-cdp': ('192.168.10.31', '00:50:56:aa:00:31', 10, 3),
    'phone-cdp': ('192.168.20.31', '00:1e:13:00:00:31', 20, 3),
    'pc-bridge': ('192.168.10.41', '00:50:56:aa:00:41', 10, 4),
    'pc-moves': ('192.168.10.51', '00:50:56:aa:00:51', 10, 5),
    'pc-stale': ('192.168.10.71', '00:50:56:aa:00:71', 10, 7),
    'pc-quarantine': ('192.168.10.91', '00:50:56:aa:00:91', 10, 9),
}
MOVABLE = ('pc-moves', 'pc-stale')
# The Cisco switch: name: (ip, mac, VLAN, ifIndex). Gi2/0/1 a Cisco phone (CDP name SEP + its
# MAC, voice VLAN 20); Gi2/0/2 a phone by CDP that names itself otherwise but announces its
# address; Gi2/0/3 one that announces neither, on a port whose voice VLAN is 20. A PC behind
# each, on data VLAN 10.
CISCO = {
    'pc-cisco': ('192.168.10.81', '00:50:56:aa:00:81', 10, 1),
    'phone-sep': ('192.168.20.41', '00:1e:13:00:00:41', 20, 1),
    'pc-addr': ('192.168.10.82', '00:50:56:aa:00:82', 10, 2),
    'phone-addr': ('192.168.20.42', '00:1e:13:00:00:42', 20, 2),
    'pc-voice': ('192.168.10.83', '00:50:56:aa:00:83', 10, 3),
    'phone-voice': ('192.168.20.43', '00:1e:13:00:00:43', 20, 3),
}
VMVLAN = '1.3.6.1.4.1.9.9.68.1.2.2.1'


def switch():
    sw = [('1.3.6.1.2.1.1.5.0', '4', 'lab-desk'), ('1.3.6.1.2.1.2.1.0', '2', '9')]
    for i in range(1, 10):
        sw += [('%s.1.%d' % (IF, i), '2', str(i)),
               ('%s.7.%d' % (IF, i), '2:floor', 'key=admin.%d,value=1' % i),
               ('1.3.6.1.2.1.17.7.1.4.5.1.1.%d' % i, '2:floor', 'key=pvid.%d,value=10' % i),
               ('%s.1.%d' % (IFX, i), '4', 'Gi1/0/%d' % i),
               ('1.3.6.1.2.1.17.1.4.1.2.%d' % i, '2', str(i))]
    for name, (_, mac, vlan, port) in HOSTS.items():
        oid = '1.3.6.1.2.1.17.7.1.2.2.1.2.%d.%s' % (vlan, mac_oid(mac))
        if name in MOVABLE:
            sw.append((oid, '2:floor', 'key=fdb.%s,value=%d' % (name, port)))
        else:
            sw.append((oid, '2', str(port)))
    # Gi1/0/2: an IP phone announcing telephone + bridge (0x24) by LLDP, chassis id its MAC.
    sw += [('%s.4.0.2.1' % LLDP_REM, '2', '4'),
           ('%s.5.0.2.1' % LLDP_REM, '4x', mac_bytes(HOSTS['phone-lldp'][1])),
           ('%s.9.0.2.1' % LLDP_REM, '4', 'SEP001E13000021'),
           ('%s.12.0.2.1' % LLDP_REM, '4x', '24')]
    # Gi1/0/3: a Cisco phone by CDP: host, phone, two-port MAC relay (0x490).
    sw += [('%s.6.3.1' % CDP_CACHE, '4', 'SEP001E13000031'),
           ('%s.9.3.1' % CDP_CACHE, '4x', '00000490')]
    # Gi1/0/4: a bridge by LLDP (a desk switch someone plugged in, or a real uplink).
    sw += [('%s.9.0.4.1' % LLDP_REM, '4', 'sw-3f-b'),
           ('%s.12.0.4.1' % LLDP_REM, '4x', '20')]
    return sw


def cisco(vlan=None):
    """The default instance (community cisco), or one VLAN's BRIDGE-MIB (cisco@<vlan>), whose
    bridge ports are numbered from vlan + 1 so no instance's numbering fits another's."""
    sw = [('1.3.6.1.2.1.1.5.0', '4', 'lab-cisco')]
    if vlan is not None:
        for i in range(1, 5):
            sw.append(('1.3.6.1.2.1.17.1.4.1.2.%d' % (vlan + i), '2', str(i)))
        for ip, mac, v, port in CISCO.values():
            if v == vlan:
                sw.append(('1.3.6.1.2.1.17.4.3.1.2.%s' % mac_oid(mac), '2', str(vlan + port)))
        return sw
    for i in range(1, 5):
        sw += [('%s.1.%d' % (IF, i), '2', str(i)),
               ('%s.7.%d' % (IF, i), '2:floor', 'key=cadmin.%d,value=1' % i),
               ('%s.1.%d' % (IFX, i), '4', 'Gi2/0/%d' % i),
               ('%s.1.%d' % (VMVLAN, i), '2', '1'),   # vmVlanType static(1)
               ('%s.2.%d' % (VMVLAN, i), '2:floor', 'key=vmvlan.%d,value=10' % i)]
    sw += [('1.3.6.1.4.1.9.9.68.1.5.1.1.1.1', '2', '20'),   # vmVoiceVlanId
           ('1.3.6.1.4.1.9.9.68.1.5.1.1.1.3', '2', '20')]
    sw += [('%s.6.1.1' % CDP_CACHE, '4', 'SEP001E13000041'),
           ('%s.9.1.1' % CDP_CACHE, '4x', '00000490'),
           ('%s.3.2.1' % CDP_CACHE, '2', '1'),            # cdpCacheAddressType ip(1)
           ('%s.4.2.1' % CDP_CACHE, '4x', 'c0a8142a'),     # 192.168.20.42
           ('%s.6.2.1' % CDP_CACHE, '4', 'ip-phone-3f-02'),
           ('%s.9.2.1' % CDP_CACHE, '4x', '00000480'),
           ('%s.6.3.1' % CDP_CACHE, '4', 'ip-phone-3f-03'),
           ('%s.9.3.1' % CDP_CACHE, '4x', '00000480')]
    return sw


def router():
    rt = [('1.3.6.1.2.1.1.5.0', '4', 'lab-rtr1')]
    for ip, mac, _, _ in list(HOSTS.values()) + list(CISCO.values()):
        rt.append(('1.3.6.1.2.1.4.35.1.4.1.1.4.%s' % ip, '4x', mac_hex(mac)))
    return rt


for d in ('data', 'variation', 'persist', 'floor'):
    os.makedirs(os.path.join(TMP, d))
    os.chmod(os.path.join(TMP, d), 0o755)
os.chmod(STATE, 0o777)   # the agent (nobody when we are root) writes the floor state
emit(TMP + '/data/desk.snmprec', switch())
emit(TMP + '/data/router.snmprec', router())
emit(TMP + '/data/cisco.snmprec', cisco())
for vlan in (10, 20):
    emit(TMP + '/data/cisco@%d.snmprec' % vlan, cisco(vlan))
with open(TMP + '/variation/floor.py', 'w') as f:
    f.write(FLOOR)
os.chmod(TMP + '/variation/floor.py', 0o644)

SNMP_PORT = free_port(socket.SOCK_DGRAM)
P = '127.0.0.1:%d' % SNMP_PORT


def snmp(cmd, *rest, community='desk'):
    r = subprocess.run([cmd, '-v2c', '-c', community, '-t', '1', '-r', '1', '-Oqv', P, *rest],
                       env=ENV, capture_output=True, text=True)
    return r.stdout.strip()


def admin(i):
    return snmp('snmpget', '1.3.6.1.2.1.2.2.1.7.%d' % i)


def all_sets():
    """Every SET either switch answered, as (object, port, value), in order: admin and pvid
    on 'desk', cadmin (ifAdminStatus) and vmvlan on 'cisco'."""
    try:
        with open(STATE + '/sets.log') as f:
            rows = [line.split() for line in f if line.strip()]
    except OSError:
        return []
    return [(key.split('.')[0], int(key.split('.')[1]), int(value)) for key, value in rows]


def sets(kind='admin'):
    """Every SET of one object ('admin': the desk's ifAdminStatus), as (port, value)."""
    return [(port, value) for k, port, value in all_sets() if k == kind]


def move(name, port):
    path = '%s/fdb.%s' % (STATE, name)
    with open(path + '.tmp', 'w') as f:
        f.write(str(port))
    os.replace(path + '.tmp', path)


def start_snmpsim():
    return testkit.start_snmpsim(
        TMP, P, lambda: snmp('snmpget', '1.3.6.1.2.1.1.5.0') == '"lab-desk"', procs)


API = free_port()
R = testkit.Responder(args.responder, API, procs)
http, containments, containment_for, settle = R.http, R.containments, R.containment_for, R.settle


write(TMP + '/secrets.yaml', '''snmp_credentials:
  desk-rw: {community: desk}
  cisco-rw: {community: cisco}
  rtr-ro: {community: router}
http_credentials:
  netauto: {token: desk-it-token-0123456789}
''')
SHUT = '{type: disable_port, dry_run: false, duration: 4h}'
QUARANTINE = '{type: quarantine_vlan, vlan: 999, dry_run: false, duration: 4h}'


def config(state, action=SHUT, extra_switch='', backends=('snmp', 'snmp'), automation=''):
    return f"""listen: {{address: 127.0.0.1, port: {API}}}
state_file: {TMP}/{state}
secrets_file: {TMP}/secrets.yaml
smtp: {{host: 127.0.0.1, port: 9}}
containment:
  uplink_max_macs: 4
  snmp_timeout: 500ms
  breaker: {{max_per_hour: 20, max_per_switch_per_hour: 20, notify: [noc@example.ac.jp]}}
  escaped_notify: [helpdesk@example.ac.jp]
  routers:
    - {{name: rtr, address: 127.0.0.1, port: {SNMP_PORT}, credential: rtr-ro}}
  switches:
    - {{name: desk, address: 127.0.0.1, port: {SNMP_PORT}, credential: desk-rw, dry_run: false,
       uplinks: [Gi1/0/1], backend: {backends[0]}}}
    - {{name: cisco, address: 127.0.0.1, port: {SNMP_PORT}, credential: cisco-rw, dry_run: false,
       fdb_vlans: [10, 20], vlan_mib: cisco, backend: {backends[1]}}}
{extra_switch}{automation}policies:
  - name: contain
    actions:
      - {action}
"""


write(TMP + '/responder.yaml', config('state.db'), 0o644)


def start_responder():
    return R.start(TMP + '/responder.yaml', TMP + '/responder.log')


def incident(id, name):
    return testkit.incident(id, (HOSTS.get(name) or CISCO[name])[0])


def cisco_get(oid):
    return snmp('snmpget', oid, community='cisco')


def contain(iid, name):
    status, _ = http('POST', '/v1/incidents', incident(iid, name))
    check(status == 201, '%s accepted (%d)' % (iid, status))
    return settle(iid)


try:
    start_snmpsim()
    check(admin(2) == '1' and sets() == [], 'snmpsim answers; no SET yet')
    resp = start_responder()

    # 1. A PC behind an LLDP phone that announces telephone + bridge: a desk port.
    c = contain('i-lldp-phone', 'pc-lldp')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/2'
          and c['mac'] == HOSTS['pc-lldp'][1],
          'PC behind an LLDP phone contained on Gi1/0/2: %s' % str(c and (c['status'], c['detail'])))
    check(admin(2) == '2', 'the agent reads Gi1/0/2 down(2)')

    # 2. A PC behind a CDP phone.
    c = contain('i-cdp-phone', 'pc-cdp')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/3'
          and c['mac'] == HOSTS['pc-cdp'][1],
          'PC behind a CDP phone contained on Gi1/0/3: %s' % str(c and (c['status'], c['detail'])))

    # 3. The phone's own address: its MAC is never the target.
    c = contain('i-phone-itself', 'phone-lldp')
    check(c and c['status'] == 'refused' and 'is the phone announced there' in c['detail'],
          'the LLDP phone itself is never shut: %s' % str(c and (c['status'], c['detail'])))

    # 3b. Phones that send mail themselves, by CDP (which carries no MAC): a Cisco phone whose
    # CDP name spells its MAC, on 'desk' and on 'cisco'; one whose CDP address is the origin;
    # one whose MAC the 'cisco' switch learned in the port's voice VLAN. Their ports stay up
    # for the PCs behind them, and those PCs are contained there.
    for iid, name, port, why in [
            ('i-phone-cdp', 'phone-cdp', 'Gi1/0/3', 'the MAC 00:1e:13:00:00:31 on desk Gi1/0/3 '
             'is the phone announced there (SEP001E13000031 via CDP: host, phone)'),
            ('i-phone-sep', 'phone-sep', 'Gi2/0/1', 'the MAC 00:1e:13:00:00:41 on cisco Gi2/0/1 '
             'is the phone announced there (SEP001E13000041 via CDP'),
            ('i-phone-addr', 'phone-addr', 'Gi2/0/2', '192.168.20.42 (MAC 00:1e:13:00:00:42) on '
             'cisco Gi2/0/2 is the address the phone announces there by CDP (ip-phone-3f-02'),
            ('i-phone-voice', 'phone-voice', 'Gi2/0/3', 'the MAC 00:1e:13:00:00:43 on cisco '
             'Gi2/0/3 was learned in VLAN 20, the port\'s voice VLAN: most likely the phone '
             'announced there (ip-phone-3f-03')]:
        c = contain(iid, name)
        check(c and c['status'] == 'refused' and c['port'] == port
              and c['detail'].startswith(why)
              and 'the PC behind the phone needs the port' in c['detail'],
              'a phone sending mail itself (%s) is not shut: %s' % (name, c and c['detail']))
    check(cisco_get('1.3.6.1.2.1.2.2.1.7.1') == '1' and cisco_get('1.3.6.1.2.1.2.2.1.7.2') == '1'
          and cisco_get('1.3.6.1.2.1.2.2.1.7.3') == '1', 'the phones\' ports on cisco are up')
    for iid, name, port, index in [('i-pc-addr', 'pc-addr', 'Gi2/0/2', 2),
                                   ('i-pc-voice', 'pc-voice', 'Gi2/0/3', 3)]:
        c = contain(iid, name)
        check(c and c['status'] == 'down' and c['switch'] == 'cisco' and c['port'] == port
              and cisco_get('1.3.6.1.2.1.2.2.1.7.%d' % index) == '2',
              'the PC behind the CDP phone on %s is contained, located through the per-VLAN '
              'BRIDGE-MIB: %s' % (port, c and c['detail']))

    # 4. A PC on a port whose LLDP neighbour is a bridge: refused, nothing written.
    c = contain('i-bridge', 'pc-bridge')
    check(c and c['status'] == 'refused' and 'sw-3f-b: bridge' in c['detail']
          and 'treated as an uplink' in c['detail'],
          'a port with an LLDP bridge neighbour is refused: %s' % (c and c['detail']))
    check(admin(4) == '1', 'Gi1/0/4 is still up')

    # 5. A stale cached location: contained on Gi1/0/7, released, the PC moves to Gi1/0/8 and
    # is detected again within location_max_age and table_max_age: Gi1/0/8 is shut, not 7.
    c = contain('i-stale-1', 'pc-stale')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/7', 'pc-stale contained on Gi1/0/7')
    status, body = http('POST', '/v1/containments/%d/release' % c['id'],
                        json.dumps({'operator': 'test', 'reason': 'cleaned'}))
    c = settle('i-stale-1', 'released')
    check(c and c['status'] == 'released' and admin(7) == '1', 'released: Gi1/0/7 up again')
    move('pc-stale', 8)
    c = contain('i-stale-2', 'pc-stale')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/8' and admin(8) == '2'
          and admin(7) == '1',
          'the stale location is not trusted: Gi1/0/8 shut, Gi1/0/7 left up: %s'
          % str(c and (c['port'], c['detail'])))

    # 6. A PC that moves after its port was shut: contained on Gi1/0/5, plugged into Gi1/0/6,
    # detected again (dated after the verified shutdown): Gi1/0/6 is contained too and the
    # first containment says `escaped`; Gi1/0/5 is not written again.
    first = contain('i-moved-1', 'pc-moves')
    check(first and first['status'] == 'down' and first['port'] == 'Gi1/0/5',
          'pc-moves contained on Gi1/0/5')
    time.sleep(1.1)   # incident times have whole seconds: the next one is dated after
    move('pc-moves', 6)
    c = contain('i-moved-2', 'pc-moves')
    check(c and c['status'] == 'down' and c['port'] == 'Gi1/0/6' and c['follows'] == first['id'],
          'the moved PC is followed and contained on Gi1/0/6: %s' % str(c and (c['port'], c['detail'])))
    first = containment_for('i-moved-1')
    check(first['status'] == 'escaped' and 'is now on desk Gi1/0/6' in first['detail'],
          'the first containment is marked escaped: %s' % first['detail'])
    check(admin(5) == '2' and admin(6) == '2', 'Gi1/0/5 stays down, Gi1/0/6 is down')
    status, body = http('GET', '/v1/outbox')
    escaped = [m for m in json.loads(body)['mails'] if m['kind'] == 'containment_escaped']
    check(len(escaped) == 1 and escaped[0]['to'] == ['helpdesk@example.ac.jp'],
          'a mail to escaped_notify (not the breaker\'s list) is queued: %s'
          % [m['to'] for m in escaped])
    status, body = http('GET', '/metrics')
    check('vtrace_responder_containments_escaped_total 1' in body, 'metrics count the escape')

    check(all_sets() == [('admin', 2, 2), ('admin', 3, 2), ('cadmin', 2, 2), ('cadmin', 3, 2),
                         ('admin', 7, 2), ('admin', 7, 1), ('admin', 8, 2), ('admin', 5, 2),
                         ('admin', 6, 2)],
          'the switches saw exactly the SETs named here, none to another port: %s' % all_sets())
    stop(resp)

    writes = all_sets()

    # 7. A second access switch that does not answer (nothing listens at its port): the
    # location is not guessed from the switches that answer; it is retried and says so.
    write(TMP + '/responder.yaml', config(
        'state-silent.db', extra_switch='    - {name: sw-3f-a, address: 127.0.0.1, port: %d, '
        'credential: desk-rw, dry_run: false}\n' % free_port(socket.SOCK_DGRAM)), 0o644)
    resp = start_responder()
    c = contain('i-silent', 'pc-bridge')
    check(c and c['status'] == 'retrying' and 'switch sw-3f-a did not answer' in c['detail']
          and 'trying again in 30 s (attempt 1)' in c['detail'],
          'a silent switch: retrying, and the message says it did not answer: %s'
          % (c and c['detail']))
    check(all_sets() == writes, 'nothing written while a switch is silent')
    stop(resp)

    # 8. The quarantine VLAN: the desk port's dot1qPvid (Q-BRIDGE) and the Cisco port's vmVlan
    # set to 999 and read back, the ports left up, then set back to the VLAN they had.
    write(TMP + '/responder.yaml', config('state-quarantine.db', QUARANTINE), 0o644)
    resp = start_responder()
    c = contain('i-quarantine', 'pc-quarantine')
    check(c and c['status'] == 'down' and c['action'] == 'quarantine_vlan'
          and c['previous_vlan'] == 10 and 'is in VLAN 999 (was 10), verified' in c['detail'],
          'quarantine VLAN: Gi1/0/9 moved to VLAN 999, verified: %s' % (c and c['detail']))
    pvid9 = snmp('snmpget', '1.3.6.1.2.1.17.7.1.4.5.1.1.9')
    check(pvid9 == '999' and admin(9) == '1', 'the agent reads PVID 999 on port 9, still up')
    q = contain('i-quarantine-cisco', 'pc-cisco')
    check(q and q['status'] == 'down' and q['switch'] == 'cisco' and q['port'] == 'Gi2/0/1'
          and q['previous_vlan'] == 10
          and q['detail'] == 'cisco Gi2/0/1 (ifIndex 1) is in VLAN 999 (was 10), verified',
          'quarantine VLAN on Cisco: vmVlan of Gi2/0/1 moved to 999, verified: %s'
          % (q and q['detail']))
    check(cisco_get(VMVLAN + '.2.1') == '999' and cisco_get('1.3.6.1.2.1.2.2.1.7.1') == '1',
          'the agent reads vmVlan.1 = 999 and Gi2/0/1 still up (the phone on it keeps working)')
    R.release(c['id'])
    R.release(q['id'])
    c = settle('i-quarantine', 'released')
    q = settle('i-quarantine-cisco', 'released')
    check(c and c['status'] == 'released'
          and snmp('snmpget', '1.3.6.1.2.1.17.7.1.4.5.1.1.9') == '10',
          'released: port 9 back in VLAN 10')
    check(q and q['status'] == 'released' and cisco_get(VMVLAN + '.2.1') == '10',
          'released: Gi2/0/1 back in VLAN 10 (vmVlan.1)')
    check(all_sets()[len(writes):] == [('pvid', 9, 999), ('vmvlan', 1, 999), ('pvid', 9, 10),
                                       ('vmvlan', 1, 10)],
          'VLAN writes only to the two ports, no ifAdminStatus write: %s' % all_sets()[len(writes):])
    stop(resp)
    writes = all_sets()

    # 9. The quarantine VLAN through automation (automation_server.py, the server the HTTP
    # back-end tests use): 'desk' through the webhook, verified by its status URL's VLAN;
    # 'cisco' through AWX job template 7. The VLAN to go back to is read over SNMP first.
    hook = subprocess.Popen(['/usr/bin/python3', os.path.join(testkit.SUPPORT_DIR, 'automation_server.py'),
                             '--token', 'desk-it-token-0123456789', '--hmac-key', 'unused-key'],
                            stdout=subprocess.PIPE, text=True)
    procs.append(hook)
    base = 'http://127.0.0.1:%d' % int(hook.stdout.readline().split()[1])
    automation = f"""  webhook:
    url: {base}/hook/ok/{{{{switch}}}}/{{{{port}}}}/{{{{action}}}}
    body: '{{"switch": {{{{switch}}}}, "port": {{{{port}}}}, "action": {{{{action}}}}, "vlan": {{{{vlan}}}}, "previous_vlan": {{{{previous_vlan}}}}}}'
    auth: bearer
    credential: netauto
    timeout: 2s
    verify: {{method: status_url, url: "{base}/status/{{{{switch}}}}/{{{{port}}}}", vlan_field: /port/vlan, attempts: 3, interval: 50ms}}
  awx:
    url: {base}
    job_template: 7
    credential: netauto
    poll_interval: 50ms
    job_timeout: 10s
    verify: {{method: job}}
"""
    write(TMP + '/responder.yaml', config('state-automation.db', QUARANTINE,
                                          backends=('webhook', 'awx'), automation=automation),
          0o644)
    resp = start_responder()
    c = contain('i-hook-vlan', 'pc-quarantine')
    check(c and c['status'] == 'down' and c['previous_vlan'] == 10
          and c['detail'].startswith('desk Gi1/0/9 is in VLAN 999 (was 10), verified: '),
          'webhook quarantine_vlan: Gi1/0/9 in VLAN 999, verified by the status URL: %s'
          % (c and c['detail']))
    q = contain('i-awx-vlan', 'pc-cisco')
    check(q and q['status'] == 'down' and q['previous_vlan'] == 10
          and q['detail'].startswith('cisco Gi2/0/1 is in VLAN 999 (was 10), verified by the job'),
          'AWX quarantine_vlan: Gi2/0/1 in VLAN 999: %s' % (q and q['detail']))
    R.release(c['id'])
    R.release(q['id'])
    c = settle('i-hook-vlan', 'released')
    q = settle('i-awx-vlan', 'released', timeout=20)
    check(c and c['status'] == 'released' and q and q['status'] == 'released',
          'both released through automation: %s / %s' % (c and c['detail'], q and q['detail']))
    with urllib.request.urlopen(base + '/requests', timeout=5) as r:
        seen = [x for x in json.loads(r.read()) if x['method'] == 'POST']
    hooks = [(x['path'], json.loads(x['body'])) for x in seen if x['path'].startswith('/hook/')]
    check([(p, b['action'], b['vlan'], b['previous_vlan']) for p, b in hooks] ==
          [('/hook/ok/desk/Gi1%2F0%2F9/quarantine_vlan', 'quarantine_vlan', 999, 10),
           ('/hook/ok/desk/Gi1%2F0%2F9/restore_vlan', 'restore_vlan', 10, 999)],
          'the webhook was asked to quarantine Gi1/0/9 and to restore VLAN 10: %s' % hooks)
    launches = [json.loads(x['body'])['extra_vars'] for x in seen if x['path'].endswith('/launch/')]
    check([(v['switch'], v['port'], v['action'], v['vlan'], v['previous_vlan'])
           for v in launches] == [('cisco', 'Gi2/0/1', 'quarantine_vlan', 999, 10),
                                  ('cisco', 'Gi2/0/1', 'restore_vlan', 10, 999)],
          'AWX job template 7 was launched to quarantine Gi2/0/1 and to restore VLAN 10: %s'
          % launches)
    check(all(x['auth'] == 'bearer-ok' for x in seen), 'every automation request had the token')
    check(all_sets() == writes, 'no SNMP write through the automation back ends: %s'
          % all_sets()[len(writes):])
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
