#!/usr/bin/python3
"""Integration test: a real vtrace-responder against a real SMTP server (aiosmtpd) that stores
every mail it receives in a Maildir.

Checked: internal vs external routing with the evidence in the mail, idempotent POST, a burst
of 400 incidents from one origin giving at most 3 mails, abuse mail held until released with
vtracectl, mail to an own-domain sender only, hostile envelope text, SMTP down then up (the
mail arrives once), a responder restart mid-burst (no lost and no duplicate mail), a 5xx
recorded as failed, STARTTLS + AUTH, the token on a non-loopback API, SIGHUP reload keeping the
old configuration on error, --check-config and a world-readable secrets file.

usage: smtp_integration.py --responder PATH --ctl PATH   (run by ctest)
"""
import argparse, email, email.header, email.policy, json, os, signal, socket, subprocess
import sys, tempfile, time, urllib.error, urllib.request
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'support'))
import testkit  # noqa: E402
from testkit import free_port, http, stop, write_file as write  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
PY = '/usr/bin/python3'   # the Debian python with python3-aiosmtpd (not a pyenv shim)

ap = argparse.ArgumentParser()
ap.add_argument('--responder', required=True)
ap.add_argument('--ctl', required=True)
ap.add_argument('--keep', action='store_true', help='keep the scratch directory')
args = ap.parse_args()

TMP = tempfile.mkdtemp(prefix='vtrace-responder-it-')
procs = []


check = testkit.Checks()
failures = check.failures


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(('127.0.0.1', port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_sink(port, maildir, *extra):
    p = subprocess.Popen([PY, os.path.join(testkit.SUPPORT_DIR, 'smtp_sink.py'), str(port), maildir, *extra],
                         stdout=subprocess.PIPE, stderr=open(maildir + '.log', 'a'), text=True)
    procs.append(p)
    line = p.stdout.readline()
    assert line.startswith('READY'), 'smtp sink did not start: %r' % line
    return p


def start_responder(config, api_port, name):
    log = open(os.path.join(TMP, name + '.log'), 'a')
    p = subprocess.Popen([args.responder, '--config', config], stdout=log, stderr=log)
    procs.append(p)
    assert wait_port(api_port), 'responder %s did not listen; see %s.log' % (name, name)
    return p


def mails(maildir):
    out = []
    new = os.path.join(maildir, 'new')
    if not os.path.isdir(new):
        return out
    for name in sorted(os.listdir(new)):
        with open(os.path.join(new, name), 'rb') as f:
            raw = f.read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        out.append((raw, msg))
    return out


def wait_mails(maildir, pred, count, timeout=15):
    end = time.time() + timeout
    found = []
    while time.time() < end:
        found = [m for m in mails(maildir) if pred(m[1])]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return found


def rcpts(msg):
    return sorted(r.strip() for r in str(msg['X-RcptTo']).split(','))


def incident(id, origin_ip='10.1.23.45', internal=True, virus='Worm.Mydoom.M',
             sender='forged@example.com', subject='hello', revision=1, at='2026-11-28T05:00:36Z'):
    hops = [{'host': 'gw1', 'queue_id': '4Q' + id, 'received_at': '2026-11-28T05:00:35Z',
             'client_ip': '10.1.0.25', 'client_name': 'relay1', 'link': 'queue_id'},
            {'host': 'relay1', 'queue_id': 'R' + id, 'received_at': '2026-11-28T05:00:34Z',
             'client_ip': origin_ip, 'client_name': 'pc-45', 'link': 'next_hop_queue_id'}]
    return json.dumps({
        'schema': 'vtrace.incident/1', 'id': id, 'revision': revision, 'detected_at': at,
        'detector': {'host': 'gw1', 'format': 'clamav-milter'}, 'virus': virus,
        'action': 'rejected', 'envelope': {'from': sender, 'to': ['a@example.ac.jp']},
        'message': {'queue_id': '4Q' + id, 'message_id': id + '@pc-45', 'subject': subject},
        'hops': hops,
        'origin': {'ip': origin_ip, 'name': 'pc-45', 'internal': internal,
                   'zone': 'tsushima' if internal else ''},
        'confidence': 'exact', 'candidates': [],
        'evidence': ['Nov 28 05:00:36 gw1 clamav-milter[812]: 4Q%s: Message infected by %s'
                     % (id, virus.replace('\r', ' ').replace('\n', ' '))]})


def config_text(api_port, smtp_port, state, secrets=None, extra_smtp='', listen='127.0.0.1'):
    return f"""listen:
  address: {listen}
  port: {api_port}
  body_limit: 262144
  timeout: 10s
state_file: {state}
{'secrets_file: ' + secrets if secrets else ''}
smtp:
  host: 127.0.0.1
  port: {smtp_port}
  from: vtrace@example.ac.jp
  helo: vtrace-test
  timeout: 5s
  retry_initial: 1s
  retry_max: 2s
{extra_smtp}
own_domains: [example.ac.jp]
abuse_contacts:
  - cidrs: [198.51.100.0/24]
    address: abuse@example.net
policies:
  - name: internal-origin
    match: {{origin: internal}}
    actions:
      - type: mail
        to: [admins@example.ac.jp, noc@example.ac.jp]
        digest_window: 4s
  - name: external-origin
    match: {{origin: external}}
    actions:
      - type: mail
        to: [postmaster@example.ac.jp]
        digest_window: 4s
      - type: mail_abuse
  - name: notify-sender
    match: {{viruses: ["*Exploit.Filename*"]}}
    actions:
      - type: mail_sender
  - name: bounce-test
    match: {{viruses: ["Test.Reject"]}}
    actions:
      - type: mail
        to: [reject@example.ac.jp]
"""


def main():
    ctl_env = dict(os.environ)
    # ---- --check-config ------------------------------------------------------------------
    r = subprocess.run([args.responder, '--check-config', '--config',
                        os.path.join(SOURCE, 'rules', 'responder.yaml')],
                       capture_output=True, text=True)
    check(r.returncode == 0 and r.stderr.strip().endswith(': OK'),
          'the shipped rules/responder.yaml passes --check-config')
    bad = write(os.path.join(TMP, 'bad.yaml'),
                'policies:\n  - name: p\n    actions:\n      - type: mail\n        to: [x]\n')
    r = subprocess.run([args.responder, '--check-config', '--config', bad],
                       capture_output=True, text=True)
    check(r.returncode == 1 and bad + ':5:14: error[address]' in r.stderr,
          '--check-config reports a bad address with file:line:col and exits 1')

    smtp_port, api_port = free_port(), free_port()
    maildir = os.path.join(TMP, 'Maildir')
    sink = start_sink(smtp_port, maildir, '--reject', 'reject@example.ac.jp')
    cfg_path = write(os.path.join(TMP, 'responder.yaml'),
                     config_text(api_port, smtp_port, os.path.join(TMP, 'state.db')), 0o644)
    resp = start_responder(cfg_path, api_port, 'responder')
    base = 'http://127.0.0.1:%d' % api_port

    # ---- internal origin: the admins get one mail with the evidence ---------------------
    status, body = http('POST', base + '/v1/incidents', incident('aaaa000000000001'))
    check(status == 201 and '"created"' in body, 'POST of a new incident answers 201 created')
    got = wait_mails(maildir, lambda m: 'aaaa000000000001' in str(m['X-Vtrace-Incident']), 1)
    check(len(got) == 1, 'the internal incident produced one mail')
    if got:
        raw, m = got[0]
        text = m.get_content()
        check(rcpts(m) == ['admins@example.ac.jp', 'noc@example.ac.jp'],
              'the internal mail went to both internal recipients')
        check(str(m['Subject']) ==
              '[vtrace] Worm.Mydoom.M sent by 10.1.23.45 (pc-45) (internal, zone tsushima)',
              'the subject names the virus, the origin and its zone')
        check('WARNING: THE ORIGIN IS INSIDE OUR NETWORK (zone tsushima)' in text,
              'the body warns that the origin is internal')
        check('gw1 clamav-milter[812]: 4Qaaaa000000000001: Message infected by Worm.Mydoom.M'
              in text, 'the body carries the antivirus record')
        check('2. relay1 queue Raaaa000000000001 received 2026-11-28T05:00:34.000000Z from '
              '10.1.23.45 (pc-45), linked by next_hop_queue_id' in text,
              'the body lists every hop with host, queue id, time, client and link')
        check(str(m['X-MailFrom']) == 'vtrace@example.ac.jp', 'the envelope sender is smtp.from')
    status, body = http('POST', base + '/v1/incidents', incident('aaaa000000000001'))
    check(status == 200 and '"unchanged"' in body, 'a resend answers 200 unchanged')
    status, body = http('POST', base + '/v1/incidents', incident('aaaa000000000001', revision=2))
    check(status == 200 and '"updated"' in body and '"actions_run":0' in body,
          'a higher revision updates without re-running actions')
    time.sleep(0.6)
    check(len([m for m in mails(maildir)
               if 'aaaa000000000001' in str(m[1]['X-Vtrace-Incident'])]) == 1,
          'neither the resend nor the update sent another mail')

    # ---- external origin: postmaster now, the abuse desk only after release -------------
    status, _ = http('POST', base + '/v1/incidents',
                     incident('bbbb000000000001', origin_ip='198.51.100.7', internal=False))
    got = wait_mails(maildir, lambda m: 'bbbb000000000001' in str(m['X-Vtrace-Incident']), 1)
    check(len(got) == 1 and rcpts(got[0][1]) == ['postmaster@example.ac.jp'],
          'the external incident went to postmaster only')
    check(got and 'WARNING' not in got[0][1].get_content(), 'no internal warning for an external origin')
    status, body = http('GET', base + '/v1/outbox?status=held')
    held = json.loads(body)['mails']
    check(len(held) == 1 and held[0]['to'] == ['abuse@example.net'],
          'the abuse mail is held for manual release')
    if held:
        r = subprocess.run([args.ctl, '--url', base, 'release', str(held[0]['id'])],
                           capture_output=True, text=True, env=ctl_env)
        check(r.returncode == 0, 'vtracectl release releases the held abuse mail')
        got = wait_mails(maildir, lambda m: rcpts(m) == ['abuse@example.net'], 1)
        check(len(got) == 1 and str(got[0][1]['Subject']) ==
              'Abuse report: virus mail from 198.51.100.7',
              'the released abuse mail reached the abuse contact')

    # ---- malformed JSON, vtracectl list/show ---------------------------------------------
    status, body = http('POST', base + '/v1/incidents', '{"schema": broken')
    check(status == 400 and 'not JSON' in body, 'malformed JSON is answered 400 with a message')
    r = subprocess.run([args.ctl, '--url', base, 'list'], capture_output=True, text=True)
    check(r.returncode == 0 and 'aaaa000000000001' in r.stdout and '198.51.100.7' in r.stdout,
          'vtracectl list shows the stored incidents')
    r = subprocess.run([args.ctl, '--url', base, 'show', 'aaaa000000000001'],
                       capture_output=True, text=True)
    check(r.returncode == 0 and 'internal-origin[0] mail: queued' in r.stdout and
          '#1 sent' in r.stdout, 'vtracectl show lists the actions and the sent mail')

    # ---- a burst of 400 from one origin (the 2004 PC's 398 worm mails): at most 3 mails --
    for i in range(400):
        http('POST', base + '/v1/incidents',
             incident('cccc%012d' % i, origin_ip='10.1.99.99',
                      virus='Worm.Mydoom.M' if i % 5 else 'Worm.Mydoom.O'))
    time.sleep(6)   # one digest window (4s) and the flush tick
    burst = [m for m in mails(maildir) if '10.1.99.99' in str(m[1]['Subject'])]
    check(2 <= len(burst) <= 3, 'a burst of 400 incidents from one origin gave %d mails' % len(burst))
    digests = [m for m in burst if 'digest' in str(m[1]['Subject'])]
    check(len(digests) == 1 and '399 more detections' in str(digests[0][1]['Subject']) and
          '320 x Worm.Mydoom.M' in digests[0][1].get_content() and
          '79 x Worm.Mydoom.O' in digests[0][1].get_content(),
          'the digest counts the other 399 detections and their viruses')

    # ---- the sender is mailed only in our own domains; hostile text stays text -----------
    http('POST', base + '/v1/incidents',
         incident('dddd000000000001', origin_ip='10.1.50.1', virus='Heuristics.Exploit.Filename',
                  sender='forged@outside.example'))
    hostile_virus = 'Exploit.Filename\r\nBcc: victim@evil.example\r\n\r\nInjected body'
    http('POST', base + '/v1/incidents',
         incident('dddd000000000002', origin_ip='10.1.50.2', virus=hostile_virus,
                  sender='Student@Example.AC.JP', subject='添付 =?UTF-8?B?QmNj?= \r\nX-Evil: 1'))
    got = wait_mails(maildir, lambda m: 'dddd000000000002' in str(m['X-Vtrace-Incident']), 2)
    to_sender = [m for m in got if rcpts(m[1]) == ['student@example.ac.jp']]
    check(len(to_sender) == 1, 'the own-domain sender was notified')
    time.sleep(0.5)
    forged = [m for m in mails(maildir) if 'outside.example' in str(m[1]['X-RcptTo'])]
    check(not forged, 'a forged outside sender was never mailed')
    for raw, m in got:
        head = raw.split(b'\r\n\r\n', 1)[0].decode('ascii', 'replace')
        names = [line.split(':', 1)[0] for line in head.split('\r\n')
                 if line and not line[0].isspace()]
        check('Bcc' not in names and 'X-Evil' not in names and
              'victim@evil.example' not in str(m['X-RcptTo']),
              'hostile virus text added no header and no recipient (%s)' % rcpts(m))
        check(all(b < 0x80 for b in head.encode()), 'the header block is pure ASCII')
        check('Exploit.Filename Bcc: victim@evil.example' in str(m['Subject']),
              'the hostile virus name is flattened into the subject, decoded: %r' % str(m['Subject']))

    # ---- 5xx: recorded as failed with the server's reply --------------------------------
    http('POST', base + '/v1/incidents', incident('eeee000000000001', origin_ip='10.1.60.1',
                                                   virus='Test.Reject'))
    failed = None
    for _ in range(50):
        _, body = http('GET', base + '/v1/incidents/eeee000000000001')
        doc = json.loads(body)
        failed = [x for x in doc['mails'] if x['status'] == 'failed']
        if failed:
            break
        time.sleep(0.1)
    check(bool(failed) and '550 5.1.1' in failed[0]['last_error'],
          'a 5xx is recorded as failed with the server reply: %r'
          % (failed[0]['last_error'] if failed else None))

    # ---- SMTP down, then up: the mail arrives exactly once --------------------------------
    stop(sink)
    http('POST', base + '/v1/incidents', incident('ffff000000000001', origin_ip='10.1.70.1'))
    time.sleep(2.5)
    _, body = http('GET', base + '/v1/incidents/ffff000000000001')
    doc = json.loads(body)
    check(doc['mails'] and doc['mails'][0]['status'] == 'queued' and
          doc['mails'][0]['attempts'] >= 1 and doc['mails'][0]['last_error'],
          'with the SMTP server down the mail stays queued with its error: %r'
          % (doc['mails'][0]['last_error'] if doc['mails'] else None))
    sink = start_sink(smtp_port, maildir, '--reject', 'reject@example.ac.jp')
    got = wait_mails(maildir, lambda m: 'ffff000000000001' in str(m['X-Vtrace-Incident']), 1)
    time.sleep(3)
    got = [m for m in mails(maildir) if 'ffff000000000001' in str(m[1]['X-Vtrace-Incident'])]
    check(len(got) == 1, 'after the SMTP server came back the mail arrived exactly once')

    # ---- restart of the responder mid-burst ----------------------------------------------
    for i in range(20):
        http('POST', base + '/v1/incidents', incident('1111%012d' % i, origin_ip='10.1.80.1'))
    wait_mails(maildir, lambda m: '10.1.80.1' in str(m['Subject']), 1)
    stop(resp)
    resp = start_responder(cfg_path, api_port, 'responder')
    # The correlator resends what it is unsure about, then the burst goes on.
    for i in range(10, 40):
        http('POST', base + '/v1/incidents', incident('1111%012d' % i, origin_ip='10.1.80.1'))
    time.sleep(6)
    burst = [m for m in mails(maildir) if '10.1.80.1' in str(m[1]['Subject'])]
    firsts = [m for m in burst if 'digest' not in str(m[1]['Subject'])]
    counted = 1 + sum(int(str(m[1]['Subject']).split('digest: ')[1].split(' ')[0])
                      for m in burst if 'digest' in str(m[1]['Subject']))
    check(len(firsts) == 1 and len(burst) <= 3,
          'a restart mid-burst sent no second first-mail (%d mails)' % len(burst))
    check(counted == 40, 'the mails account for all 40 detections, none twice (%d)' % counted)

    # ---- SIGHUP: a bad configuration is rejected, a good one applied ---------------------
    good = open(cfg_path).read()
    write(cfg_path, good + '  - name: broken\n    actions: [{type: mial}]\n', 0o644)
    resp.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    _, metrics = http('GET', base + '/metrics')
    check('vtrace_responder_config_reload_failures_total 1' in metrics and resp.poll() is None,
          'SIGHUP with a bad configuration keeps the daemon and the old configuration')
    write(cfg_path, good.replace('digest_window: 4s', 'digest_window: 5s'), 0o644)
    resp.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    _, metrics = http('GET', base + '/metrics')
    check('vtrace_responder_config_reloads_total 1' in metrics, 'SIGHUP with a good configuration reloads')
    status, _ = http('GET', base + '/healthz')
    check(status == 200, 'healthz answers after the reloads')
    stop(resp)

    # ---- STARTTLS + AUTH, secrets file ---------------------------------------------------
    cert, key = os.path.join(TMP, 'cert.pem'), os.path.join(TMP, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext',
                    'subjectAltName=DNS:localhost,IP:127.0.0.1'], check=True,
                   capture_output=True)
    tls_port, api2 = free_port(), free_port()
    maildir2 = os.path.join(TMP, 'Maildir-tls')
    start_sink(tls_port, maildir2, '--tls', cert, key, '--require-tls', '--auth',
               'vtrace:s3cret', '--require-auth')
    secrets = write(os.path.join(TMP, 'secrets.yaml'),
                    'api_token: 0123456789abcdef0123456789abcdef\nsmtp_password: s3cret\n', 0o644)
    cfg2 = write(os.path.join(TMP, 'responder-tls.yaml'),
                 config_text(api2, tls_port, os.path.join(TMP, 'state-tls.db'), secrets,
                             '  tls: starttls\n  username: vtrace\n  ca_file: %s\n' % cert), 0o644)
    r = subprocess.run([args.responder, '--check-config', '--config', cfg2],
                       capture_output=True, text=True)
    check(r.returncode == 1 and 'error[permissions]' in r.stderr and 's3cret' not in r.stderr,
          'a world-readable secrets file is refused without showing its content')
    os.chmod(secrets, 0o600)
    resp2 = start_responder(cfg2, api2, 'responder-tls')
    http('POST', 'http://127.0.0.1:%d/v1/incidents' % api2, incident('7777000000000001'))
    got = wait_mails(maildir2, lambda m: True, 1)
    check(len(got) == 1 and str(got[0][1]['X-TLS']) == 'True' and
          str(got[0][1]['X-Auth-User']) == 'vtrace',
          'mail went through STARTTLS with AUTH from the secrets file')
    stop(resp2)

    # ---- the token on a non-loopback API ------------------------------------------------
    api3 = free_port()
    cfg3 = write(os.path.join(TMP, 'responder-open.yaml'),
                 config_text(api3, smtp_port, os.path.join(TMP, 'state-open.db'), secrets,
                             listen='0.0.0.0'), 0o644)
    resp3 = start_responder(cfg3, api3, 'responder-open')
    url3 = 'http://127.0.0.1:%d/v1/incidents' % api3
    status, _ = http('POST', url3, incident('8888000000000001'))
    check(status == 401, 'bound beyond loopback, a POST without the token is refused')
    status, _ = http('POST', url3, incident('8888000000000001'), token='wrong-token-000000')
    check(status == 401, 'and so is a POST with a wrong token')
    status, _ = http('POST', url3, incident('8888000000000001'),
                     token='0123456789abcdef0123456789abcdef')
    check(status == 201, 'a POST with the token is accepted')
    status, body = http('POST', url3, 'x' * 270000, token='0123456789abcdef0123456789abcdef')
    check(status == 413, 'a body above listen.body_limit is answered 413')
    stop(resp3)


try:
    main()
except Exception as e:   # an unexpected error is a failure, with the scratch dir kept
    import traceback
    traceback.print_exc()
    failures.append('exception: %s' % e)
finally:
    for p in procs:
        stop(p)

print('%d checks, %d failed' % (check.count, len(failures)))
if failures:
    print('scratch directory kept: ' + TMP)
    for f in failures:
        print('  failed: ' + f)
    sys.exit(1)
if not args.keep:
    import shutil
    shutil.rmtree(TMP, ignore_errors=True)
