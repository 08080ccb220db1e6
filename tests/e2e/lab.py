#!/usr/bin/python3
"""End-to-end lab: real Postfix relay -> Postfix gateway + clamav-milter (or, with
--gateway amavis, amavisd-new as an after-queue content_filter with clamd) in network
namespaces, their logs fed over TCP to a private collector rsyslogd running the shipped
60-vtrace.conf (or, with --collector syslog-ng, a private syslog-ng 3.38 running the shipped
syslog-ng/vtrace.conf) with vtrace-correlator, incidents to vtrace-responder, which mails the admins
(aiosmtpd sink, Maildir) and shuts the infected PC's port on an snmpsim switch. A "port mirror"
applies the simulated ifAdminStatus to the lab's real veth bridge port, so containment really
cuts the PC off. Postfix runs as private instances (own config and queue directories per
namespace), and clamd detects a custom offline EICAR-like signature, so nothing is downloaded.

Network (all inside namespaces vte-*, 10.99.0.0/16 only; the root namespace is not touched):
  vte-pc    10.99.1.10  infected PC  ─┐
  vte-pc2   10.99.1.11  clean PC     ─┼ br-lan  10.99.1.1 ┐
  vte-relay 10.99.1.2   Postfix relay─┘                   ├ vte-sw (router, ip_forward)
  vte-gw    10.99.2.1   Postfix gw + clamd + clamav-milter|amavisd ─ br-dmz 10.99.2.254
            10.99.3.1 ── vte-ext 10.99.3.10 (outside sender + smtp-sink "internet")
  vte-mgmt  10.99.0.10  ─ br-mgmt 10.99.0.1: collector rsyslogd + correlator, responder,
                          snmpsim (127.0.0.1:1161), admin SMTP sink (127.0.0.1:2525)
Switch ports (snmpsim, mirrored to veths in vte-sw): 1 uplink (router), 2 relay, 3 PC, 4 PC2.
--scenario direct adds the router's border: vte-sw wan0 10.99.5.254 ── vte-mx 10.99.5.1-.10
(ten outside MX addresses, smtp-sink on :25) and .100 (a mail provider's submission port 587),
an nftables forward chain on vte-sw that logs (`log prefix`) and drops SMTP from the LAN to the
outside and logs and accepts submission, and a router rsyslogd (imkmsg) in vte-sw that ships
those kernel lines to the collector as the firewall fw1 (10.99.0.1).

usage: scripts/e2e [--gateway clamav-milter|amavis] [--mode quarantine|reject] [--virus N]
                   [--interval S] [--digest-window D] [--keep] [--build DIR]
                   [--correlator PATH] [--responder PATH] [--scenario standard|dense|direct]
                   [--log-infected full|basic] [--feed tcp|relp] [--collector-outage S]
                   [--collector rsyslog|syslog-ng]
Exit: 0 pass, 1 fail, 77 skip (not root, or packages missing: scripts/install-deps).
"""
import argparse, glob, json, mailbox, os, re, shutil, signal, subprocess, sys, tempfile, time
import urllib.request

sys.dont_write_bytecode = True      # importing tests/integration/harness.py: no __pycache__
E2E = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(E2E))
sys.path.insert(0, os.path.join(SRC, 'tests', 'integration'))


def duration_s(d):
    """'5s', '500ms', '1m' (the YAML durations used here) in seconds."""
    m = re.fullmatch(r'(\d+)(ms|s|m)', d.strip())
    if not m:
        raise argparse.ArgumentTypeError('not a duration (N[ms|s|m]): %r' % d)
    return int(m.group(1)) * {'ms': 0.001, 's': 1, 'm': 60}[m.group(2)]


def duration_arg(d):
    duration_s(d)
    return d


ap = argparse.ArgumentParser()
ap.add_argument('--virus', type=int, default=20, help='worm mails from the infected PC')
ap.add_argument('--interval', type=float, default=0.25, help='seconds between worm mails')
ap.add_argument('--clock-skew', default='1s',
                help="the correlator's correlation.clock_skew: every incident is held this long "
                     "after its detection (product default 5s)")
ap.add_argument('--gateway', choices=('clamav-milter', 'amavis'), default='clamav-milter',
                help='the gateway\'s virus scanner: clamav-milter (smtpd_milters) or amavisd-new '
                     '(content_filter smtp-amavis:[127.0.0.1]:10024, reinjection on :10025, '
                     'clamd as its AV backend, $final_virus_destiny D_DISCARD + quarantine)')
ap.add_argument('--mode', choices=('quarantine', 'reject'), default='quarantine',
                help='clamav-milter OnInfected: Quarantine (gateway holds it) or Reject (550 at '
                     'end of DATA; the relay bounces to the forged sender: backscatter)')
ap.add_argument('--digest-window', default='5s', type=duration_arg,
                help="the responder's mail digest_window: the first incident per origin is mailed "
                     "at once, the rest of the burst in one digest when the window ends")
ap.add_argument('--keep', action='store_true', help='keep the scratch directory (logs)')
ap.add_argument('--build', default=os.environ.get('VTRACE_E2E_BUILD_DIR'),
                help='build directory holding module/vtrace-correlator and '
                     'responder/vtrace-responder (default: build/, then /usr/bin)')
ap.add_argument('--correlator', default=os.environ.get('VTRACE_CORRELATOR'))
ap.add_argument('--responder', default=os.environ.get('VTRACE_RESPONDER'))
ap.add_argument('--down-only', action='store_true', help='only tear down leftovers, then exit')
ap.add_argument('--log-infected', choices=('full', 'basic'), default='full',
                help='clamav-milter LogInfected: Full (queue id, subject, message-id) or Basic '
                     '("Message from <S> to <R> infected by V": no ids; LogClean Full is then on, '
                     'so the gateway names the messages it passed clean)')
ap.add_argument('--scenario', choices=('standard', 'dense', 'direct'), default='standard',
                help='standard: one worm per infected PC, clean mail, an outside virus mail; '
                     'dense: two infected PCs and a clean PC send the same forged envelope within '
                     'the same seconds; direct: a worm with its own SMTP engine sends straight '
                     'to outside MX hosts, the router\'s nftables rule logs and drops it '
                     '(see tests/e2e/README.md)')
ap.add_argument('--feed', choices=('tcp', 'relp'), default='tcp',
                help="the shipped snippet's feed the mail hosts' forwarders use: tcp (imtcp) or "
                     "relp (imrelp: nothing lost when the collector stops)")
ap.add_argument('--collector-outage', type=float, default=0.0, metavar='S',
                help='stop the collector\'s rsyslogd for S seconds mid-outbreak, then restart it '
                     '(the forwarders queue and flush); then compare live incidents with a replay '
                     'of the collected lines')
ap.add_argument('--collector', choices=('rsyslog', 'syslog-ng'), default='rsyslog',
                help='the collector in vte-mgmt: a private rsyslogd with the shipped '
                     '60-vtrace.conf, or a private syslog-ng 3.38 with the shipped '
                     'syslog-ng/vtrace.conf (its tcp feed; scripts/install-deps unpacks it)')
args = ap.parse_args()
if args.gateway == 'amavis' and args.mode == 'reject':
    ap.error('--mode reject is clamav-milter\'s OnInfected Reject; the amavis gateway is an '
             'after-queue content_filter that accepts, then discards and quarantines')
AMAVIS = args.gateway == 'amavis'
DENSE = args.scenario == 'dense'
if (DENSE or args.log_infected == 'basic') and (AMAVIS or args.mode != 'quarantine'):
    ap.error('--scenario dense and --log-infected basic need clamav-milter in quarantine mode '
             '(in reject mode postfix\'s milter-reject line names the queue id anyway)')
if args.collector_outage and not DENSE:
    ap.error('--collector-outage is part of --scenario dense')
SYSLOG_NG = args.collector == 'syslog-ng'
DIRECT = args.scenario == 'direct'
if DIRECT and (SYSLOG_NG or args.feed != 'tcp' or AMAVIS or args.mode != 'quarantine'
               or args.log_infected != 'full'):
    ap.error('--scenario direct runs with the default gateway, collector and feed')
if SYSLOG_NG and (args.feed != 'tcp' or args.collector_outage):
    ap.error('--collector syslog-ng takes the snippet\'s tcp feed (syslog-ng has no RELP '
             'source), without --collector-outage')

P = 'vte-'
NAMESPACES = ['pc', 'pc2', 'pc3', 'relay', 'relay2', 'gw', 'ext', 'mgmt', 'sw'] + \
    (['mx'] if DIRECT else [])
MAC = {'pc': '02:99:01:00:00:0a', 'pc2': '02:99:01:00:00:0b', 'relay': '02:99:01:00:00:02',
       'router': '02:99:01:00:00:01', 'relay2': '02:99:01:00:00:03', 'pc3': '02:99:01:00:00:0c'}
IP = {'pc': '10.99.1.10', 'pc2': '10.99.1.11', 'relay': '10.99.1.2', 'gw': '10.99.2.1',
      'pc3': '10.99.1.12', 'relay2': '10.99.1.3',
      'gw_out': '10.99.3.1', 'ext': '10.99.3.10', 'mgmt': '10.99.0.10', 'router': '10.99.1.1',
      'fw': '10.99.0.1', 'wan': '10.99.5.254', 'provider': '10.99.5.100'}
# --scenario direct: the outside MX hosts the worm goes down its list of, all in vte-mx
MX = ['10.99.5.%d' % i for i in range(1, 11)]
SNMP = '127.0.0.1:1161'
COLLECTOR_PORT = 20514 if args.feed == 'relp' else 10514
RELP = ('--relp',) if args.feed == 'relp' else ()


def log(msg):
    print('[%s] %s' % (time.strftime('%H:%M:%S'), msg), flush=True)


def sh(*cmd, check=True, **kw):
    r = subprocess.run(list(cmd), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise RuntimeError('%s -> %d: %s' % (' '.join(cmd), r.returncode, r.stderr.strip()))
    return r


def nsx(ns, *cmd, **kw):
    return sh('ip', 'netns', 'exec', P + ns, *cmd, **kw)


# ---- teardown (also run first: idempotent; only touches vte-* namespaces and their processes)
def ours():
    r = sh('ip', 'netns', 'list', check=False)
    return [l.split()[0] for l in r.stdout.splitlines() if l.startswith(P)]


def alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def teardown(netns_dir_existed):
    names = ours()
    pids = set()
    for n in names:
        r = sh('ip', 'netns', 'pids', n, check=False)
        pids |= {int(p) for p in r.stdout.split() if p.isdigit()}
    pids.discard(os.getpid())
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    end = time.time() + 8     # clamav-milter takes ~3.5 s on SIGTERM
    while time.time() < end and any(alive(p) for p in pids):
        time.sleep(0.1)
    stubborn = []
    for p in pids:
        if alive(p):
            try:
                with open('/proc/%d/comm' % p) as f:
                    stubborn.append('%s[%d]' % (f.read().strip(), p))
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    if stubborn:
        log('teardown: SIGKILL to %s (still running 8 s after SIGTERM)' % ' '.join(stubborn))
    for n in names:
        sh('ip', 'netns', 'del', n, check=False)
    if not netns_dir_existed and os.path.isdir('/run/netns') and not os.listdir('/run/netns'):
        sh('umount', '/run/netns', check=False)
        try:
            os.rmdir('/run/netns')
        except OSError:
            pass
    return names, pids


STATE = '/run/vtrace-e2e.netns-dir-existed'   # survives a crashed run, so the rerun restores
# The kernel drops netfilter LOG/log lines of every network namespace but the initial one unless
# this host-wide switch is on (so a container's firewall cannot fill the host's log). The direct
# scenario's router is a namespace: the lab turns it on for the run and restores it after.
NF_LOG_ALL_NETNS = '/proc/sys/net/netfilter/nf_log_all_netns'


def nf_log_all_netns(value=None):
    """The switch's value; with `value`, sets it first."""
    if value is not None:
        with open(NF_LOG_ALL_NETNS, 'w') as f:
            f.write(value + '\n')
    with open(NF_LOG_ALL_NETNS) as f:
        return f.read().strip()


if os.geteuid() != 0:
    print('SKIP: scripts/e2e needs root (network namespaces, Postfix, clamd)')
    sys.exit(77)
# One lab at a time on this machine (other checkouts' ctest runs too): the namespace names are
# fixed, and the leftover cleanup below is only safe while we hold this lock.
# The lock is an abstract unix socket name: nothing on disk, released when the process dies.
import socket  # noqa: E402
_lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
_t_lock = time.time()
while True:
    try:
        _lock.bind('\0vtrace-e2e-lab-lock')
        break
    except OSError:
        if time.time() - _t_lock > 300:
            print('FAIL: another scripts/e2e held the lab lock for 300 s')
            sys.exit(1)
        time.sleep(0.5)
existed_before = os.path.isdir('/run/netns')
old_scratch = None
nf_log_before = None
if os.path.exists(STATE):       # an earlier run was killed before its teardown: finish it
    try:
        with open(STATE) as f:
            st = json.load(f)
        existed_before = st['netns_dir_existed']
        if st.get('scratch', '').startswith(tempfile.gettempdir() + '/vtrace-e2e-'):
            old_scratch = st['scratch']
        if st.get('nf_log_all_netns') in ('0', '1'):
            nf_log_before = st['nf_log_all_netns']
    except (OSError, ValueError, KeyError):
        pass
left, killed = teardown(existed_before)
if nf_log_before is not None:
    nf_log_all_netns(nf_log_before)
if old_scratch:                 # after the teardown: its daemons wrote there until killed
    shutil.rmtree(old_scratch, ignore_errors=True)
if left:
    log('removed leftovers of an earlier run: %s (%d processes)' % (' '.join(left), len(killed)))
if args.down_only:
    if os.path.exists(STATE):
        os.unlink(STATE)
    sys.exit(0)

missing = [b for b in ('postfix', 'postconf', 'clamd', 'amavisd' if AMAVIS else 'clamav-milter',
                       'sigtool', 'snmpsimd', 'snmpget', 'smtp-sink', 'unshare')
           + (() if SYSLOG_NG else ('rsyslogd',)) + (('nft',) if DIRECT else ())
           if not shutil.which(b, path='/usr/sbin:/usr/bin:/sbin:/bin')]
if DIRECT and not os.path.exists(NF_LOG_ALL_NETNS):
    missing.append('netfilter logging (%s: modprobe nf_log_syslog)' % NF_LOG_ALL_NETNS)
if SYSLOG_NG:
    from syslog_ng_harness import SyslogNg  # noqa: E402
    SYSLOG_NG_BIN = SyslogNg.find()
    if SYSLOG_NG_BIN is None:
        missing.append('syslog-ng (unpacked into /opt/vtrace-syslog-ng)')
try:
    import aiosmtpd  # noqa: F401
except ImportError:
    missing.append('python3-aiosmtpd')


def built(name, sub):
    cands = [os.path.join(args.build, sub, name)] if args.build else \
        [os.path.join(SRC, 'build', sub, name), '/usr/bin/' + name]
    for cand in cands:
        if os.access(cand, os.X_OK):
            return cand
    return None


CORRELATOR = args.correlator or built('vtrace-correlator', 'module')
RESPONDER = args.responder or built('vtrace-responder', 'responder')
CORRELATOR, RESPONDER = (os.path.abspath(b) if b else b for b in (CORRELATOR, RESPONDER))
if not CORRELATOR or not RESPONDER:
    missing.append('vtrace-correlator/vtrace-responder (build them)')
if missing:
    print('SKIP: missing %s (scripts/install-deps)' % ', '.join(missing))
    sys.exit(77)

from harness import (render_snippet, SHIPPED_BINARY, SHIPPED_CONFIG,  # noqa: E402
                     SHIPPED_OUTPUT, SHIPPED_TCP_PORT, SHIPPED_TCP_RULESET)
import testkit  # noqa: E402  (on the path harness set up: tests/support)

T = tempfile.mkdtemp(prefix='vtrace-e2e-')
NF_LOG_BEFORE = nf_log_all_netns() if DIRECT else None
with open(STATE, 'w') as f:
    json.dump({'netns_dir_existed': existed_before, 'scratch': T,
               'nf_log_all_netns': NF_LOG_BEFORE}, f)
os.chmod(T, 0o755)
for d in ('logs', 'run', 'db', 'clamav', 'work', 'state', 'snmp/data', 'snmp/cache',
          'ext', 'amavis', 'amavis-etc', 'collected', 'fw/work'):
    os.makedirs(os.path.join(T, d), mode=0o755, exist_ok=True)
procs = []
t_begin = time.time()
check = testkit.Checks()
failures = check.failures


def spawn(ns, name, *cmd, stdout=None):
    out = open(os.path.join(T, 'logs', name + '.out'), 'ab')
    p = subprocess.Popen(['ip', 'netns', 'exec', P + ns, *cmd], stdin=subprocess.DEVNULL,
                         stdout=stdout or out, stderr=out)
    procs.append(p)
    return p


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    raise RuntimeError('timed out waiting for ' + what)


# ---- 1. network ------------------------------------------------------------------------------
def net_up():
    for n in NAMESPACES:
        sh('ip', 'netns', 'add', P + n)
        sh('ip', '-n', P + n, 'link', 'set', 'lo', 'up')
    s = P + 'sw'
    for br, addr in (('br-lan', '10.99.1.1/24'), ('br-dmz', '10.99.2.254/24'),
                     ('br-mgmt', '10.99.0.1/24')):
        sh('ip', '-n', s, 'link', 'add', br, 'type', 'bridge')
        sh('ip', '-n', s, 'addr', 'add', addr, 'dev', br)
    sh('ip', '-n', s, 'link', 'set', 'br-lan', 'address', MAC['router'])
    for br in ('br-lan', 'br-dmz', 'br-mgmt'):
        sh('ip', '-n', s, 'link', 'set', br, 'up')
    sh('ip', 'netns', 'exec', s, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')

    def plug(n, br, addr, gw):
        sh('ip', 'link', 'add', 'v-e2e-' + n, 'netns', P + n, 'type', 'veth',
           'peer', 'name', 'p-' + n, 'netns', s)
        sh('ip', '-n', P + n, 'link', 'set', 'v-e2e-' + n, 'name', 'eth0')
        if n in MAC:
            sh('ip', '-n', P + n, 'link', 'set', 'eth0', 'address', MAC[n])
        sh('ip', '-n', s, 'link', 'set', 'p-' + n, 'master', br, 'up')
        sh('ip', '-n', P + n, 'addr', 'add', addr, 'dev', 'eth0')
        sh('ip', '-n', P + n, 'link', 'set', 'eth0', 'up')
        sh('ip', '-n', P + n, 'route', 'add', 'default', 'via', gw)
    plug('pc', 'br-lan', IP['pc'] + '/24', '10.99.1.1')
    plug('pc2', 'br-lan', IP['pc2'] + '/24', '10.99.1.1')
    plug('relay', 'br-lan', IP['relay'] + '/24', '10.99.1.1')
    plug('relay2', 'br-lan', IP['relay2'] + '/24', '10.99.1.1')
    plug('pc3', 'br-lan', IP['pc3'] + '/24', '10.99.1.1')
    plug('gw', 'br-dmz', IP['gw'] + '/24', '10.99.2.254')
    plug('mgmt', 'br-mgmt', IP['mgmt'] + '/24', '10.99.0.1')
    sh('ip', 'link', 'add', 'v-e2e-gwo', 'netns', P + 'gw', 'type', 'veth',
       'peer', 'name', 'v-e2e-ext', 'netns', P + 'ext')
    sh('ip', '-n', P + 'gw', 'link', 'set', 'v-e2e-gwo', 'name', 'eth1')
    sh('ip', '-n', P + 'ext', 'link', 'set', 'v-e2e-ext', 'name', 'eth0')
    sh('ip', '-n', P + 'gw', 'addr', 'add', IP['gw_out'] + '/24', 'dev', 'eth1')
    sh('ip', '-n', P + 'gw', 'link', 'set', 'eth1', 'up')
    sh('ip', '-n', P + 'ext', 'addr', 'add', IP['ext'] + '/24', 'dev', 'eth0')
    sh('ip', '-n', P + 'ext', 'link', 'set', 'eth0', 'up')
    sh('ip', '-n', P + 'ext', 'route', 'add', 'default', 'via', IP['gw_out'])
    if DIRECT:      # the router's uplink to the "internet": outside MX hosts and a provider
        sh('ip', 'link', 'add', 'v-e2e-wan', 'netns', s, 'type', 'veth',
           'peer', 'name', 'v-e2e-mx', 'netns', P + 'mx')
        sh('ip', '-n', s, 'link', 'set', 'v-e2e-wan', 'name', 'wan0')
        sh('ip', '-n', P + 'mx', 'link', 'set', 'v-e2e-mx', 'name', 'eth0')
        sh('ip', '-n', s, 'addr', 'add', IP['wan'] + '/24', 'dev', 'wan0')
        sh('ip', '-n', s, 'link', 'set', 'wan0', 'up')
        for a in MX + [IP['provider']]:
            sh('ip', '-n', P + 'mx', 'addr', 'add', a + '/24', 'dev', 'eth0')
        sh('ip', '-n', P + 'mx', 'link', 'set', 'eth0', 'up')
        sh('ip', '-n', P + 'mx', 'route', 'add', 'default', 'via', IP['wan'])


# ---- 2. snmpsim switch + router, responder, admin mail sink -----------------------------------
def snmp_data():
    def mac_hex(m): return m.replace(':', '').lower()
    def mac_oid(m): return '.'.join(str(int(b, 16)) for b in m.split(':'))

    def emit(path, recs):
        recs.sort(key=lambda r: [int(p) for p in r[0].split('.')])
        with open(path, 'w') as f:
            for oid, tag, val in recs:
                f.write('%s|%s|%s\n' % (oid, tag, val))
        os.chmod(path, 0o644)
    IF, IFX = '1.3.6.1.2.1.2.2.1', '1.3.6.1.2.1.31.1.1.1'
    RW = 'value=1,vlist=lt:1:wrongvalue:gt:3:wrongvalue'
    fdb = [(MAC['router'], 1), (MAC['relay'], 2), (MAC['pc'], 3), (MAC['pc2'], 4),
           (MAC['relay2'], 5), (MAC['pc3'], 6)]
    sw = [('1.3.6.1.2.1.1.1.0', '4', 'LabSim 4-port switch (vtrace e2e)'),
          ('1.3.6.1.2.1.1.5.0', '4', 'lab-sw1'), ('1.3.6.1.2.1.2.1.0', '2', '6')]
    for i in range(1, 7):
        sw += [('%s.1.%d' % (IF, i), '2', str(i)), ('%s.2.%d' % (IF, i), '4', 'GigabitEthernet1/0/%d' % i),
               ('%s.7.%d' % (IF, i), '2:writecache', RW), ('%s.1.%d' % (IFX, i), '4', 'Gi1/0/%d' % i),
               ('1.3.6.1.2.1.17.1.4.1.2.%d' % i, '2', str(i))]
    for m, port in fdb:
        sw += [('1.3.6.1.2.1.17.7.1.2.2.1.2.1.%s' % mac_oid(m), '2', str(port)),
               ('1.3.6.1.2.1.17.7.1.2.2.1.3.1.%s' % mac_oid(m), '2', '3')]
    rt = [('1.3.6.1.2.1.1.5.0', '4', 'lab-rtr1'), ('%s.1.1' % IF, '2', '1'),
          ('%s.7.1' % IF, '2:wcrouter', RW), ('%s.1.1' % IFX, '4', 'br-lan')]
    for ip, m in ((IP['router'], MAC['router']), (IP['relay'], MAC['relay']),
                  (IP['pc'], MAC['pc']), (IP['pc2'], MAC['pc2']),
                  (IP['relay2'], MAC['relay2']), (IP['pc3'], MAC['pc3'])):
        rt += [('1.3.6.1.2.1.4.22.1.2.1.%s' % ip, '4x', mac_hex(m)),
               ('1.3.6.1.2.1.4.35.1.4.1.1.4.%s' % ip, '4x', mac_hex(m))]
    emit(T + '/snmp/data/switch.snmprec', sw)
    emit(T + '/snmp/data/router.snmprec', rt)


def snmpget(oid, community='switch'):
    r = nsx('mgmt', 'snmpget', '-v2c', '-c', community, '-t', '1', '-r', '1', '-Oqv', SNMP, oid,
            check=False, env={'MIBS': '', 'PATH': os.environ['PATH']})
    return r.stdout.strip()


def admin(i):
    return snmpget('1.3.6.1.2.1.2.2.1.7.%d' % i)


def write(path, text, mode=0o644):
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


# --scenario direct: the firewall's incidents have a policy of their own (matched by kind; every
# policy that matches runs, so the virus-mail policy then names its kind too)
DIRECT_POLICY = f"""  - name: lab-direct-smtp
    match: {{kind: direct_smtp, origin: internal, zones: [lan]}}
    actions:
      - {{type: disable_port, dry_run: false, duration: 1h}}
      - {{type: mail, to: [security@lab.test], digest_window: {args.digest_window}}}
"""
# ... and the correlator watches the LAN's SMTP and submission connections through fw1
DIRECT_THRESHOLD = {'connections': 12, 'destinations': 5}
DIRECT_CONF = f"""  - name: fw1
    addresses: [{IP['fw']}]
    role: firewall
"""
DIRECT_SECTION = f"""direct_smtp:
  ports: [25, 587]
  threshold:
    connections: {DIRECT_THRESHOLD['connections']}
    destinations: {DIRECT_THRESHOLD['destinations']}
    within: 1m
"""


def mgmt_up():
    snmp_data()
    os.chmod(T + '/snmp/cache', 0o777)
    spawn('mgmt', 'snmpsimd', 'snmpsimd', '--data-dir=' + T + '/snmp/data',
          '--cache-dir=' + T + '/snmp/cache', '--variation-module-options=writecache:',
          '--variation-module-options=writecache=wcrouter:', '--agent-udpv4-endpoint=' + SNMP,
          '--process-user=nobody', '--process-group=nogroup',
          '--logging-method=file:' + T + '/logs/snmpsimd.log')
    spawn('mgmt', 'smtp-sink-admin', sys.executable, os.path.join(SRC, 'tests', 'support',
          'smtp_sink.py'), '2525', T + '/maildir')
    write(T + '/secrets.yaml', 'snmp_credentials:\n  sw-rw: {community: switch}\n'
          '  rtr-ro: {community: router}\n', 0o600)
    write(T + '/responder.yaml', f"""# vtrace e2e lab responder (generated by scripts/e2e)
listen: {{address: 127.0.0.1, port: 8025}}
state_file: {T}/state/responder.db
secrets_file: {T}/secrets.yaml
smtp: {{host: 127.0.0.1, port: 2525, from: vtrace@lab.test, helo: mgmt.lab.test,
        retry_initial: 1s}}
containment:
  protected_hosts: [{IP['relay']}, {IP['relay2']}, {IP['gw']}, {IP['router']}]
  snmp_timeout: 500ms
  breaker: {{max_per_hour: 5, max_per_switch_per_hour: 5}}
  routers:
    - {{name: rtr1, address: 127.0.0.1, port: 1161, credential: rtr-ro}}
  switches:
    - name: sw1
      address: 127.0.0.1
      port: 1161
      version: "2c"
      credential: sw-rw
      dry_run: false
      uplinks: [Gi1/0/1]
policies:
{DIRECT_POLICY if DIRECT else ''}  - name: lab-worm
    match: {{origin: internal, zones: [lan]{', confidence: [exact, fuzzy]' if DENSE else ''}{', kind: virus_mail' if DIRECT else ''}}}
    actions:
      - {{type: disable_port, dry_run: false, duration: 1h{', allow_fuzzy: true' if DENSE else ''}}}
      - {{type: mail, to: [security@lab.test], digest_window: {args.digest_window}}}
""")
    r = sh(RESPONDER, '--config', T + '/responder.yaml', '--check-config', check=False)
    if r.returncode != 0:
        raise RuntimeError('responder --check-config: ' + r.stdout + r.stderr)
    spawn('mgmt', 'responder', RESPONDER, '--config', T + '/responder.yaml')


# ---- 3. collector rsyslogd + correlator -------------------------------------------------------
def collector_up():
    write(T + '/vtrace.yaml', f"""# vtrace e2e lab correlator (generated by scripts/e2e)
sources:
  - name: gw
    addresses: [{IP['gw']}]
    role: gateway
  - name: relay
    addresses: [{IP['relay']}]
    role: relay
  - name: relay2
    addresses: [{IP['relay2']}]
    role: relay
{DIRECT_CONF if DIRECT else ''}networks:
  internal:
    - name: lan
      cidrs: [10.99.1.0/24]
correlation:
  clock_skew: {args.clock_skew}
  window: 30m
  pending_timeout: 20s
{DIRECT_SECTION if DIRECT else ''}output:
  responder_url: "http://127.0.0.1:8025/v1/incidents"
  jsonl: "{T}/incidents.jsonl"
  state_dir: "{T}/state"
  stats_file: "{T}/stats.json"
  stats_interval: 1s
timezone: UTC
""")
    if SYSLOG_NG:
        syslog_ng_conf()
    else:
        rsyslog_conf()
    collector_start()
    if SYSLOG_NG:
        check(wait_correlator_under_syslog_ng(10),
              'the collector syslog-ng runs the correlator (program(), --input syslog-ng)')


def wait_correlator_under_syslog_ng(timeout):
    """True once a vtrace-correlator in vte-mgmt runs with --input syslog-ng as a descendant
    of the collector's syslog-ng."""
    def parent(pid):
        try:
            with open('/proc/%d/stat' % pid) as f:
                return int(f.read().rsplit(')', 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return 0

    def argv(pid):
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                return f.read().split(b'\0')
        except OSError:
            return []

    end = time.time() + timeout
    while time.time() < end:
        for pid in map(int, sh('ip', 'netns', 'pids', P + 'mgmt').stdout.split()):
            a = argv(pid)
            if not (a and a[0].endswith(b'vtrace-correlator') and b'syslog-ng' in a):
                continue
            p = parent(pid)
            while p > 1:
                if argv(p)[:1] and argv(p)[0].endswith(b'/syslog-ng'):
                    return True
                p = parent(p)
        time.sleep(0.1)
    return False


def rsyslog_conf():
    # The feed's input is bound to a ruleset of the lab's that writes every line it received
    # per sending address (RFC 5424, the forwarder's timestamps) to collected/ and then does
    # "call vtrace", as the snippet's comment tells an administrator who keeps files (these
    # files are replayed and compared with the live incidents).
    if args.feed == 'relp':
        feed = {'input(type="imrelp" port="20514" ruleset="vtrace")':
                'input(type="imrelp" address="%s" port="%d" ruleset="lab_collect")'
                % (IP['mgmt'], COLLECTOR_PORT)}
    else:
        feed = {SHIPPED_TCP_PORT: 'address="%s" port="%d"' % (IP['mgmt'], COLLECTOR_PORT),
                SHIPPED_TCP_RULESET: SHIPPED_TCP_RULESET.replace('"vtrace"', '"lab_collect"')}
    snippet = render_snippet((args.feed,), {
        SHIPPED_BINARY: CORRELATOR, SHIPPED_CONFIG: T + '/vtrace.yaml',
        SHIPPED_OUTPUT: T + '/logs/correlator.log', **feed})
    write(T + '/rsyslog.conf',
          '# vtrace e2e collector: generated by scripts/e2e from packaging/rsyslog/60-vtrace.conf\n'
          f'global(workDirectory="{T}/work" processInternalMessages="on"\n'
          '       maxMessageSize="64k" net.enableDNS="off")\n' + snippet +
          f'template(name="lab_collected" type="string" string="{T}/collected/%fromhost-ip%.log")\n'
          'ruleset(name="lab_collect") {\n'
          '  action(type="omfile" dynaFile="lab_collected"\n'
          '         template="RSYSLOG_SyslogProtocol23Format")\n'
          '  call vtrace\n'
          '}\n'
          f'action(type="omfile" file="{T}/logs/rsyslogd-internal.log")\n')
    r = sh('rsyslogd', '-N1', '-f', T + '/rsyslog.conf', check=False)
    if r.returncode != 0:
        raise RuntimeError('rsyslogd -N1: ' + r.stderr)


def syslog_ng_conf():
    """The shipped syslog-ng snippet's core and tcp feed, rendered as
    tests/integration/syslog_ng_harness.py does (own persist file and control socket, disk
    buffer in the scratch directory). The feed's log path also writes every received line per
    sending address to collected/ (RFC 5424, the forwarders' timestamps), as the snippet tells an
    administrator who keeps files, before the correlator's destination."""
    import syslog_ng_harness as sng
    snippet = sng.render_snippet(('tcp',), {
        sng.SHIPPED_BINARY: CORRELATOR, sng.SHIPPED_CONFIG: T + '/vtrace.yaml',
        sng.SHIPPED_OUTPUT: T + '/logs/correlator.log',
        sng.SHIPPED_DISK_BUFFER_DIR: f'dir("{T}/work")',
        sng.SHIPPED_TCP: 'ip("%s") port(%d)' % (IP['mgmt'], COLLECTOR_PORT),
        sng.SHIPPED_TCP_PATH: 'log { source(s_vtrace_tcp); destination(d_lab_collected); '
                              'destination(d_vtrace);'})
    write(T + '/syslog-ng.conf',
          '@version: 3.38\n'
          '# vtrace e2e collector: generated by scripts/e2e from packaging/syslog-ng/vtrace.conf\n'
          'options { use-dns(no); keep-hostname(yes); chain-hostnames(no); stats-freq(0); };\n'
          'source s_src { internal(); };\n'
          f'destination d_internal {{ file("{T}/logs/syslog-ng-internal.log"); }};\n'
          'log { source(s_src); destination(d_internal); };\n'
          f'destination d_lab_collected {{ file("{T}/collected/${{SOURCEIP}}.log" frac-digits(6)\n'
          '  template("<${PRI}>1 ${ISODATE} ${HOST:--} ${PROGRAM:--} ${PID:--} ${MSGID:--} '
          '${SDATA:--} ${MSG}\\n")); };\n' + snippet)
    r = SYSLOG_NG_BIN.syntax_check(T + '/syslog-ng.conf')
    if r.returncode != 0:
        raise RuntimeError('syslog-ng --syntax-only: ' + r.stderr)


COLLECTOR = []


def collector_start():
    if SYSLOG_NG:
        sng = SYSLOG_NG_BIN
        libs = ['LD_LIBRARY_PATH=' + sng.env['LD_LIBRARY_PATH']] if sng.root else []
        COLLECTOR.append(spawn('mgmt', 'syslog-ng', 'env', *libs, sng.daemon, *sng.args, '-F',
                               '--no-caps', '-f', T + '/syslog-ng.conf',
                               '-R', T + '/work/syslog-ng.persist', '-c', T + '/run/syslog-ng.ctl',
                               '-p', T + '/run/syslog-ng.pid'))
    else:
        COLLECTOR.append(spawn('mgmt', 'rsyslogd', 'rsyslogd', '-n', '-iNONE', '-f',
                               T + '/rsyslog.conf'))
    wait_for(lambda: nsx('mgmt', 'bash', '-c', 'exec 3<>/dev/tcp/%s/%d' % (IP['mgmt'], COLLECTOR_PORT),
                         check=False).returncode == 0, 15, 'the collector to listen')


def collector_stop():
    """SIGTERM, as `systemctl stop rsyslog`: rsyslogd stops the correlator (omprog
    signalOnClose) and keeps what it did not deliver in the action's disk queue."""
    p = COLLECTOR[-1]
    p.send_signal(signal.SIGTERM)
    p.wait(30)


# ---- 4. mail chain: Postfix relay, Postfix gateway + clamd + clamav-milter, outside sink -------
def postfix_instance(name, host, listen, nets, relayhost, *extra):
    b = os.path.join(T, name)
    for d in ('etc', 'spool', 'data'):
        os.makedirs(os.path.join(b, d), exist_ok=True)
    master = '/usr/share/postfix/master.cf.dist'
    shutil.copy(master if os.path.exists(master) else '/etc/postfix/master.cf', b + '/etc/master.cf')
    write(b + '/etc/main.cf', '')
    open(os.path.join(T, 'logs', name + '.log'), 'a').close()
    sh('postconf', '-c', b + '/etc', '-e', 'compatibility_level = 3.6',
       'queue_directory = ' + b + '/spool', 'data_directory = ' + b + '/data',
       'myhostname = ' + host, 'mydomain = lab.test', 'myorigin = $myhostname',
       'mydestination =', 'local_recipient_maps =', 'alias_maps =', 'alias_database =',
       'inet_interfaces = ' + listen, 'inet_protocols = ipv4', 'mynetworks = ' + nets,
       'relayhost = ' + relayhost,
       'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
       'smtpd_peername_lookup = no', 'smtp_dns_support_level = disabled',
       'maillog_file = %s/logs/%s.log' % (T, name), 'maillog_file_prefixes = ' + T + '/logs',
       'biff = no', 'smtputf8_enable = no', *extra)
    sh('postconf', '-c', b + '/etc', '-F', '*/*/chroot = n')
    shutil.chown(b + '/data', 'postfix', 'postfix')


def amavis_conf():
    """amavisd-new's own configuration (`amavisd -c`, in a root-owned directory as amavisd
    insists; nothing under /etc/amavis is read or written): Debian's defaults where they matter
    here (D_DISCARD + quarantine for viruses, no per-recipient log lines), its files under the
    scratch directory, clamd as the AV backend."""
    a = T + '/amavis'
    for d in ('tmp', 'db', 'var', 'quarantine', 'log'):
        os.makedirs(os.path.join(a, d), exist_ok=True)
    open(a + '/log/amavis.log', 'a').close()
    write(T + '/amavis-etc/amavisd.conf', f"""use strict;
# vtrace e2e lab gateway: amavisd-new (generated by scripts/e2e)
$MYHOME = '{a}';
$TEMPBASE = "$MYHOME/tmp";
$db_home = "$MYHOME/db";
$helpers_home = "$MYHOME/var";
$lock_file = "$MYHOME/var/amavisd.lock";
$pid_file = "$MYHOME/var/amavisd.pid";
$QUARANTINEDIR = "$MYHOME/quarantine";
$daemon_user = 'amavis';
$daemon_group = 'amavis';
$mydomain = 'lab.test';
$myhostname = 'gw.lab.test';
$max_servers = 2;
$inet_socket_bind = '127.0.0.1';
$inet_socket_port = 10024;
$unix_socketname = undef;
@inet_acl = qw(127.0.0.1);
@mynetworks = qw(127.0.0.0/8 10.99.1.0/24 10.99.2.0/24);
@local_domains_maps = (['.lab.test']);
$policy_bank{{'MYNETS'}} = {{ originating => 1 }};
$forward_method = 'smtp:[127.0.0.1]:10025';
$notify_method = $forward_method;
$enable_db = 0;
$enable_global_cache = 0;
$enable_dkim_verification = 0;
$enable_dkim_signing = 0;
@bypass_spam_checks_maps = (1);
@bypass_virus_checks_maps = (0);
$final_virus_destiny = D_DISCARD;
$virus_quarantine_method = 'local:virus-%m';
$virus_admin = undef;
$warnvirussender = 0;
$warnvirusrecip = 0;
$log_recip_templ = undef;
$DO_SYSLOG = 0;
$LOGFILE = "$MYHOME/log/amavis.log";
$log_level = 0;
$X_HEADER_LINE = "$myproduct_name at $mydomain";
@av_scanners = (
  ['ClamAV-clamd', \\&ask_daemon, ["CONTSCAN {{}}\\n", '{T}/run/clamd.sock'],
   qr/\\bOK$/m, qr/\\bFOUND$/m, qr/^.*?: (?!Infected Archive)(.*) FOUND$/m ],
);
@av_scanners_backup = ();
1;
""")
    for n in (a, *(os.path.join(a, d) for d in ('tmp', 'db', 'var', 'quarantine', 'log')),
              a + '/log/amavis.log'):
        shutil.chown(n, 'amavis', 'amavis')
    os.chmod(a, 0o750)
    with open('/etc/group') as f:
        groups = f.read().splitlines()
    for i, g in enumerate(groups):
        name, pw, gid, members = g.split(':', 3)
        if name == 'amavis':
            groups[i] = ':'.join((name, pw, gid, ','.join(filter(None, (members, 'clamav')))))
    write(T + '/amavis-etc/group', '\n'.join(groups) + '\n')


def amavis_postfix(etc):
    """The gateway's content_filter transport and reinjection smtpd, as amavisd-new's
    README.postfix has them (transport named smtp-amavis, as Debian's README does)."""
    sh('postconf', '-c', etc, '-M',
       'smtp-amavis/unix=smtp-amavis unix - - n - 2 smtp')
    sh('postconf', '-c', etc, '-P', 'smtp-amavis/unix/smtp_data_done_timeout=1200',
       'smtp-amavis/unix/smtp_send_xforward_command=yes',
       'smtp-amavis/unix/smtp_tls_note_starttls_offer=no', 'smtp-amavis/unix/max_use=20')
    sh('postconf', '-c', etc, '-M', '127.0.0.1:10025/inet=127.0.0.1:10025 inet n - n - - smtpd')
    svc = '127.0.0.1:10025/inet/'
    sh('postconf', '-c', etc, '-P', *(svc + o for o in (
        'content_filter=', 'smtpd_delay_reject=no',
        'smtpd_client_restrictions=permit_mynetworks,reject', 'smtpd_helo_restrictions=',
        'smtpd_sender_restrictions=', 'smtpd_recipient_restrictions=permit_mynetworks,reject',
        'smtpd_relay_restrictions=permit_mynetworks,reject',
        'smtpd_data_restrictions=reject_unauth_pipelining', 'smtpd_end_of_data_restrictions=',
        'smtpd_restriction_classes=', 'mynetworks=127.0.0.0/8', 'smtpd_error_sleep_time=0',
        'smtpd_soft_error_limit=1001', 'smtpd_hard_error_limit=1000',
        'smtpd_client_connection_count_limit=0', 'smtpd_client_connection_rate_limit=0',
        'receive_override_options=no_header_body_checks,no_unknown_recipient_checks,no_milters',
        'local_header_rewrite_clients=', 'smtpd_milters=', 'local_recipient_maps=',
        'relay_recipient_maps=', 'smtpd_authorized_xforward_hosts=127.0.0.0/8')))


def mail_up():
    eicar = r'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
    write(T + '/eicar.com', eicar)
    hexsig = sh('sigtool', '--hex-dump', input=eicar).stdout.replace('\n', '')
    write(T + '/db/eicar.ndb', 'Lab.Test.EICAR-NDB:0:*:%s\n' % hexsig)
    write(T + '/clamav/clamd.conf', f"""DatabaseDirectory {T}/db
LocalSocket {T}/run/clamd.sock
LocalSocketMode 666
FixStaleSocket true
User clamav
Foreground true
LogFile {T}/logs/clamd.log
LogTime true
SelfCheck 0
""")
    if AMAVIS:
        amavis_conf()
    else:
        write(T + '/clamav/clamav-milter.conf', f"""MilterSocket unix:{T}/run/clamav-milter.sock
MilterSocketMode 666
FixStaleSocket true
User clamav
Foreground true
ClamdSocket unix:{T}/run/clamd.sock
OnClean Accept
OnInfected {args.mode.capitalize()}
RejectMsg Virus %v detected by lab gateway
OnFail Defer
AddHeader Replace
ReportHostname gw.lab.test
LogFile {T}/logs/clamav-milter.log
LogTime true
LogInfected {args.log_infected.capitalize()}
{'LogClean Full' if args.log_infected == 'basic' else ''}
""")
    for f in ('clamd.log', 'clamav-milter.log'):
        open(os.path.join(T, 'logs', f), 'a').close()
        shutil.chown(os.path.join(T, 'logs', f), 'clamav')
    shutil.chown(T + '/run', 'clamav', 'clamav')
    postfix_instance('relay', 'relay.lab.test', IP['relay'], '10.99.1.0/24, 127.0.0.0/8',
                     '[%s]' % IP['gw'])
    if AMAVIS:
        postfix_instance('gw', 'gw.lab.test', '%s, %s, 127.0.0.1' % (IP['gw'], IP['gw_out']),
                         '10.99.1.0/24, 10.99.2.0/24, 127.0.0.0/8', '[%s]' % IP['ext'],
                         'relay_domains = corp.lab.test',
                         'content_filter = smtp-amavis:[127.0.0.1]:10024')
        amavis_postfix(T + '/gw/etc')
    else:
        postfix_instance('gw', 'gw.lab.test', '%s, %s' % (IP['gw'], IP['gw_out']),
                         '10.99.1.0/24, 10.99.2.0/24, 127.0.0.0/8', '[%s]' % IP['ext'],
                         'relay_domains = corp.lab.test',
                         'smtpd_milters = unix:%s/run/clamav-milter.sock' % T,
                         'non_smtpd_milters = $smtpd_milters', 'milter_default_action = tempfail')
    # forwarders first (they read the files from the start), then the daemons
    spawn('relay', 'fwd-relay', sys.executable, E2E + '/forward.py', '--connect',
          '%s:%d' % (IP['mgmt'], COLLECTOR_PORT), *RELP, '--host', 'relay', '--postfix',
          T + '/logs/relay.log')
    spawn('gw', 'fwd-gw', sys.executable, E2E + '/forward.py', '--connect',
          '%s:%d' % (IP['mgmt'], COLLECTOR_PORT), *RELP, '--host', 'gw', '--postfix',
          T + '/logs/gw.log',
          *(('--amavis', T + '/amavis/log/amavis.log') if AMAVIS else
            ('--milter', T + '/logs/clamav-milter.log')))
    if AMAVIS:
        # amavisd (a Perl daemon, ~3 s to listen) starts first; clamd meanwhile. On a Debian
        # site clamd reads amavis's temp files as a member of the amavis group (`adduser clamav
        # amavis`): here that membership exists only in clamd's private mount namespace, in a
        # bind-mounted copy of /etc/group.
        amavisd = spawn('gw', 'amavisd', '/usr/sbin/amavisd', '-c', T + '/amavis-etc/amavisd.conf',
                        'foreground')
        spawn('gw', 'clamd', 'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
              'mount --bind "$1" /etc/group && exec clamd -c "$2"', 'clamd',
              T + '/amavis-etc/group', T + '/clamav/clamd.conf')
        wait_for(lambda: os.path.exists(T + '/run/clamd.sock'), 30, 'clamd')
    else:
        spawn('gw', 'clamd', 'clamd', '-c', T + '/clamav/clamd.conf')
        wait_for(lambda: os.path.exists(T + '/run/clamd.sock'), 30, 'clamd')
        spawn('gw', 'clamav-milter', 'clamav-milter', '-c', T + '/clamav/clamav-milter.conf')
        wait_for(lambda: os.path.exists(T + '/run/clamav-milter.sock'), 30, 'clamav-milter')
    spawn('ext', 'smtp-sink-ext', 'smtp-sink', '-u', 'postfix', '-h', 'ext.lab.test',
          '%s:25' % IP['ext'], '50')
    if EXIM:
        exim_up()
    nsx('relay', 'postfix', '-c', T + '/relay/etc', 'start')
    nsx('gw', 'postfix', '-c', T + '/gw/etc', 'start')

    def listening(ns, addr):
        return nsx(ns, 'bash', '-c', 'exec 3<>/dev/tcp/%s/25' % addr, check=False).returncode == 0
    wait_for(lambda: listening('pc', IP['relay']), 20, 'the relay on :25')
    wait_for(lambda: listening('relay', IP['gw']), 20, 'the gateway on :25')
    if AMAVIS:
        def amavis_listens():
            if amavisd.poll() is not None:
                with open(T + '/logs/amavisd.out') as f:
                    raise RuntimeError('amavisd exited: ' + f.read().strip()[-500:])
            return nsx('gw', 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/10024',
                       check=False).returncode == 0
        wait_for(amavis_listens, 30, 'amavisd on 127.0.0.1:10024')
    if EXIM:
        wait_for(lambda: listening('pc3', IP['relay2']), 20, 'the Exim relay on :25')


def exim_available():
    """Exim 4 from Debian's .debs, extracted (not installed: exim4 and postfix conflict)."""
    if os.environ.get('VTRACE_E2E_NO_EXIM'):
        return 'VTRACE_E2E_NO_EXIM is set'
    d = T + '/exim-pkgs'
    os.makedirs(d)
    os.chmod(d, 0o777)     # apt-get download as root drops to _apt
    r = subprocess.run(['apt-get', 'download', '-q', 'exim4-daemon-light', 'exim4-base',
                        'exim4-config'], cwd=d, capture_output=True, text=True)
    debs = glob.glob(d + '/*.deb')
    if r.returncode != 0 or len(debs) != 3:
        return 'apt-get download exim4-daemon-light exim4-base exim4-config failed: ' + \
            r.stderr.strip()[-200:]
    for deb in debs:
        sh('dpkg-deb', '-x', deb, T + '/exim-root')
    r = sh('ldd', T + '/exim-root/usr/sbin/exim4', check=False)
    if r.returncode != 0 or 'not found' in r.stdout:
        return 'the extracted exim4 lacks libraries (libidn12? scripts/install-deps): ' + \
            ' '.join(l.split()[0] for l in r.stdout.splitlines() if 'not found' in l)
    return None


def exim_up():
    os.makedirs(T + '/exim', exist_ok=True)
    spawn('relay2', 'exim', 'unshare', '--mount', '--propagation', 'private',
          E2E + '/exim-relay.sh', T + '/exim-root', T + '/exim', IP['relay2'], IP['gw'],
          '10.99.1.0/24 : 127.0.0.1')
    wait_for(lambda: os.path.exists(T + '/exim/ready'), 20, 'exim to start')
    spawn('relay2', 'fwd-relay2', sys.executable, E2E + '/forward.py', '--connect',
          '%s:%d' % (IP['mgmt'], COLLECTOR_PORT), *RELP, '--host', 'relay2', '--exim',
          T + '/exim/log/mainlog')


# ---- 4b. --scenario direct: the router's border firewall and its log shipper ----------------
# The kernel's log is one for the whole machine (/dev/kmsg), earlier runs' lines included: this
# run's rules log under a prefix with a token of its own, and only those lines are shipped.
FW_TOKEN = '%08x' % int.from_bytes(os.urandom(4), 'big')
FW_BLOCK = '[LAB-FW %s BLOCK] ' % FW_TOKEN
FW_ALLOW = '[LAB-FW %s ALLOW] ' % FW_TOKEN


def fw_up():
    """An nftables forward chain on the router (vte-sw), as a border firewall that lets only the
    mail gateway speak SMTP to the outside: a LAN host's SMTP (25) to the outside is logged and
    dropped, its submission (587) to a provider logged and accepted, the relays' SMTP to the
    gateway logged and accepted. The kernel writes those LOG lines (net/netfilter/nf_log_syslog)
    to its ring buffer; the router's own rsyslogd reads them there (imkmsg, /dev/kmsg) and
    forwards them over TCP to the collector, as a Linux firewall ships its kernel log."""
    write(T + '/fw/border.nft', f"""table inet lab_border {{
  chain forward {{
    type filter hook forward priority filter; policy accept;
    iifname "br-lan" oifname "wan0" tcp dport 25 ct state new log prefix "{FW_BLOCK}" level warn drop
    iifname "br-lan" oifname "wan0" tcp dport 587 ct state new log prefix "{FW_ALLOW}" level info accept
    iifname "br-lan" oifname "br-dmz" tcp dport 25 ct state new log prefix "{FW_ALLOW}" level info accept
  }}
}}
""")
    nsx('sw', 'nft', '-f', T + '/fw/border.nft')
    nf_log_all_netns('1')
    write(T + '/fw/rsyslog.conf', f"""# vtrace e2e router fw1: its kernel log to the collector (generated by scripts/e2e)
global(workDirectory="{T}/fw/work" processInternalMessages="on" localHostname="fw1"
       net.enableDNS="off")
module(load="imkmsg")
if $msg contains "[LAB-FW {FW_TOKEN} " then {{
  action(type="omfwd" target="{IP['mgmt']}" port="{COLLECTOR_PORT}" protocol="tcp"
         template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList"
         action.resumeRetryCount="-1" action.resumeInterval="1")
  stop
}}
if $syslogfacility-text == "kern" then stop
action(type="omfile" file="{T}/logs/fw-rsyslogd-internal.log")
""")
    r = sh('rsyslogd', '-N1', '-f', T + '/fw/rsyslog.conf', check=False)
    if r.returncode != 0:
        raise RuntimeError('router rsyslogd -N1: ' + r.stderr)
    spawn('sw', 'fw-rsyslogd', 'rsyslogd', '-n', '-iNONE', '-f', T + '/fw/rsyslog.conf')
    spawn('mx', 'smtp-sink-mx', 'smtp-sink', '-u', 'postfix', '-h', 'mx.outside.example', ':25',
          '50')
    spawn('mx', 'smtp-sink-submission', 'smtp-sink', '-u', 'postfix', '-h',
          'smtp.provider.example', '%s:587' % IP['provider'], '50')
    wait_for(lambda: nsx('mx', 'bash', '-c', 'exec 3<>/dev/tcp/%s/25' % MX[0],
                         check=False).returncode == 0, 10, 'the outside MX on :25')


# ---- 5. the scenario --------------------------------------------------------------------------
def http_json(path):
    r = nsx('mgmt', sys.executable, '-c',
            'import sys,urllib.request;sys.stdout.write(urllib.request.urlopen('
            '"http://127.0.0.1:8025%s",timeout=5).read().decode())' % path, check=False)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def sender(ns, name, *a):
    return spawn(ns, name, sys.executable, E2E + '/worm.py', *a,
                 stdout=open(os.path.join(T, name + '.jsonl'), 'wb'))


def results(name):
    with open(os.path.join(T, name + '.jsonl')) as f:
        return [json.loads(l) for l in f if l.strip()]


def jsonl_incidents():
    try:
        with open(T + '/incidents.jsonl') as f:
            return [json.loads(l) for l in f if l.strip()]
    except OSError:
        return []


def standard_scenario():
    """Clean mail, one worm per infected PC (LogInfected Full: every detection names its
    queue id), an outside virus mail; asserts exact traces, containment and the admins' mail."""
    # clean traffic first and during the outbreak; then the worms
    clean = sender('pc2', 'clean-pc2', '--server', IP['relay'], '--count', '4', '--interval', '0.8',
                   '--sender', 'carol@corp.lab.test', '--rcpt', 'dave@partner.example',
                   '--helo', 'pc11.corp.lab.test', '--tag', 'clean2')
    clean1 = sender('pc', 'clean-pc', '--server', IP['relay'], '--count', '1',
                    '--sender', 'alice@corp.lab.test', '--rcpt', 'bob@partner.example',
                    '--helo', 'pc10.corp.lab.test', '--tag', 'clean1')
    clean1.wait(10)
    time.sleep(0.5)
    # infected PCs: (namespace, relay source, relay address, switch port, worm tag)
    infected = [('pc', 'relay', IP['relay'], 3, 'worm')]
    if EXIM:
        infected.append(('pc3', 'relay2', IP['relay2'], 6, 'worm3'))
    worms = [sender(ns, tag, '--server', rip, '--count', str(args.virus),
                    '--interval', str(args.interval), '--sender', 'it-support@bank.example',
                    '--rcpt', 'bob@partner.example', '--helo', 'pc%s.corp.lab.test' % ns,
                    '--tag', tag, '--eicar', '--timeout', '0.5')
             for ns, _, rip, _, tag in infected]
    outside = sender('ext', 'outside', '--server', IP['gw_out'], '--count', '1',
                     '--sender', 'promo@evil.example', '--rcpt', 'alice@corp.lab.test',
                     '--helo', 'mx.evil.example', '--tag', 'outside', '--eicar')
    for p in (*worms, clean, outside):
        p.wait(120)
    sent = {tag: results(tag) for *_, tag in infected}
    through = {tag: [m for m in ms if m['ok']] for tag, ms in sent.items()}
    n_through = sum(len(v) for v in through.values())
    for ns, relay, _, _, tag in infected:
        log('worm on %s (%s): %d of %d mails accepted by %s' % (ns, IP[ns], len(through[tag]),
                                                                len(sent[tag]), relay))

    # the incidents for every virus mail that reached the gateway (+ the outside one)
    want = n_through + 1
    try:
        wait_for(lambda: len(jsonl_incidents()) >= want, 40, '%d incidents' % want)
    except RuntimeError as e:
        log(str(e))
    time.sleep(1.0)
    incs = jsonl_incidents()
    by_mid = {}
    for d in incs:
        by_mid.setdefault((d.get('message') or {}).get('message_id'), []).append(d)
    for ns, relay, _, _, tag in infected:
        for m in through[tag]:
            ds = by_mid.get(m['message_id'], [])
            d = ds[-1] if ds else {}
            o = d.get('origin') or {}
            hops = [h.get('host') for h in d.get('hops') or []]
            check(bool(ds) and o.get('ip') == IP[ns] and d.get('confidence') == 'exact'
                  and o.get('internal') is True and o.get('zone') == 'lan' and hops == ['gw', relay],
                  'virus mail %s -> incident: origin %s, confidence %s, hops %s'
                  % (m['message_id'], o.get('ip'), d.get('confidence'), hops))
    no_from = [m['message_id'] for ms in through.values() for m in ms
               if ((by_mid.get(m['message_id']) or [{}])[-1].get('envelope') or {}).get('from')
               == '']
    check(not no_from, 'every worm-mail incident names the (forged) envelope sender, whichever of '
          'the scanner\'s and the MTA\'s lines arrived first%s'
          % (' (empty in: %s)' % ' '.join(no_from) if no_from else ''))
    ext_inc = by_mid.get(results('outside')[0]['message_id'], [])
    eo = (ext_inc[-1].get('origin') or {}) if ext_inc else {}
    check(bool(ext_inc) and eo.get('ip') == IP['ext'] and eo.get('internal') is False
          and ext_inc[-1].get('confidence') == 'exact',
          'outside virus mail -> incident: origin %s internal=%s (external), confidence %s'
          % (eo.get('ip'), eo.get('internal'), ext_inc[-1].get('confidence') if ext_inc else None))
    named = {(d.get('origin') or {}).get('ip') for d in incs}
    check(IP['pc2'] not in named and IP['relay'] not in named and IP['relay2'] not in named,
          'no incident names the clean PC or a relay (origins: %s)' % sorted(str(x) for x in named))
    # Reject mode: the relay bounces each rejected mail to the forged sender (backscatter); the
    # bounce carries the virus, goes through the gateway and is rejected there too. The
    # correlator traces that detection through the relay's bounce link to a mail it already
    # reported and merges it (tests/e2e/repro-reject-backscatter): one incident per worm mail.
    virus_mids = {m['message_id'] for ms in sent.values() for m in ms} | \
        {m['message_id'] for m in results('outside')}
    backscatter = [d for d in incs if (d.get('message') or {}).get('message_id') not in virus_mids]
    own = [d for d in incs if d not in backscatter]
    # One incident per virus mail that reached the gateway: every mail the relay acknowledged,
    # and possibly one whose acknowledgement the PC never read because its port went down.
    own_mids = {}
    for d in own:
        own_mids.setdefault(d['message']['message_id'], set()).add(d['id'])
    acked = {m['message_id'] for ms in through.values() for m in ms}
    cut = {m['message_id'] for ms in sent.values() for m in ms if not m['ok']} & set(own_mids)
    check(all(len(v) == 1 for v in own_mids.values()) and acked <= set(own_mids)
          and len(own_mids) == n_through + 1 + len(cut),
          '%d distinct incidents, one per virus mail: %d acknowledged to the PCs + 1 outside + %d '
          'accepted while the port went down' % (len({d['id'] for d in own}), n_through, len(cut)))
    check(not backscatter, 'no incident for a bounce of a worm mail%s'
          % (' (%s)' % ' '.join(sorted({d['id'] for d in backscatter})) if backscatter else ''))
    check(all(m['ok'] for m in results('clean-pc')) and
          sum(m['ok'] for m in results('clean-pc2')) >= 1,
          'clean mails accepted (pc2: %d/%d, pc before the outbreak: %d/1)'
          % (sum(m['ok'] for m in results('clean-pc2')), len(results('clean-pc2')),
             sum(m['ok'] for m in results('clean-pc'))))

    # containment: exactly the infected PCs' ports down, read back from the simulator
    want_down = sorted(port for *_, port, _ in infected)
    try:
        wait_for(lambda: all(admin(i) == '2' for i in want_down), 20, 'ports %s down' % want_down)
    except RuntimeError as e:
        log(str(e))
    changes = [json.loads(l) for l in open(T + '/mirror.jsonl') if l.strip()]
    downs = [c for c in changes if c['status'] == '2']
    states = [admin(i) for i in range(1, 7)]
    check(states == ['2' if i in want_down else '1' for i in range(1, 7)],
          'switch ifAdminStatus 1..6 = %s (only %s, the infected PCs, down)'
          % (states, ', '.join('Gi1/0/%d' % i for i in want_down)))
    check(sorted(c['if_index'] for c in downs) == want_down, 'the only ports ever shut: %s'
          % sorted(c['if_index'] for c in downs))
    for ns, *_ in infected:
        link = sh('ip', '-n', P + 'sw', '-o', 'link', 'show', 'p-' + ns).stdout
        check(',UP' not in link.split('<')[1].split('>')[0],
              'the real bridge port p-%s is down (mirrored)' % ns)
    conts = (http_json('/v1/containments') or {}).get('containments', [])
    write(T + '/containments.json', json.dumps(conts, indent=1))
    # A worm mail queued at a relay before the cut is detected after the port went down: the
    # responder checks where the MAC is now (a follow-up, at most one a minute). Finding it on
    # the port it shut, it writes nothing; the check is a row of its own, marked by `follows`.
    checks = [c for c in conts if c.get('follows') is not None]
    check(all(c.get('status') == 'confirmed' and c.get('port') == next(
              f.get('port') for f in conts if f.get('id') == c.get('follows')) for c in checks),
          'follow-ups found each MAC on the port already shut, and wrote nothing: %s'
          % [(c.get('ip'), c.get('port'), c.get('status')) for c in checks])
    got = sorted((c.get('ip'), c.get('port'), c.get('status'), c.get('mac'))
                 for c in conts if c.get('follows') is None)
    check(got == sorted((IP[ns], 'Gi1/0/%d' % port, 'down', MAC[ns]) for ns, _, _, port, _ in infected),
          'responder containments: %s' % got)
    rtr = snmpget('1.3.6.1.2.1.2.2.1.7.1', 'router')
    check(rtr == '1', 'the router was not written (ifAdminStatus.1 = %s)' % rtr)

    import datetime
    summary = {}
    for ns, relay, _, port, tag in infected:
        d_port = [c for c in downs if c['if_index'] == port]
        n_before = len([m for m in through[tag] if not d_port or m['t_end'] <= d_port[0]['t']])
        summary[ns] = {'through': n_before, 'sent': len(sent[tag]), 'down': None}
        if not d_port:
            continue
        t_down, first = d_port[0]['t'], sent[tag][0]['t_start']
        summary[ns]['down'] = t_down - first
        after = [m for m in sent[tag] if m['t_start'] >= t_down]
        log('TIME %s (%s via %s): first virus mail leaving the PC -> its port down (mirror saw '
            'it): %.2f s (target <= 2 s: %s)'
            % (ns, IP[ns], relay, t_down - first, 'met' if t_down - first <= 2 else 'MISSED'))
        d0 = by_mid.get(sent[tag][0]['message_id'], [{}])[-1].get('detected_at')
        if d0:
            td = datetime.datetime.fromisoformat(d0.replace('Z', '+00:00')).timestamp()
            log('  of which: PC -> %s detection %.2f s, detection -> port down %.2f s '
                '(clock_skew %s; a chain linked by ids end to end is sent before it)'
                % (args.gateway, td - first, t_down - td, args.clock_skew))
        log('  virus mails through before containment: %d of %d (%d sent after it, %d of those '
            'got through)' % (n_before, len(sent[tag]), len(after),
                              len([m for m in after if m['ok']])))
        check(not any(m['ok'] for m in after if m['t_start'] > t_down + 0.1),
              'no virus mail from %s got through after its port went down' % ns)

    # The admins' mail: per infected origin one incident mail at once, then the rest of its
    # incidents in one digest mail when the responder's digest_window (--digest-window) ends.
    final = {}
    for d in jsonl_incidents():
        if d.get('revision', 0) >= final.get(d['id'], {}).get('revision', 0):
            final[d['id']] = d
    mine = {ns: {i for i, d in final.items() if (d.get('origin') or {}).get('ip') == IP[ns]
                 and d.get('confidence') == 'exact'} for ns, *_ in infected}

    def names(ip, text):
        return re.search(r'(?<![\d.])%s(?![\d.])' % re.escape(ip), text) is not None

    def subject(m):
        return ' '.join(str(m.get('Subject', '')).split())

    def text(m):
        parts = m.walk() if m.is_multipart() else [m]
        return ''.join((p.get_payload(decode=True) or b'').decode('utf-8', 'replace')
                       for p in parts if not p.is_multipart()).replace('\r\n', '\n')

    def admin_mails():
        if not os.path.isdir(T + '/maildir/new'):
            return []
        return [m for m in mailbox.Maildir(T + '/maildir', factory=None, create=False)
                if 'security@lab.test' in (m.get('X-RcptTo') or '')]

    def digests(ns):
        return [m for m in admin_mails() if subject(m).startswith('[vtrace] digest:')
                and names(IP[ns], subject(m))]
    window = duration_s(args.digest_window)
    try:
        wait_for(lambda: all(digests(ns) for ns, *_ in infected if len(mine[ns]) > 1),
                 window + 10, 'the digest mails')
    except RuntimeError as e:
        log(str(e))
    time.sleep(1.0)
    to_admin = admin_mails()
    for ns, *_ in infected:
        firsts = [m for m in to_admin if not subject(m).startswith('[vtrace] digest:')
                  and names(IP[ns], subject(m))]
        first_ids = [x for m in firsts for x in re.findall(r'^Incident:\s+(\S+)', text(m), re.M)]
        check(len(firsts) == 1 and len(first_ids) == 1 and first_ids[0] in mine[ns],
              'one incident mail for %s (%s), at once: %s' % (ns, IP[ns],
                                                             [subject(m) for m in firsts]))
        rest = mine[ns] - set(first_ids)
        ds = digests(ns)
        listed = []
        for m in ds:
            body = text(m)
            block = body.split('\nIncidents (first', 1)[1].split('\n', 1)[1].split('\n\n', 1)[0] \
                if '\nIncidents (first' in body else ''
            listed += re.findall(r'^\s+(\S+)$', block, re.M)
        counts = [int(x) for m in ds for x in re.findall(r'digest: (\d+) more', subject(m))]
        check(len(ds) == (1 if rest else 0) and sorted(listed) == sorted(rest)
              and counts == ([len(rest)] if rest else []),
              'one digest mail for %s listing its %d other incidents: %d digest(s), %s, listing %d'
              % (ns, len(rest), len(ds), [subject(m) for m in ds], len(listed)))
        summary[ns].update(incidents=len(mine[ns]), firsts=len(firsts), digests=len(ds),
                           listed=len(listed))
    check(len(to_admin) == sum(1 + (len(mine[ns]) > 1) for ns, *_ in infected)
          and not any(names(IP['pc2'], subject(m) + text(m)) for m in to_admin),
          'admins got %d mails: one per infected origin + one digest each, none about the clean '
          'PC: %s' % (len(to_admin), sorted(subject(m) for m in to_admin)))
    for ns, relay, *_ in infected:
        x = summary[ns]
        log('SUMMARY gateway=%s mode=%s %s (%s via %s): first virus mail -> port down %s; virus '
            'mails through before containment %d of %d; exact incidents %d; admin mails %d + '
            '%d digest(s) listing %d' % (
                args.gateway, args.mode, ns, IP[ns], relay,
                '%.2f s' % x['down'] if x['down'] is not None else 'NEVER', x['through'],
                x['sent'], x.get('incidents', 0), x.get('firsts', 0), x.get('digests', 0),
                x.get('listed', 0)))


# ---- 6. the dense scenario: LogInfected Basic, one forged envelope, two infected PCs ----------
RFC5424 = re.compile(r'^<\d+>1 (\S+) (\S+) (\S+) (\S+) \S+ \S+ (.*)$')
POSTFIX_QID = re.compile(r'^([0-9A-Za-z]{6,}): (.*)$')
FORGED = ('it-support@bank.example', 'bob@partner.example')


def epoch(rfc3339):
    import datetime
    return datetime.datetime.fromisoformat(rfc3339.replace('Z', '+00:00')).timestamp()


def collected():
    """The lines the collector received, per sending address: [(time, host, app, msg)]."""
    out = {}
    for path in glob.glob(T + '/collected/*.log'):
        with open(path, encoding='utf-8', errors='replace') as f:
            out[os.path.basename(path)[:-4]] = [
                (epoch(m.group(1)), m.group(2), m.group(3), m.group(5))
                for m in map(RFC5424.match, f.read().splitlines()) if m]
    return out


def gateway_facts(lines):
    """From the gateway's collected lines: the clamav-milter detections (time, sender,
    recipient) and per postfix queue id its receive time (client= line), message-id, sender,
    whether clamav-milter logged it clean (LogClean Full) and when postfix held it."""
    detections, msgs = [], {}
    basic = re.compile(r'^Message from <([^>]*)> to <([^>]*)> infected by (.+)$')
    clean = re.compile(r'^Clean message ([0-9A-Za-z]+) from ')
    for t, _, app, msg in lines:
        if app == 'clamav-milter':
            m = basic.match(msg)
            if m:
                detections.append({'t': t, 'from': m.group(1), 'to': m.group(2),
                                   'virus': m.group(3)})
            m = clean.match(msg)
            if m:
                msgs.setdefault(m.group(1), {})['clean'] = True
            continue
        m = POSTFIX_QID.match(msg)
        if not m or not app.startswith('postfix/'):
            continue
        q, rest = m.group(1), m.group(2)
        d = msgs.setdefault(q, {})
        if rest.startswith('client='):
            d['t_recv'] = t
        elif rest.startswith('message-id='):
            d['mid'] = rest[len('message-id='):].strip('<>')
        if rest.startswith('milter-hold: '):
            d['t_hold'] = t
        m = re.search(r'(?:^|; )from=<([^>]*)>', rest)       # qmgr's line; milter-hold's
        if m:
            d['from'] = m.group(1)
    return detections, msgs


def decide(detections, msgs, pc_of_mid, skew):
    """The rule (tests/e2e/README.md): a detection's candidates are the gateway's messages with
    its envelope sender whose receive time is within clock_skew of the detection's time and that
    clamav-milter did not log clean; decidable when they all come from one PC. Within 20 ms of the
    boundary both readings are computed: "borderline" when they differ. The truth (which message
    it was) is the held message whose milter-hold line is nearest the detection: the two lines
    are written at the same moment for the same message."""
    held = [(d['t_hold'], q) for q, d in msgs.items() if 't_hold' in d]
    for det in detections:
        pcs = {}
        for margin in (-0.02, 0.02):
            pcs[margin] = {pc_of_mid.get(d.get('mid')) for d in msgs.values()
                           if d.get('from') == det['from'] and 't_recv' in d
                           and not d.get('clean') and abs(d['t_recv'] - det['t']) <= skew + margin}
        nearest = min(held, key=lambda h: abs(h[0] - det['t']), default=(None, None))[1]
        det['truth'] = pc_of_mid.get(msgs.get(nearest, {}).get('mid'))
        det['pcs'] = pcs[0.02]
        if pcs[-0.02] != pcs[0.02]:
            det['kind'] = 'borderline'
        elif len(pcs[0.02]) == 1 and None not in pcs[0.02]:
            det['kind'] = 'decidable'
        else:
            det['kind'] = 'undecidable'


def latest(incidents):
    final = {}
    for d in incidents:
        if d.get('revision', 0) >= final.get(d['id'], {}).get('revision', 0):
            final[d['id']] = d
    return final


def judge(detections, incidents, where):
    """Per detection its incident; returns (decided right, ambiguous, wrong, missing) and
    checks each detection against the rule and the truth."""
    by_time = {}
    for d in incidents.values():
        by_time.setdefault(round(epoch(d['detected_at']), 6), []).append(d)
    counts = {'right': 0, 'ambiguous': 0, 'wrong': 0, 'missing': 0, 'undecided-decidable': 0}
    for det in detections:
        ds = by_time.get(round(det['t'], 6), [])
        if len(ds) != 1:
            counts['missing'] += 1
            check(False, '%s: the detection at %.6f has one incident (got %d)'
                  % (where, det['t'], len(ds)))
            continue
        d = ds[0]
        ip = (d.get('origin') or {}).get('ip')
        conf = d.get('confidence')
        named = (d.get('message') or {}).get('message_id') or None
        if ip is not None:
            right = ip == IP.get(det['truth']) and conf in ('exact', 'fuzzy') and (
                named is None or named.startswith({'pc': 'dworm-', 'pc3': 'dworm3-'}.get(
                    det['truth'], '?')))
            counts['right' if right else 'wrong'] += 1
            what = '%s: detection at %.6f (%s, truth %s, candidates from %s) -> origin %s %s, ' \
                'message %s' % (where, det['t'], det['kind'], det['truth'],
                                sorted(map(str, det['pcs'])), ip, conf, named)
            if not right:
                check(False, 'WRONG ' + what)
            elif det['kind'] == 'undecidable':
                check(False, 'an origin for a detection the rule calls undecidable: ' + what)
        else:
            counts['ambiguous'] += 1
            if det['kind'] == 'decidable':
                counts['undecided-decidable'] += 1
                check(False, '%s: decidable detection at %.6f (candidates all from %s, truth %s) '
                      '-> %s, no origin (note: %s)' % (where, det['t'], sorted(det['pcs']),
                                                        det['truth'], conf, d.get('note')))
            elif conf not in ('ambiguous', 'unresolved'):
                check(False, '%s: detection at %.6f -> %s without an origin'
                      % (where, det['t'], conf))
    return counts


def dense_scenario():
    """Two infected PCs (pc via the Postfix relay, pc3 via the Exim relay) and a clean PC (pc2,
    via the Postfix relay) send the same forged envelope within the same seconds; clamav-milter
    logs LogInfected Basic (no ids) and LogClean Full. Optionally the collector is down for
    --collector-outage seconds mid-outbreak. Asserts: every decidable detection traced to its
    PC, every undecidable one without an origin, none wrong; ports shut only for infected PCs;
    every line reached the collector (the forwarders queued through the outage); live incidents
    equal a replay of the collected lines."""
    if not EXIM:
        check(False, 'the dense scenario needs the Exim relay (the second infected PC)')
        return
    skew = duration_s(args.clock_skew)
    t0 = time.time() + 1.5
    common = ('--sender', FORGED[0], '--rcpt', FORGED[1], '--start-at')
    # pc alone first (decidable), pc3 from 1.6 s on (within clock_skew of pc's last mails, even
    # when pc's port is shut at once: undecidable), then pc3 alone (decidable); the clean PC's
    # mails fall in between all along.
    senders = [
        sender('pc', 'dworm', '--server', IP['relay'], '--count', '10', '--interval', '0.2',
               '--helo', 'pc10.corp.lab.test', '--tag', 'dworm', '--eicar', '--timeout', '0.5',
               *common, '%.3f' % t0),
        sender('pc2', 'dclean', '--server', IP['relay'], '--count', '25', '--interval', '0.2',
               '--helo', 'pc11.corp.lab.test', '--tag', 'dclean', *common, '%.3f' % (t0 + 0.1)),
        sender('pc3', 'dworm3', '--server', IP['relay2'], '--count', '18', '--interval', '0.2',
               '--helo', 'pc12.corp.lab.test', '--tag', 'dworm3', '--eicar', '--timeout', '0.5',
               *common, '%.3f' % (t0 + 1.6)),
    ]
    outage = None
    if args.collector_outage:
        time.sleep(max(0.0, t0 + 1.0 - time.time()))
        log('collector rsyslogd stopped for %.0f s (mid-outbreak)' % args.collector_outage)
        t_stop = time.time()
        collector_stop()
        time.sleep(max(0.0, t_stop + args.collector_outage - time.time()))
        collector_start()
        outage = time.time() - t_stop
        log('collector rsyslogd restarted after %.1f s' % outage)
    for p in senders:
        p.wait(120)
    sent = {tag: results(tag) for tag in ('dworm', 'dworm3', 'dclean')}
    pc_of_mid = {m['message_id']: ns for ns, tag in (('pc', 'dworm'), ('pc3', 'dworm3'),
                                                     ('pc2', 'dclean')) for m in sent[tag]}
    for ns, tag in (('pc', 'dworm'), ('pc3', 'dworm3'), ('pc2', 'dclean')):
        log('%s (%s): %d of %d mails accepted' % (ns, IP[ns], sum(m['ok'] for m in sent[tag]),
                                                  len(sent[tag])))

    def gw_detections():
        return gateway_facts(collected().get(IP['gw'], []))[0]
    # every detection the gateway logged has its incident (an ambiguous one may wait for a
    # candidate's trace up to pending_timeout, 20 s)
    try:
        wait_for(lambda: len(gw_detections()) > 0 and len(latest(jsonl_incidents())) >=
                 len(gw_detections()), 45, 'one incident per detection')
    except RuntimeError as e:
        log(str(e))
    time.sleep(1.0)
    # every line the mail hosts logged reached the collector (through the outage)
    lines = collected()
    for host, ip, files in (('gw', IP['gw'], (T + '/logs/gw.log', T + '/logs/clamav-milter.log')),
                            ('relay', IP['relay'], (T + '/logs/relay.log',)),
                            ('relay2', IP['relay2'], (T + '/exim/log/mainlog',))):
        got = {}
        for _, _, _, msg in lines.get(ip, []):
            got[msg] = got.get(msg, 0) + 1
        missing = 0
        for path in files:
            with open(path, encoding='utf-8', errors='replace') as f:
                for line in f.read().splitlines():
                    body = re.sub(r'^(\w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \S+: |\w{3} \w{3} [ \d]\d '
                                  r'\d\d:\d\d:\d\d \d{4} -> )', '', line)
                    if body == line and host != 'relay2' or not body:
                        continue
                    if got.get(body, 0) > 0:
                        got[body] -= 1
                    else:
                        missing += 1
        check(missing == 0, 'every line %s logged reached the collector (%d missing)'
              % (host, missing))

    detections, msgs = gateway_facts(lines.get(IP['gw'], []))
    decide(detections, msgs, pc_of_mid, skew)
    incs = latest(jsonl_incidents())
    kinds = {k: sum(d['kind'] == k for d in detections) for k in
             ('decidable', 'undecidable', 'borderline')}
    held = sum('t_hold' in d for d in msgs.values())
    n_clean = sum(bool(d.get('clean')) for d in msgs.values())
    check(len(detections) == held, '%d detections (LogInfected Basic) = %d messages held by the '
          'gateway; %d logged clean'
          % (len(detections), held, n_clean))
    c = judge(detections, incs, 'live')
    times = {round(d['t'], 6) for d in detections}
    extra = sorted(i for i, d in incs.items() if round(epoch(d['detected_at']), 6) not in times)
    check(not extra, 'every incident is one of the gateway\'s detections%s'
          % (' (not: %s)' % ' '.join(extra) if extra else ''))
    check(kinds['decidable'] > 0 and kinds['undecidable'] > 0,
          'the burst has both kinds: %d decidable, %d undecidable, %d borderline'
          % (kinds['decidable'], kinds['undecidable'], kinds['borderline']))
    log('DENSE live: %d detections: %d decidable, %d undecidable, %d borderline; incidents: %d '
        'traced to the right PC, %d without origin (%d of them decidable), %d WRONG, %d missing'
        % (len(detections), kinds['decidable'], kinds['undecidable'], kinds['borderline'],
           c['right'], c['ambiguous'], c['undecided-decidable'], c['wrong'], c['missing']))
    named = {(d.get('origin') or {}).get('ip') for d in incs.values()}
    check(IP['pc2'] not in named and IP['relay'] not in named and IP['relay2'] not in named,
          'no incident names the clean PC or a relay (origins: %s)' % sorted(map(str, named)))

    # containment: the infected PCs with a decidable detection are shut (allow_fuzzy), never
    # the clean PC
    want_down = sorted({{'pc': 3, 'pc3': 6}[d['truth']] for d in detections
                        if d['kind'] == 'decidable'})
    try:
        wait_for(lambda: all(admin(i) == '2' for i in want_down), 20, 'ports %s down' % want_down)
    except RuntimeError as e:
        log(str(e))
    downs = sorted({c_['if_index'] for c_ in (json.loads(l) for l in open(T + '/mirror.jsonl')
                                              if l.strip()) if c_['status'] == '2'})
    states = [admin(i) for i in range(1, 7)]
    check(downs == want_down and states == ['2' if i in want_down else '1' for i in range(1, 7)],
          'ports shut: %s, ifAdminStatus 1..6 = %s (want %s: the infected PCs with a decidable '
          'detection; never 4, the clean PC)' % (downs, states, want_down))

    if args.collector_outage:
        queued = {}
        for name in ('fwd-gw', 'fwd-relay', 'fwd-relay2'):
            with open(os.path.join(T, 'logs', name + '.out')) as f:
                queued[name] = [int(x) for x in re.findall(r'reconnected; sending (\d+) queued',
                                                           f.read())]
        check(all(queued.values()), 'each forwarder queued through the outage and flushed after '
              'it (lines sent on reconnecting: %s)' % queued)
    replay_equals_live(incs)


def replay_equals_live(live):
    """Replays the collected lines (the collector's own copy) with the lab's settings and
    compares origin and confidence per incident id with the live incidents."""
    with open(T + '/vtrace.yaml') as f:
        conf = f.read()
    conf = conf[:conf.index('output:')] + 'output:\n  state_dir: "%s/replay-state"\n' % T + \
        conf[conf.index('timezone:'):]
    os.makedirs(T + '/replay-state', exist_ok=True)
    write(T + '/vtrace-replay.yaml', conf)
    files = ['%s=%s/collected/%s.log' % (name, T, IP[name]) for name in ('gw', 'relay', 'relay2')]
    r = sh(CORRELATOR, '--config', T + '/vtrace-replay.yaml', '--replay', *files, check=False)
    write(T + '/replay.jsonl', r.stdout)
    replayed = latest(json.loads(l) for l in r.stdout.splitlines() if l.strip())

    def view(ds):
        """Per detection (its time): incident id, origin, confidence."""
        out = {}
        for d in ds.values():
            out.setdefault(d['detected_at'], []).append(
                (d['id'], (d.get('origin') or {}).get('ip'), d.get('confidence')))
        return out
    lv, rv = view(live), view(replayed)
    diff = sorted((t, lv.get(t), rv.get(t)) for t in set(lv) | set(rv) if lv.get(t) != rv.get(t))
    check(r.returncode == 0 and not diff,
          'live incidents (%d) equal the replay of the collected lines (%d): per detection the '
          'same id, origin and confidence%s%s' % (
              len(live), len(replayed), ' (replay exit %d: %s)'
              % (r.returncode, r.stderr.strip()[-300:]) if r.returncode else '',
              ''.join('\n      %s: live %s, replay %s' % x for x in diff[:20])))


# ---- 7. the direct scenario: a worm with its own SMTP engine, caught by the router's log ------
NETFILTER = re.compile(r' SRC=(\S+) DST=(\S+) .* PROTO=TCP SPT=(\d+) DPT=(\d+) ')


def fw_connections(src):
    """The kernel LOG lines fw1 shipped for connections from `src`, as the collector received
    them: [{'t', 'verdict', 'dst', 'spt', 'dpt'}]."""
    out = []
    for t, _, app, msg in collected().get(IP['fw'], []):
        m = NETFILTER.search(msg + ' ')
        if app != 'kernel' or not m or m.group(1) != src:
            continue
        verdict = 'BLOCK' if FW_BLOCK.strip() in msg else 'ALLOW' if FW_ALLOW.strip() in msg \
            else '?'
        out.append({'t': t, 'verdict': verdict, 'dst': m.group(2), 'spt': int(m.group(3)),
                    'dpt': int(m.group(4))})
    return out


def direct_scenario():
    """The infected PC's worm goes down a list of ten outside MX hosts itself (port 25, past the
    relays); the router's nftables rule logs and drops each SYN, the router's rsyslogd ships the
    kernel lines, the correlator reports the host once it crossed direct_smtp's threshold, the
    responder shuts its port (policy matched on kind). Meanwhile the clean PC mails through the
    relay (whose SMTP to the gateway the router logs as allowed: a mail source, exempt) and
    submits three mails to its provider's port 587 (allowed, logged, under the threshold)."""
    clean = sender('pc2', 'clean-pc2', '--server', IP['relay'], '--count', '3', '--interval', '1',
                   '--sender', 'carol@corp.lab.test', '--rcpt', 'dave@partner.example',
                   '--helo', 'pc11.corp.lab.test', '--tag', 'clean2')
    submit = sender('pc2', 'submit-pc2', '--server', IP['provider'], '--port', '587', '--count',
                    '3', '--interval', '1', '--sender', 'carol@provider.example',
                    '--rcpt', 'erin@partner.example', '--helo', 'pc11.corp.lab.test',
                    '--tag', 'submit2')
    time.sleep(0.5)
    worm = sender('pc', 'direct-worm', '--server', ','.join(MX), '--count', str(args.virus + 10),
                  '--interval', '0.2', '--sender', 'it-support@bank.example',
                  '--rcpt', 'bob@partner.example', '--helo', 'pc10.corp.lab.test',
                  '--tag', 'dworm', '--eicar', '--timeout', '0.3')
    for p in (worm, clean, submit):
        p.wait(120)
    attempts = results('direct-worm')
    log('worm on pc (%s): %d direct SMTP attempts to %d MX hosts, %d accepted'
        % (IP['pc'], len(attempts), len({a['server'] for a in attempts}),
           sum(a['ok'] for a in attempts)))

    def direct_incidents():
        return [d for d in jsonl_incidents() if d.get('kind') == 'direct_smtp']
    try:
        wait_for(lambda: direct_incidents() and admin(3) == '2', 20,
                 'a direct_smtp incident and port 3 down')
    except RuntimeError as e:
        log(str(e))
    time.sleep(1.5)     # the lines of the last attempts, and any incident that should not be

    # What the router's kernel logged, as the collector received it
    pc_lines = fw_connections(IP['pc'])
    blocked = [c for c in pc_lines if c['verdict'] == 'BLOCK' and c['dpt'] == 25]
    check(not any(a['ok'] for a in attempts) and len(blocked) == len(pc_lines)
          and len({(c['dst'], c['spt']) for c in blocked}) == len(blocked)
          and {c['dst'] for c in blocked} <= set(MX),
          'the router\'s nftables rule logged and dropped the worm\'s SMTP: %d kernel LOG lines '
          'from %s (one per attempt, to %d MX hosts, all BLOCK, port 25) reached the collector '
          'from fw1; none of its %d attempts reached an MX'
          % (len(blocked), IP['pc'], len({c['dst'] for c in blocked}), len(attempts)))
    submits = results('submit-pc2')
    pc2_lines = fw_connections(IP['pc2'])
    check(all(m['ok'] for m in submits) and len(pc2_lines) == len(submits)
          and all(c['verdict'] == 'ALLOW' and c['dpt'] == 587 for c in pc2_lines),
          'the clean PC\'s submissions to its provider\'s port 587: %d of %d accepted, %d logged '
          'as allowed' % (sum(m['ok'] for m in submits), len(submits), len(pc2_lines)))
    relay_lines = fw_connections(IP['relay'])
    check(sum(m['ok'] for m in results('clean-pc2')) == 3 and len(relay_lines) >= 1
          and all(c['verdict'] == 'ALLOW' and c['dst'] == IP['gw'] for c in relay_lines),
          'the clean PC\'s mail went through the relay; the router logged the relay\'s SMTP to '
          'the gateway as allowed (%d lines)' % len(relay_lines))
    try:
        with open(T + '/stats.json') as f:
            ds = json.load(f).get('direct_smtp', {})
    except (OSError, ValueError):
        ds = {}
    check(ds.get('exempt', 0) >= len(relay_lines) and ds.get('connections', 0) >=
          len(pc_lines) + len(pc2_lines) + len(relay_lines),
          'the correlator counted the firewall\'s connections (%s) and exempted the relay\'s '
          '(a mail source): %s' % (ds.get('connections'), ds.get('exempt')))

    # One direct_smtp incident for the PC, none for anyone else, no virus-mail incident
    incs = latest(jsonl_incidents())
    direct = [d for d in incs.values() if d.get('kind') == 'direct_smtp']
    named = {(d.get('origin') or {}).get('ip') for d in incs.values()}
    check(len(direct) == 1 and len(incs) == 1,
          'one incident, of kind direct_smtp: %s' % sorted((d.get('kind'), i)
                                                           for i, d in incs.items()))
    check(named <= {IP['pc']}, 'no incident names the clean PC, a relay or the gateway '
          '(origins: %s)' % sorted(map(str, named)))
    d = direct[0] if direct else {}
    o, c, det = d.get('origin') or {}, d.get('direct_smtp') or {}, d.get('detector') or {}
    check(o.get('ip') == IP['pc'] and o.get('internal') is True and o.get('zone') == 'lan'
          and d.get('confidence') == 'exact' and det == {'host': 'fw1', 'format': 'netfilter'}
          and d.get('action') == 'blocked'
          and DIRECT_THRESHOLD['connections'] <= c.get('connections', 0) <= len(blocked)
          and DIRECT_THRESHOLD['destinations'] <= c.get('destinations', 0) <= len(MX)
          and c.get('blocked') == c.get('connections') and c.get('allowed') == 0,
          'direct_smtp incident (revision %s): origin %s internal=%s zone %s, %s, detector %s, '
          'action %s, counts %s' % (d.get('revision'), o.get('ip'), o.get('internal'),
                                    o.get('zone'), d.get('confidence'), det, d.get('action'), c))

    # Containment: the PC's port, only it, really cut (no kernel line from it after that)
    changes = [json.loads(l) for l in open(T + '/mirror.jsonl') if l.strip()]
    downs = [x for x in changes if x['status'] == '2']
    states = [admin(i) for i in range(1, 7)]
    check(states == ['2' if i == 3 else '1' for i in range(1, 7)]
          and sorted({x['if_index'] for x in downs}) == [3],
          'switch ifAdminStatus 1..6 = %s; ports ever shut %s (only Gi1/0/3, the infected PC)'
          % (states, sorted({x['if_index'] for x in downs})))
    conts = (http_json('/v1/containments') or {}).get('containments', [])
    got = sorted((x.get('ip'), x.get('port'), x.get('status'), x.get('mac'))
                 for x in conts if x.get('follows') is None)
    check(got == [(IP['pc'], 'Gi1/0/3', 'down', MAC['pc'])], 'responder containments: %s' % got)
    rtr = snmpget('1.3.6.1.2.1.2.2.1.7.1', 'router')
    check(rtr == '1', 'the router was not written (ifAdminStatus.1 = %s)' % rtr)
    t_down = downs[0]['t'] if downs else None
    if t_down is not None:
        before = [a for a in attempts if a['t_start'] <= t_down + 0.1]
        check(len(before) - 1 <= len(blocked) <= len(before),
              'the port cut the worm off: %d kernel lines for the %d attempts started before the '
              'port went down, none for the %d after' % (len(blocked), len(before),
                                                         len(attempts) - len(before)))
        log('TIME pc (%s, direct SMTP): first worm SYN -> its port down (mirror saw it): %.2f s; '
            'attempts logged by fw1 before containment: %d'
            % (IP['pc'], t_down - attempts[0]['t_start'], len(blocked)))

    # The admins' mail says what the firewall saw, not "virus"
    def admin_mails():
        if not os.path.isdir(T + '/maildir/new'):
            return []
        return [m for m in mailbox.Maildir(T + '/maildir', factory=None, create=False)
                if 'security@lab.test' in (m.get('X-RcptTo') or '')]
    try:
        wait_for(lambda: admin_mails(), 10, 'the admin mail')
    except RuntimeError as e:
        log(str(e))
    time.sleep(duration_s(args.digest_window) + 1)    # no digest may follow
    mails = admin_mails()
    subjects = [' '.join(str(m.get('Subject', '')).split()) for m in mails]
    bodies = [(m.get_payload(decode=True) or b'').decode('utf-8', 'replace') for m in mails
              if not m.is_multipart()]
    said = re.search(r'%s tried (\d+) SMTP connections to (\d+) hosts in [^,]+, all blocked by fw1'
                     % re.escape(IP['pc']), ''.join(bodies))
    check(len(mails) == 1 and subjects[0].startswith('[vtrace] direct SMTP from %s' % IP['pc'])
          and 'virus' not in subjects[0].lower() and said is not None
          and not any(IP['pc2'] in s_ + b for s_, b in zip(subjects, bodies)),
          'one admin mail, saying what fw1 saw: %s / %s'
          % (subjects, said.group(0) if said else None))

    # Replay of the collected lines (fw1, the relay, the gateway) gives the same incident
    with open(T + '/vtrace.yaml') as f:
        conf = f.read()
    conf = conf[:conf.index('output:')] + 'output:\n  state_dir: "%s/replay-state"\n' % T + \
        conf[conf.index('timezone:'):]
    os.makedirs(T + '/replay-state', exist_ok=True)
    write(T + '/vtrace-replay.yaml', conf)
    files = ['%s=%s/collected/%s.log' % (name, T, IP[addr]) for name, addr in
             (('fw1', 'fw'), ('gw', 'gw'), ('relay', 'relay'))
             if os.path.exists('%s/collected/%s.log' % (T, IP[addr]))]
    r = sh(CORRELATOR, '--config', T + '/vtrace-replay.yaml', '--replay', *files, check=False)
    write(T + '/replay.jsonl', r.stdout)
    replayed = latest(json.loads(l) for l in r.stdout.splitlines() if l.strip())
    rd = next(iter(replayed.values()), {})
    check(r.returncode == 0 and list(replayed) == [d.get('id')]
          and (rd.get('origin') or {}).get('ip') == IP['pc']
          and (rd.get('direct_smtp') or {}).get('connections') == len(blocked),
          'a replay of the collected lines gives the same incident %s, origin %s, with all %d '
          'attempts counted: %s%s' % (d.get('id'), (rd.get('origin') or {}).get('ip'),
                                      len(blocked), rd.get('direct_smtp'),
                                      ' (replay exit %d: %s)' % (r.returncode, r.stderr[-300:])
                                      if r.returncode else ''))
    log('SUMMARY scenario=direct pc (%s): first worm SYN -> port down %s; attempts logged by '
        'fw1 %d of %d; direct_smtp incidents %d (counts %s); admin mails %d'
        % (IP['pc'], '%.2f s' % (t_down - attempts[0]['t_start']) if t_down else 'NEVER',
           len(blocked), len(attempts), len(direct), c, len(mails)))


def _stop(signum, _frame):
    raise SystemExit('interrupted by signal %d%s' % (signum, ' (the 240 s limit)'
                                                     if signum == signal.SIGALRM else ''))


for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGHUP):
    signal.signal(_s, _stop)
signal.alarm(240)
rc = 1
try:
    t = time.time()
    EXIM = None
    why = None if DIRECT else exim_available()     # the direct scenario has no pc3 and no Exim
    if why:
        log('SKIP the Exim relay variant: ' + why)
    elif not DIRECT:
        EXIM = True
    net_up()
    mgmt_up()
    collector_up()
    mail_up()
    if DIRECT:
        fw_up()
    wait_for(lambda: admin(4) == '1', 20, 'snmpsimd')
    wait_for(lambda: nsx('mgmt', 'bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/8025',
                         check=False).returncode == 0, 15, 'the responder to listen')
    mirror = spawn('mgmt', 'mirror', sys.executable, E2E + '/mirror.py', '--agent', SNMP,
                   '--community', 'switch', '--ns', P + 'sw', '1=uplink-not-mirrored', '2=p-relay',
                   '3=p-pc', '4=p-pc2', '5=p-relay2', '6=p-pc3', stdout=open(T + '/mirror.jsonl', 'wb'))
    wait_for(lambda: os.path.getsize(T + '/mirror.jsonl') > 0, 10, 'the port mirror')
    check([admin(i) for i in range(1, 7)] == ['1'] * 6, 'snmpsim: all 6 switch ports up(1)')
    log('lab up in %.1f s (scratch %s)' % (time.time() - t, T))

    direct_scenario() if DIRECT else dense_scenario() if DENSE else standard_scenario()
    rc = 0 if not failures else 1
except Exception as e:  # noqa: BLE001
    import traceback
    traceback.print_exc()
    failures.append(str(e))
    rc = 1
finally:
    signal.alarm(0)
    for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(_s, signal.SIG_IGN)     # finish the teardown whatever happens
    if sys.exc_info()[0] is SystemExit:
        failures.append(str(sys.exc_info()[1]))
    t = time.time()
    teardown(existed_before)
    if NF_LOG_BEFORE is not None and nf_log_all_netns() != NF_LOG_BEFORE:
        nf_log_all_netns(NF_LOG_BEFORE)
    for p in procs:
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass
    if os.path.exists(STATE):
        os.unlink(STATE)
    if failures or args.keep:
        print('scratch directory kept: ' + T)
    else:
        shutil.rmtree(T, ignore_errors=True)
    log('teardown %.1f s; total %.1f s' % (time.time() - t, time.time() - t_begin))
print('%d checks, %d failed' % (check.count, len(failures)))
print('PASS' if rc == 0 else 'FAIL')
sys.exit(rc)
