#!/usr/bin/env python3
"""Tests of the cgwfw Ansible module with the real ansible-playbook and the real cgwfw binary.

Every playbook runs with `-i localhost, -c local` inside a throwaway network namespace, so cgwfw changes
that namespace's nftables ruleset only. Assertions read the play recap and the kernel (`nft -j list
ruleset` in the namespace), never the module's own word. Run with the Python of the virtual environment
that holds ansible-core:

    .venv/bin/python ansible/tests/run_tests.py --cgwfw .build/debug/cgwfw

Ends with a line `ansible: N passed, N failed`.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ANSIBLE_DIR = os.path.dirname(HERE)
FIXTURES = os.path.join(HERE, 'fixtures')
TEST_PLAYBOOK = os.path.join(HERE, 'playbooks', 'cgwfw.yml')
EXAMPLE_PLAYBOOK = os.path.join(ANSIBLE_DIR, 'playbooks', 'aws-vpn-firewall.yml')
# The module and role under test: the source tree's, or those of the collection tarball given with
# --collection (installed with ansible-galaxy, as a user would), see main().
SOURCE = {'library': os.path.join(ANSIBLE_DIR, 'library'), 'roles': os.path.join(ANSIBLE_DIR, 'roles'),
          'collections': None}

# What the fixtures say, written down by hand from the fixture files (customer gateway, AWS endpoint).
PAIRS_A = {('198.51.100.7', '192.0.2.10'), ('198.51.100.7', '192.0.2.20')}
PAIRS_B = {('198.51.100.7', '203.0.113.30'), ('198.51.100.7', '203.0.113.40')}
# Short, so the test can wait past it and see that the confirmed change stayed.
CONFIRM_TIMEOUT = 8
# Long enough for the next ansible-playbook run (~2 s here) to start while the rollback is pending.
ROLLBACK_TIMEOUT = 6
FIXTURE_KEYS = ['madeUpKey%sforAnsibleTests' % suffix for suffix in ('A1', 'A2', 'B1', 'B2', 'C1', 'C2')]

# A host firewall someone else owns: cgwfw must leave it exactly as it was.
FOREIGN_RULESET = """table inet filter {
    chain input {
        type filter hook input priority filter; policy accept;
        ct state established,related accept
        tcp dport 22 accept
    }
}
table ip nat {
    chain postrouting {
        type nat hook postrouting priority srcnat;
        oifname "eth0" masquerade
    }
}
"""

RECAP = re.compile(r'^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


class Run:
    """One ansible-playbook run: exit status, output and the recap counters of localhost."""

    def __init__(self, argv, completed):
        self.argv = argv
        self.rc = completed.returncode
        self.output = completed.stdout + completed.stderr
        recaps = RECAP.findall(completed.stdout)
        check(recaps, 'no PLAY RECAP in the output of %s:\n%s' % (' '.join(argv), self.output))
        _, ok, changed, unreachable, failed = recaps[-1]
        self.ok, self.changed, self.failed = int(ok), int(changed), int(failed)
        check(int(unreachable) == 0, 'localhost unreachable:\n' + self.output)

    def expect(self, changed, failed=0):
        check((self.changed, self.failed) == (changed, failed),
              'expected changed=%d failed=%d in the recap, got changed=%d failed=%d:\n%s'
              % (changed, failed, self.changed, self.failed, self.output))


class Harness:
    def __init__(self, cgwfw, workdir):
        self.cgwfw = cgwfw
        self.workdir = workdir
        self.netns = 'cgwfw-ansible-%d' % os.getpid()
        self.outputs = []
        bindir = os.path.dirname(sys.executable)
        self.playbook_bin = os.path.join(bindir, 'ansible-playbook')
        self.ansible_doc_bin = os.path.join(bindir, 'ansible-doc')
        self.env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
        self.env.update({
            'ANSIBLE_LIBRARY': SOURCE['library'],
            'ANSIBLE_ROLES_PATH': SOURCE['roles'],
            'ANSIBLE_COLLECTIONS_PATH': SOURCE['collections'] or os.path.join(workdir, 'no-collections'),
            'ANSIBLE_HOME': os.path.join(workdir, 'ansible-home'),
            'ANSIBLE_LOCAL_TEMP': os.path.join(workdir, 'ansible-tmp'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(workdir, 'ansible-tmp'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'PYTHONDONTWRITEBYTECODE': '1',
        })
        # Commit-confirm state of this case only (cgwfw's default /run/cgwfw is machine-wide).
        self.state_dir = os.path.join(workdir, 'state')

    def __enter__(self):
        subprocess.run(['ip', 'netns', 'add', self.netns], check=True)
        subprocess.run(['ip', 'netns', 'exec', self.netns, 'ip', 'link', 'set', 'lo', 'up'], check=True)
        return self

    def __exit__(self, *exc):
        subprocess.run(['ip', 'netns', 'del', self.netns], check=False)

    def in_netns(self, argv):
        return ['ip', 'netns', 'exec', self.netns] + argv

    def playbook(self, playbook, extra_vars, *flags, wrapper=()):
        variables = {'cgwfw_binary': self.cgwfw, 'cgwfw_state_dir': self.state_dir, **extra_vars,
                     'ansible_python_interpreter': sys.executable}
        argv = list(wrapper) + [self.playbook_bin, '-i', 'localhost,', '-c', 'local', '-e', json.dumps(variables)]
        argv += list(flags) + [playbook]
        completed = subprocess.run(self.in_netns(argv), cwd=self.workdir, env=self.env, stdin=subprocess.DEVNULL,
                                   capture_output=True, text=True, timeout=300)
        self.outputs.append(completed.stdout + completed.stderr)
        return Run(argv, completed)

    def module(self, *flags, wrapper=(), **extra_vars):
        return self.playbook(TEST_PLAYBOOK, extra_vars, *flags, wrapper=wrapper)

    def ruleset(self):
        listing = subprocess.run(self.in_netns(['nft', '-j', 'list', 'ruleset']), check=True,
                                 capture_output=True, text=True).stdout
        return [item for item in json.loads(listing)['nftables'] if 'metainfo' not in item]

    def fixture(self, name):
        """Copies a fixture to the work dir: the 'target' paths the playbooks name."""
        path = os.path.join(self.workdir, name)
        shutil.copyfile(os.path.join(FIXTURES, name), path)
        os.chmod(path, 0o600)
        return path


def tables(ruleset):
    return {(item['table']['family'], item['table']['name']) for item in ruleset if 'table' in item}


def peer_pairs(ruleset, table='cgwfw'):
    """Address pairs held in the concatenated-set elements of the inet table, direction ignored."""
    pairs = set()
    for item in ruleset:
        nft_set = item.get('set')
        if not nft_set or nft_set['table'] != table or nft_set['family'] != 'inet':
            continue
        for element in nft_set.get('elem', []):
            if isinstance(element, dict) and 'elem' in element:
                element = element['elem']['val']
            if isinstance(element, dict) and 'concat' in element:
                pairs.add(frozenset(element['concat']))
    return pairs


def table_of(item):
    kind, body = next(iter(item.items()))
    return body['name'] if kind == 'table' else body.get('table')


def without_table(ruleset, name):
    return [item for item in ruleset if table_of(item) != name]


def unordered(pairs):
    return {frozenset(pair) for pair in pairs}


# ---- cases -----------------------------------------------------------------------------------------

def case_ansible_doc_renders(h):
    doc = subprocess.run([h.ansible_doc_bin, '-M', SOURCE['library'], 'cgwfw'],
                         env=h.env, cwd=h.workdir, capture_output=True, text=True)
    check(doc.returncode == 0, 'ansible-doc failed:\n' + doc.stderr)
    for option in ('configs', 'state', 'profile', 'local_address', 'nat_traversal', 'table', 'confirm_timeout',
                   'force', 'binary', 'EXAMPLES', 'RETURN VALUES'):
        check(option in doc.stdout, 'ansible-doc output lacks %s' % option)


def case_documentation_matches_argument_spec(h):
    """Every option in DOCUMENTATION exists in the argument spec with the same type, default and choices."""
    as_json = subprocess.run([h.ansible_doc_bin, '--json', '-M', SOURCE['library'], 'cgwfw'],
                             env=h.env, cwd=h.workdir, capture_output=True, text=True, check=True)
    documented = json.loads(as_json.stdout)['cgwfw']['doc']['options']
    sys.path.insert(0, SOURCE['library'])
    import cgwfw as module_source
    import ansible.module_utils.basic as basic
    captured = {}

    class Captured(Exception):
        pass

    def capture(**kwargs):
        captured.update(kwargs)
        raise Captured()
    real = basic.AnsibleModule
    module_source.AnsibleModule = capture
    try:
        module_source.main()
    except Captured:
        pass
    finally:
        module_source.AnsibleModule = real
    spec = captured['argument_spec']
    check(set(spec) == set(documented), 'documented %s, argument_spec %s' % (sorted(documented), sorted(spec)))
    for name, entry in spec.items():
        doc = documented[name]
        check(doc.get('type', 'str') == entry.get('type', 'str'), '%s: type differs' % name)
        check(doc.get('default') == entry.get('default'), '%s: default differs' % name)
        check(doc.get('choices') == entry.get('choices'), '%s: choices differ' % name)
        check(doc.get('elements') == entry.get('elements'), '%s: elements differ' % name)
    check(captured.get('supports_check_mode') is True, 'supports_check_mode is not set')


def case_validate_modules(h):
    """ansible-test's validate-modules over the module, in a collection layout as ansible-test wants it.

    Run directly: `ansible-test sanity` would first download pip for a venv of its own, which this
    machine cannot. The GPLv3 header check is for modules contributed to Ansible itself, not for this one.
    """
    import ansible_test
    validator = os.path.join(os.path.dirname(ansible_test.__file__), '_util', 'controller', 'sanity', 'validate-modules')
    root = os.path.join(h.workdir, 'collections')
    collection = os.path.join(root, 'ansible_collections', 'cgwfw', 'cgwfw')
    os.makedirs(os.path.join(collection, 'plugins', 'modules'))
    shutil.copy(os.path.join(SOURCE['library'], 'cgwfw.py'), os.path.join(collection, 'plugins', 'modules'))
    env = dict(h.env, PYTHONPATH=validator + os.pathsep + root)
    run = subprocess.run([sys.executable, os.path.join(validator, 'validate.py'), '--format', 'json', '--arg-spec',
                          '--collection', 'ansible_collections/cgwfw/cgwfw', '--collection-version', '1.0.0',
                          '--plugin-type', 'module', '-w', 'plugins/modules/cgwfw.py'],
                         cwd=collection, env=env, capture_output=True, text=True)
    check(run.stdout.strip(), 'validate-modules printed nothing:\n' + run.stderr)
    report = json.loads(run.stdout)['plugins/modules/cgwfw.py']
    problems = [p for p in report['errors'] + report['warnings'] if p['code'] != 'missing-gplv3-license']
    check(not problems and not report['traces'], 'validate-modules: %s %s' % (problems, report['traces']))


def case_collection_by_its_full_name(h):
    """The installed collection as users call it: cgwfw.cgwfw.cgwfw, with no library or roles path set."""
    if not SOURCE['collections']:
        print('  (skipped: no --collection tarball given)')
        return
    env = dict(h.env)
    del env['ANSIBLE_LIBRARY'], env['ANSIBLE_ROLES_PATH']
    doc = subprocess.run([h.ansible_doc_bin, 'cgwfw.cgwfw.cgwfw'], env=env, cwd=h.workdir, capture_output=True, text=True)
    check(doc.returncode == 0 and 'confirm_timeout' in doc.stdout, 'ansible-doc cgwfw.cgwfw.cgwfw:\n' + doc.stderr)
    playbook = os.path.join(h.workdir, 'fqcn.yml')
    with open(playbook, 'w') as out:
        out.write('- hosts: all\n  gather_facts: false\n  tasks:\n'
                  '    - cgwfw.cgwfw.cgwfw:\n        configs: ["{{ cgwfw_configs[0] }}"]\n'
                  '        binary: "{{ cgwfw_binary }}"\n')
    h.env, saved = env, h.env
    try:
        h.playbook(playbook, {'cgwfw_configs': [h.fixture('vpn-a.txt')]}).expect(changed=1)
    finally:
        h.env = saved
    check(peer_pairs(h.ruleset()) == unordered(PAIRS_A), 'the FQCN task did not apply vpn-a')


def case_first_run_changes_second_does_not(h):
    a = h.fixture('vpn-a.txt')
    h.module(cgwfw_configs=[a]).expect(changed=1)
    ruleset = h.ruleset()
    check(('inet', 'cgwfw') in tables(ruleset), 'no table inet cgwfw after the first run')
    check(peer_pairs(ruleset) == unordered(PAIRS_A), 'kernel peer pairs %s, expected %s'
          % (peer_pairs(ruleset), unordered(PAIRS_A)))
    second = h.module(cgwfw_configs=[a])
    second.expect(changed=0)
    check(h.ruleset() == ruleset, 'the second run changed the kernel state')


def case_check_diff_shows_change_and_leaves_kernel(h):
    a, b = h.fixture('vpn-a.txt'), h.fixture('vpn-b.txt')
    h.module(cgwfw_configs=[a])
    before = h.ruleset()
    run = h.module('--check', '--diff', cgwfw_configs=[a, b])
    run.expect(changed=1)
    check(h.ruleset() == before, 'check mode changed the kernel state')
    added_lines = [line for line in run.output.splitlines() if line.startswith('+') and '203.0.113.30' in line]
    check(added_lines, 'the diff shows no added line with 203.0.113.30:\n' + run.output)
    check('kernel table inet cgwfw (before)' in run.output, 'the diff has no before header:\n' + run.output)
    unchanged = h.module('--check', '--diff', cgwfw_configs=[a])
    unchanged.expect(changed=0)


def case_check_diff_shows_meaning_first_and_returns_tunnels(h):
    a, b = h.fixture('vpn-a.txt'), h.fixture('vpn-b.txt')
    h.module(cgwfw_configs=[a]).expect(changed=1)
    moved = os.path.join(h.workdir, 'vpn-a-moved.txt')
    with open(a) as source, open(moved, 'w') as target:
        text = source.read()
        check('192.0.2.20' in text, 'fixture vpn-a.txt lost its endpoint 192.0.2.20')
        target.write(text.replace('192.0.2.20', '192.0.2.21'))
    result_file = os.path.join(h.workdir, 'result.json')
    run = h.module('--check', '--diff', cgwfw_configs=[moved, b], cgwfw_result_file=result_file)
    run.expect(changed=1)
    heading = run.output.find('cgwfw: what changes per connection and tunnel:')
    rules = run.output.find('kernel table inet cgwfw (before)')
    check(0 <= heading < rules, 'the per-tunnel summary does not come before the rule diff:\n' + run.output)
    check('vpn-0a11aa11aa11aa11a tunnel 2: AWS endpoint replaced: 192.0.2.20 \u2192 192.0.2.21' in run.output,
          'no endpoint line in the summary:\n' + run.output)
    check(re.search(r'vpn-0b\w+: connection added: tunnel 1 198\.51\.100\.7 \u2194 203\.0\.113\.30', run.output),
          'no connection-added line in the summary:\n' + run.output)
    with open(result_file) as handle:
        result = json.load(handle)
    tunnels = result.get('tunnels') or []
    check({(t['customer_gateway'], t['aws_endpoint']) for t in tunnels}
          == {('198.51.100.7', '192.0.2.10'), ('198.51.100.7', '192.0.2.21')} | PAIRS_B,
          'tunnels returned: %s' % tunnels)
    for t in tunnels:
        check(isinstance(t['tunnel'], int) and isinstance(t['mss'], int) and t['mss_source']
              and isinstance(t['nat_traversal'], bool) and t['nat_traversal_reason'], 'incomplete tunnel %s' % t)
    kinds = sorted(change['kind'] for change in result.get('summary') or [])
    check(kinds == ['aws-endpoint-replaced', 'connection-added'], 'summary kinds %s' % kinds)
    # A real run returns the tunnels too, and no summary.
    h.module(cgwfw_configs=[moved, b], cgwfw_result_file=result_file).expect(changed=1)
    with open(result_file) as handle:
        result = json.load(handle)
    check(len(result.get('tunnels') or []) == 4 and 'summary' not in result, 'apply result: %s' % result)


def case_connection_added_then_removed(h):
    a, b = h.fixture('vpn-a.txt'), h.fixture('vpn-b.txt')
    h.module(cgwfw_configs=[a])
    h.module(cgwfw_configs=[a, b]).expect(changed=1)
    check(peer_pairs(h.ruleset()) == unordered(PAIRS_A | PAIRS_B), 'after adding B: %s' % peer_pairs(h.ruleset()))
    h.module(cgwfw_configs=[a]).expect(changed=1)
    check(peer_pairs(h.ruleset()) == unordered(PAIRS_A), 'after dropping B: %s' % peer_pairs(h.ruleset()))


def case_bad_config_fails_with_diagnostic_and_changes_nothing(h):
    a, bad = h.fixture('vpn-a.txt'), h.fixture('bad-placeholder.txt')
    h.module(cgwfw_configs=[a])
    before = h.ruleset()
    run = h.module(cgwfw_configs=[a, bad])
    run.expect(changed=0, failed=1)
    check(run.rc != 0, 'ansible-playbook exited 0 although the task failed')
    check('YOUR_UPLINK_ADDRESS' in run.output and 'bad-placeholder.txt' in run.output,
          "the failure does not carry cgwfw's diagnostic (file and offending text):\n" + run.output)
    check(h.ruleset() == before, 'a failed apply changed the kernel state')


def case_empty_configs_fail_unless_allowed(h):
    """An emptied connections directory would take every tunnel down: refused (65) unless allow_empty."""
    a = h.fixture('vpn-a.txt')
    h.module(cgwfw_configs=[a]).expect(changed=1)
    before = h.ruleset()
    empty = os.path.join(h.workdir, 'connections')
    os.makedirs(empty)
    run = h.module(cgwfw_configs=[empty])
    run.expect(changed=0, failed=1)
    check('no VPN connection in %s' % empty in run.output and 'cgwfw remove' in run.output,
          "the failure does not carry cgwfw's message:\n" + run.output)
    check('"rc": 65' in run.output, 'the failure does not carry exit status 65:\n' + run.output)
    check(h.ruleset() == before, 'a refused empty apply changed the kernel state')
    h.module(cgwfw_configs=[empty], cgwfw_allow_empty=True).expect(changed=1)
    check(not peer_pairs(h.ruleset()), 'allow_empty did not apply the empty ruleset: %s' % peer_pairs(h.ruleset()))


def case_missing_privilege_fails_with_diagnostic(h):
    """Root without CAP_NET_ADMIN (dropped from the bounding set): the task fails with cgwfw's message."""
    a = h.fixture('vpn-a.txt')
    run = h.module(cgwfw_configs=[a], wrapper=['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin'])
    run.expect(changed=0, failed=1)
    check('CAP_NET_ADMIN' in run.output, 'the failure does not name the missing privilege:\n' + run.output)
    check('"rc": 77' in run.output, 'the failure does not carry exit status 77:\n' + run.output)
    check(('inet', 'cgwfw') not in tables(h.ruleset()), 'a table appeared without the privilege')


def case_absent_removes_only_what_cgwfw_owns(h):
    foreign = os.path.join(h.workdir, 'foreign.nft')
    with open(foreign, 'w') as script:
        script.write(FOREIGN_RULESET)
    subprocess.run(h.in_netns(['nft', '-f', foreign]), check=True)
    foreign_state = h.ruleset()
    a = h.fixture('vpn-a.txt')
    h.module(cgwfw_configs=[a]).expect(changed=1)
    check(without_table(h.ruleset(), 'cgwfw') == foreign_state, 'apply touched tables cgwfw does not own')
    h.module('--check', cgwfw_state='absent').expect(changed=1)
    check(('inet', 'cgwfw') in tables(h.ruleset()), 'check mode removed the table')
    h.module(cgwfw_state='absent').expect(changed=1)
    check(h.ruleset() == foreign_state, 'state=absent left something behind or touched a foreign table')
    h.module(cgwfw_state='absent').expect(changed=0)


def case_custom_table(h):
    a = h.fixture('vpn-a.txt')
    h.module(cgwfw_configs=[a], cgwfw_table='vpnedge').expect(changed=1)
    check(('inet', 'vpnedge') in tables(h.ruleset()), 'no table inet vpnedge')
    check(peer_pairs(h.ruleset(), 'vpnedge') == unordered(PAIRS_A), 'wrong pairs in inet vpnedge')
    h.module(cgwfw_state='absent', cgwfw_table='vpnedge').expect(changed=1)
    check(('inet', 'vpnedge') not in tables(h.ruleset()), 'table inet vpnedge left behind')


def case_attach_into_an_existing_table(h):
    """attach: cgwfw's objects live in a foreign policy-drop table; absent leaves that table as it was."""
    foreign = os.path.join(h.workdir, 'foreign.nft')
    with open(foreign, 'w') as script:
        script.write(FOREIGN_RULESET.replace('policy accept', 'policy drop'))
    subprocess.run(h.in_netns(['nft', '-f', foreign]), check=True)
    before = h.ruleset()
    a = h.fixture('vpn-a.txt')
    h.module(cgwfw_configs=[a], cgwfw_attach='inet filter').expect(changed=1)
    check(('inet', 'cgwfw') not in tables(h.ruleset()), 'attach mode made a table of its own')
    check(peer_pairs(h.ruleset(), 'filter') == unordered(PAIRS_A), 'no peer pairs inside inet filter')
    h.module(cgwfw_configs=[a], cgwfw_attach='inet filter').expect(changed=0)
    h.module(cgwfw_state='absent', cgwfw_attach='inet filter').expect(changed=1)
    check(h.ruleset() == before, 'state=absent with attach did not restore inet filter exactly')


def case_cgwfw_warnings_become_ansible_warnings(h):
    """Standalone next to a policy-drop table: cgwfw warns, and the warning reaches the Ansible output."""
    foreign = os.path.join(h.workdir, 'foreign.nft')
    with open(foreign, 'w') as script:
        script.write(FOREIGN_RULESET.replace('policy accept', 'policy drop'))
    subprocess.run(h.in_netns(['nft', '-f', foreign]), check=True)
    a = h.fixture('vpn-a.txt')
    run = h.module(cgwfw_configs=[a])
    run.expect(changed=1)
    warnings = [line for line in run.output.splitlines() if line.startswith('[WARNING]') and 'filter' in line]
    check(warnings, 'no Ansible warning about the policy-drop inet filter table:\n' + run.output)


def case_strict_adds_drop_rules(h):
    a = h.fixture('vpn-a.txt')
    h.module(cgwfw_configs=[a], cgwfw_strict=False).expect(changed=1)
    loose = [item for item in h.ruleset() if 'rule' in item and '"drop"' in json.dumps(item)]
    h.module(cgwfw_configs=[a], cgwfw_strict=True).expect(changed=1)
    strict = [item for item in h.ruleset() if 'rule' in item and '"drop"' in json.dumps(item)]
    check(not loose and strict, 'strict=false gave %d drop rules, strict=true %d' % (len(loose), len(strict)))


def case_unconfirmed_change_rolls_back(h):
    """apply with confirm_timeout and no confirm: the ansible process is long gone when the rollback comes."""
    a, b = h.fixture('vpn-a.txt'), h.fixture('vpn-b.txt')
    h.module(cgwfw_configs=[a]).expect(changed=1)
    h.module(cgwfw_configs=[a, b], cgwfw_confirm_timeout=ROLLBACK_TIMEOUT).expect(changed=1)
    check(peer_pairs(h.ruleset()) == unordered(PAIRS_A | PAIRS_B), 'the change was not applied')
    pending = h.module(cgwfw_configs=[b])
    pending.expect(changed=0, failed=1)
    check('pending' in pending.output and '"rc": 75' in pending.output,
          'an apply during a pending rollback did not fail with cgwfw\'s message:\n' + pending.output)
    check(peer_pairs(h.ruleset()) == unordered(PAIRS_A | PAIRS_B), 'the refused apply changed the kernel')
    time.sleep(ROLLBACK_TIMEOUT + 1.5)
    check(peer_pairs(h.ruleset()) == unordered(PAIRS_A),
          'no rollback %.1f s after an unconfirmed change: %s' % (ROLLBACK_TIMEOUT + 1.5, peer_pairs(h.ruleset())))


def case_force_applies_over_a_pending_rollback(h):
    a, b = h.fixture('vpn-a.txt'), h.fixture('vpn-b.txt')
    h.module(cgwfw_configs=[a]).expect(changed=1)
    h.module(cgwfw_configs=[a, b], cgwfw_confirm_timeout=ROLLBACK_TIMEOUT).expect(changed=1)
    h.module(cgwfw_configs=[b], cgwfw_force=True).expect(changed=1)
    time.sleep(ROLLBACK_TIMEOUT + 1.5)
    check(peer_pairs(h.ruleset()) == unordered(PAIRS_B),
          'force without confirm_timeout should cancel the rollback and keep vpn-b: %s' % peer_pairs(h.ruleset()))


def case_example_playbook_applies_and_confirms(h):
    """The shipped example: copies configs, applies with a confirm timeout, confirms over a new connection."""
    config_dir = os.path.join(h.workdir, 'etc-cgwfw', 'connections')
    env_file = os.path.join(h.workdir, 'etc-cgwfw', 'cgwfw.env')
    variables = dict(cgwfw_hosts='all', ansible_become=False, cgwfw_config_dir=config_dir, cgwfw_boot_service=False,
                     cgwfw_staging_dir=os.path.join(h.workdir, 'etc-cgwfw', 'staged'), cgwfw_state_dir=h.state_dir,
                     cgwfw_env_file=env_file, cgwfw_nat_traversal='on', cgwfw_table='vpnedge',
                     cgwfw_config_files=[os.path.join(FIXTURES, 'vpn-a.txt')],
                     cgwfw_confirm_timeout=CONFIRM_TIMEOUT)
    review = h.playbook(EXAMPLE_PLAYBOOK, variables, '--check', '--diff')
    check(review.failed == 0 and review.changed >= 2, 'check mode before the first run:\n' + review.output)
    check(not os.path.exists(config_dir), 'check mode created the config directory')
    check(not tables(h.ruleset()), 'check mode changed the kernel')
    first = h.playbook(EXAMPLE_PLAYBOOK, variables, '--diff')
    check(first.failed == 0 and first.changed >= 2, 'first run of the example:\n' + first.output)
    check('[WARNING]' not in first.output, 'the example playbook warns:\n' + first.output)
    check('TASK [cgwfw : Confirm the change]' in first.output and 'skipping' not in
          first.output.split('TASK [cgwfw : Confirm the change]')[1].split('TASK')[0],
          'the example did not run cgwfw confirm after a change:\n' + first.output)
    time.sleep(CONFIRM_TIMEOUT + 1)
    check(peer_pairs(h.ruleset(), 'vpnedge') == unordered(PAIRS_A),
          'the confirmed change did not stay past the timeout: %s' % peer_pairs(h.ruleset(), 'vpnedge'))
    with open(env_file) as settings:
        lines = settings.read().splitlines()
    for expected in ('CGWFW_PROFILE=linux-host', 'CGWFW_TABLE=vpnedge', 'CGWFW_OPTIONS=--nat-traversal on'):
        check(expected in lines, 'cgwfw.env lacks %s:\n%s' % (expected, '\n'.join(lines)))
    check(oct(os.stat(config_dir).st_mode & 0o777) == '0o700', 'config dir is not 0700')
    copied = os.path.join(config_dir, 'vpn-a.txt')
    check(oct(os.stat(copied).st_mode & 0o777) == '0o600', 'copied config is not 0600')
    h.playbook(EXAMPLE_PLAYBOOK, variables, '--diff').expect(changed=0)
    variables['cgwfw_config_files'] = [os.path.join(FIXTURES, 'vpn-b.txt')]
    third = h.playbook(EXAMPLE_PLAYBOOK, variables)
    check(third.failed == 0 and third.changed >= 2, 'switching the example to vpn-b:\n' + third.output)
    check(not os.path.exists(copied), 'the config no longer listed was left on the target')
    check(peer_pairs(h.ruleset(), 'vpnedge') == unordered(PAIRS_B),
          'after switching to vpn-b: %s' % peer_pairs(h.ruleset(), 'vpnedge'))
    check(os.path.exists(os.path.join(config_dir, 'vpn-b.txt')), 'the confirmed vpn-b was not promoted')

    # A run cut off before the confirmation (here: confirm fails) promotes nothing: the boot unit's
    # directory keeps the last confirmed configuration, and the rollback restores its rules.
    wrapper = os.path.join(h.workdir, 'cgwfw-no-confirm')
    with open(wrapper, 'w') as script:
        script.write('#!/bin/sh\n[ "$1" = confirm ] && exit 1\nexec %s "$@"\n' % h.cgwfw)
    os.chmod(wrapper, 0o755)
    cut = dict(variables, cgwfw_binary=wrapper, cgwfw_config_files=[os.path.join(FIXTURES, 'vpn-a.txt')])
    cut_off = h.playbook(EXAMPLE_PLAYBOOK, cut)
    check(cut_off.failed == 1, 'the confirmation was expected to fail:\n' + cut_off.output)
    check(sorted(os.listdir(config_dir)) == ['vpn-b.txt'],
          'an unconfirmed configuration was promoted: %s' % os.listdir(config_dir))
    time.sleep(CONFIRM_TIMEOUT + 2)
    check(peer_pairs(h.ruleset(), 'vpnedge') == unordered(PAIRS_B),
          'the unconfirmed change was not rolled back: %s' % peer_pairs(h.ruleset(), 'vpnedge'))


def case_no_key_in_any_output(h):
    """Runs last: nothing Ansible printed in any case holds a pre-shared key of the fixtures."""
    check(h.outputs, 'no ansible output was collected')
    for output in h.outputs:
        for key in FIXTURE_KEYS:
            check(key not in output, 'a pre-shared key appears in ansible output')


CASES = [
    case_ansible_doc_renders,
    case_documentation_matches_argument_spec,
    case_validate_modules,
    case_collection_by_its_full_name,
    case_first_run_changes_second_does_not,
    case_check_diff_shows_change_and_leaves_kernel,
    case_check_diff_shows_meaning_first_and_returns_tunnels,
    case_connection_added_then_removed,
    case_bad_config_fails_with_diagnostic_and_changes_nothing,
    case_empty_configs_fail_unless_allowed,
    case_missing_privilege_fails_with_diagnostic,
    case_absent_removes_only_what_cgwfw_owns,
    case_custom_table,
    case_attach_into_an_existing_table,
    case_cgwfw_warnings_become_ansible_warnings,
    case_strict_adds_drop_rules,
    case_unconfirmed_change_rolls_back,
    case_force_applies_over_a_pending_rollback,
    case_example_playbook_applies_and_confirms,
    case_no_key_in_any_output,
]


def install_collection(tarball, path):
    galaxy = os.path.join(os.path.dirname(sys.executable), 'ansible-galaxy')
    subprocess.run([galaxy, 'collection', 'install', '--offline', '-p', path, tarball], check=True,
                   capture_output=True, text=True)
    installed = os.path.join(path, 'ansible_collections', 'cgwfw', 'cgwfw')
    SOURCE.update(library=os.path.join(installed, 'plugins', 'modules'), roles=os.path.join(installed, 'roles'),
                  collections=path)
    print('ansible: testing the collection %s' % os.path.basename(tarball))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cgwfw', required=True, help='the cgwfw binary to drive')
    parser.add_argument('--collection', help='test the module and role of this collection tarball (ansible-galaxy build)')
    parser.add_argument('-k', dest='only', help='run only cases whose name contains this')
    options = parser.parse_args()
    cgwfw = os.path.abspath(options.cgwfw)
    cases = [case for case in CASES if not options.only or options.only in case.__name__]
    if os.geteuid() != 0:
        print('ansible: SKIPPED all %d cases: network namespaces and nftables need root' % len(cases))
        print('ansible: 0 passed, 0 failed, %d skipped' % len(cases))
        return 0
    if not os.access(cgwfw, os.X_OK):
        print('ansible: %s is not an executable cgwfw binary' % cgwfw)
        print('ansible: 0 passed, %d failed' % len(cases))
        return 1
    passed = failed = 0
    workroot = tempfile.mkdtemp(prefix='cgwfw-ansible-')
    outputs = []
    try:
        if options.collection:
            install_collection(os.path.abspath(options.collection), os.path.join(workroot, 'collections'))
        for case in cases:
            workdir = os.path.join(workroot, case.__name__)
            os.makedirs(workdir)
            try:
                with Harness(cgwfw, workdir) as harness:
                    harness.outputs = outputs
                    case(harness)
                passed += 1
                print('PASS %s' % case.__name__)
            except Exception as error:  # one broken case must not hide the others
                failed += 1
                detail = str(error) if isinstance(error, Failure) else traceback.format_exc()
                print('FAIL %s: %s' % (case.__name__, detail))
            sys.stdout.flush()
    finally:
        shutil.rmtree(workroot, ignore_errors=True)
    print('ansible: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
