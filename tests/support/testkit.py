"""Helpers the Python test and benchmark drivers share: free ports on 127.0.0.1, stopping a
child process, and snmpsim data files (.snmprec) for simulated switches and routers.

Import from a script in tests/<dir>/ or bench/ with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'support'))
(bench/: '..', 'tests', 'support').
"""
import os
import signal
import socket
import subprocess


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
