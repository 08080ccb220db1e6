#!/usr/bin/python3
"""e2e lab "port mirror": makes the simulated switch real. Polls ifAdminStatus of the given
ports on snmpsim (v2c) every 20 ms and applies it to the lab's veth bridge ports
(`ip -n NS link set DEV down|up`), so a port the responder shuts really cuts the PC off.
Prints one JSON line per change: {"t", "if_index", "dev", "status"}.

usage: mirror.py --agent IP:PORT --community C --ns NS IFINDEX=DEV ..."""
import argparse, json, signal, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument('--agent', required=True)
ap.add_argument('--community', required=True)
ap.add_argument('--ns', required=True)
ap.add_argument('ports', nargs='+')
a = ap.parse_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
ports = [(int(p.split('=')[0]), p.split('=')[1]) for p in a.ports]
oids = ['1.3.6.1.2.1.2.2.1.7.%d' % i for i, _ in ports]
env = {'MIBS': '', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}
state = {}
while True:
    r = subprocess.run(['snmpget', '-v2c', '-c', a.community, '-t', '1', '-r', '0', '-Oqv',
                        a.agent, *oids], capture_output=True, text=True, env=env)
    vals = r.stdout.split()
    if r.returncode == 0 and len(vals) == len(ports):
        for (idx, dev), v in zip(ports, vals):
            if state.get(idx) != v:
                if idx in state:
                    subprocess.run(['ip', '-n', a.ns, 'link', 'set', dev,
                                    'down' if v == '2' else 'up'], check=False)
                state[idx] = v
                print(json.dumps({'t': time.time(), 'if_index': idx, 'dev': dev, 'status': v}),
                      flush=True)
    time.sleep(0.02)
