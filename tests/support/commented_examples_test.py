#!/usr/bin/env python3
"""Every commented example in the shipped configuration files loads when uncommented.

An example line is a comment whose text (after "#" and one space) is YAML: a key
(`lowercase-name:`) or a list item (`- `); every other comment is prose and must not look like
that. All example lines of a file are uncommented together (deleting "# " keeps their YAML
indentation); a `key: []` right above an uncommented list item loses its `[]`. Then:
rules/vtrace.yaml -> vtrace-correlator --check-config; rules/responder.yaml with
packaging/responder-secrets.yaml (both uncommented, the secrets file named by the uncommented
secrets_file, mode 0640) -> vtrace-responder --check-config. The shipped files themselves are
checked as shipped too.

usage: commented_examples_test.py SOURCE_DIR CORRELATOR RESPONDER
"""
import os
import re
import subprocess
import sys
import tempfile

COMMENT = re.compile(r'^(\s*)# ?(.*)$')
YAML_EXAMPLE = re.compile(r'^\s*(- |[a-z][a-z0-9_-]*:(\s|$))')
EMPTY_LIST = re.compile(r'^(\s*[a-z][a-z0-9_]*:)\s*\[\](\s*#.*)?$')


def uncomment(text):
    """The text with every example line uncommented, and how many there were."""
    out, count, last_yaml = [], 0, None
    for line in text.splitlines():
        m = COMMENT.match(line)
        if m and YAML_EXAMPLE.match(m.group(2)):
            content = m.group(2)
            if content.lstrip().startswith('- ') and last_yaml is not None:
                empty = EMPTY_LIST.match(out[last_yaml])
                if empty:
                    out[last_yaml] = empty.group(1) + (empty.group(2) or '')
            out.append(m.group(1) + content)
            last_yaml = len(out) - 1
            count += 1
            continue
        out.append(line)
        if line.strip() and not m:
            last_yaml = len(out) - 1
    return '\n'.join(out) + '\n', count


def check(what, command):
    r = subprocess.run(command, capture_output=True, text=True)
    ok = r.returncode == 0
    print(('ok    ' if ok else 'FAIL  ') + what)
    if not ok:
        print('  ' + ' '.join(command) + '\n  ' + (r.stdout + r.stderr).strip().replace('\n', '\n  '))
    return ok


def main(source, correlator, responder):
    tmp = tempfile.mkdtemp(prefix='vtrace-examples-')
    etc, state = os.path.join(tmp, 'etc/vtrace'), os.path.join(tmp, 'var/lib/vtrace')
    os.makedirs(etc)
    os.makedirs(os.path.join(state, 'correlator'))
    os.makedirs(os.path.join(etc, 'templates'))

    def place(text):     # the shipped absolute paths, moved under tmp
        return text.replace('/etc/vtrace/', etc + '/').replace('/var/lib/vtrace/', state + '/')

    ok = True
    for name, rel in (('vtrace.yaml', 'rules/vtrace.yaml'), ('responder.yaml', 'rules/responder.yaml'),
                      ('responder-secrets.yaml', 'packaging/responder-secrets.yaml')):
        with open(os.path.join(source, rel)) as f:
            shipped = f.read()
        text, count = uncomment(shipped)
        print('%s: %d example lines uncommented' % (rel, count))
        if count == 0:
            print('FAIL  %s has no commented examples to check (is the rule above still right?)' % rel)
            ok = False
        for variant, body in (('shipped', shipped), ('uncommented', text)):
            path = os.path.join(etc, variant + '-' + name)
            with open(path, 'w') as f:
                f.write(place(body).replace(etc + '/responder-secrets.yaml',
                                            os.path.join(etc, variant + '-responder-secrets.yaml')))
            os.chmod(path, 0o640)
    for variant in ('shipped', 'uncommented'):
        ok &= check('rules/vtrace.yaml, %s, --check-config' % variant,
                    [correlator, '--config', os.path.join(etc, variant + '-vtrace.yaml'), '--check-config'])
        ok &= check('rules/responder.yaml + packaging/responder-secrets.yaml, %s, --check-config' % variant,
                    [responder, '--config', os.path.join(etc, variant + '-responder.yaml'), '--check-config'])
    subprocess.run(['rm', '-rf', tmp])
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:4]))
