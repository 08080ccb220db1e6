#!/usr/bin/python3
"""A small automation server for the HTTP back-end tests: a webhook receiver with a port-state
store and a status endpoint, and enough of the AWX API (job template launch, job polling,
cancel). It checks every request's credentials itself: a bearer token, or an HMAC-SHA256
signature of the exact body. Standard library only; binds 127.0.0.1 on an ephemeral port and
prints 'READY <port>' once listening.

Webhook:  POST /hook/<mode>/<switch>/<port>/<action>   mode: ok | flaky (two 503s per path,
          then ok) | reject (400) | slow (answers after 2 s) | noop (200, changes nothing)
          action: down | up, or quarantine_vlan | restore_vlan with the body's integer "vlan"
          (the port's VLAN after) and "previous_vlan" (before)
          GET  /status/<switch>/<port>  -> {"port": {"admin": "up"|"down", "vlan": N or null}}
AWX:      POST /api/v2/job_templates/<id>/launch/      7: job succeeds, 8: job fails,
                                                       9: job runs forever, 10: ignores extra_vars
          (a successful job does what extra_vars' action says, as the webhook does)
          GET  /api/v2/jobs/<id>/   POST /api/v2/jobs/<id>/cancel/
Test aid: GET  /requests  -> every request seen (method, path, headers, body, auth verdict)

usage: automation_server.py --token T --hmac-key K [--tls CERT KEY]
"""
import argparse, hashlib, hmac, json, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

ap = argparse.ArgumentParser()
ap.add_argument('--token', required=True)
ap.add_argument('--hmac-key', required=True)
ap.add_argument('--tls', nargs=2, metavar=('CERT', 'KEY'))
args = ap.parse_args()

lock = threading.Lock()
seen = []            # every request, in order
ports = {}           # (switch, port) -> 'up' | 'down'
vlans = {}           # (switch, port) -> the VLAN a quarantine_vlan / restore_vlan set
VLAN_ACTIONS = ('quarantine_vlan', 'restore_vlan')
flaky = {}           # path -> 503s sent
jobs = {}            # id -> {'template', 'polls', 'status', 'vars'}


def valid_vlan(v):
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4094


def apply(switch, port, action, vlan):
    """What the automation does to a port (the caller holds `lock`)."""
    if action in VLAN_ACTIONS:
        vlans[(switch, port)] = vlan
    else:
        ports[(switch, port)] = action


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def reply(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def auth(self, body):
        if self.headers.get('Authorization') == 'Bearer ' + args.token:
            return 'bearer-ok'
        sig = self.headers.get('X-Vtrace-Signature', '')
        want = 'sha256=' + hmac.new(args.hmac_key.encode(), body, hashlib.sha256).hexdigest()
        if sig and hmac.compare_digest(sig, want):
            return 'hmac-ok'
        return 'denied'

    def handle_any(self, method):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        verdict = self.auth(body)
        parts = [unquote(p) for p in self.path.split('?')[0].strip('/').split('/')]
        with lock:
            if parts != ['requests']:
                seen.append({'method': method, 'path': self.path, 'auth': verdict,
                             'headers': dict(self.headers), 'body': body.decode('utf-8', 'replace')})
            if parts == ['requests']:
                return self.reply(200, seen)
        if verdict == 'denied':
            return self.reply(401, {'detail': 'Authentication credentials were not provided.'})
        if method == 'POST' and len(parts) == 5 and parts[0] == 'hook':
            return self.hook(parts[1], parts[2], parts[3], parts[4], body)
        if method == 'GET' and len(parts) == 3 and parts[0] == 'status':
            with lock:
                state = ports.get((parts[1], parts[2]), 'up')
                vlan = vlans.get((parts[1], parts[2]))
            return self.reply(200, {'port': {'name': parts[2], 'admin': state, 'vlan': vlan}})
        if parts[:3] == ['api', 'v2', 'job_templates'] and len(parts) == 5 and method == 'POST':
            return self.launch(int(parts[3]), body)
        if parts[:3] == ['api', 'v2', 'jobs'] and len(parts) >= 4:
            return self.job(int(parts[3]), method, parts[4:])
        return self.reply(404, {'detail': 'Not found.'})

    def hook(self, mode, switch, port, action, body):
        try:
            doc = json.loads(body)
        except ValueError:
            return self.reply(400, {'error': 'body is not JSON'})
        if mode == 'reject':
            return self.reply(400, {'error': 'unknown switch'})
        if mode == 'flaky':
            with lock:
                flaky[self.path] = flaky.get(self.path, 0) + 1
                if flaky[self.path] <= 2:
                    return self.reply(503, {'error': 'busy'})
        if mode == 'slow':
            time.sleep(2)
        if doc.get('port') != port or doc.get('switch') != switch or doc.get('action') != action:
            return self.reply(400, {'error': 'body and path disagree'})
        if action in VLAN_ACTIONS and not (valid_vlan(doc.get('vlan'))
                                           and valid_vlan(doc.get('previous_vlan'))):
            return self.reply(400, {'error': action + ' needs integer vlan and previous_vlan'})
        if mode != 'noop':
            with lock:
                apply(switch, port, action, doc.get('vlan'))
        return self.reply(202, {'accepted': True})

    def launch(self, template, body):
        extra = json.loads(body or b'{}').get('extra_vars', {})
        with lock:
            n = 300 + len(jobs) + 1
            jobs[n] = {'template': template, 'polls': 0, 'status': 'pending', 'vars': extra}
        doc = {'job': n, 'id': n, 'status': 'pending', 'ignored_fields': {}}
        if template == 10:
            doc['ignored_fields'] = {'extra_vars': extra}
        return self.reply(201, doc)

    def job(self, n, method, rest):
        with lock:
            job = jobs.get(n)
            if not job:
                return self.reply(404, {'detail': 'Not found.'})
            if method == 'POST' and rest == ['cancel']:
                job['status'] = 'canceled'
                return self.reply(202, {})
            job['polls'] += 1
            if job['status'] in ('pending', 'running') and job['template'] != 9:
                if job['polls'] >= 3:
                    ok = job['template'] == 7
                    job['status'] = 'successful' if ok else 'failed'
                    if ok:
                        v = job['vars']
                        apply(v['switch'], v['port'], v['action'], v.get('vlan'))
                else:
                    job['status'] = 'running'
            elif job['template'] == 9 and job['status'] != 'canceled':
                job['status'] = 'running'
            return self.reply(200, {'id': n, 'status': job['status']})

    def do_GET(self):
        self.handle_any('GET')

    def do_POST(self):
        self.handle_any('POST')


server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
server.daemon_threads = True
if args.tls:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*args.tls)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
print('READY %d' % server.server_address[1], flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
