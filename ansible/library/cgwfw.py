#!/usr/bin/python
# -*- coding: utf-8 -*-
# Ansible module for cgwfw: firewall rules for the customer gateway side of an AWS Site-to-Site VPN.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: cgwfw
short_description: Apply AWS Site-to-Site VPN firewall rules with cgwfw
description:
  - Runs C(cgwfw apply --json) (or C(cgwfw remove --json)) on the target, which makes the kernel's
    nftables table owned by cgwfw equal to the rules compiled from the AWS VPN configuration files in
    O(configs), in one netlink transaction.
  - Idempotent. The task reports C(changed) only when the kernel's ruleset actually changed.
  - In check mode it runs C(cgwfw diff --json) (or C(cgwfw remove --dry-run --json)) and changes nothing;
    C(changed) then says whether a real run would change the kernel.
  - With C(--diff) the task shows first what changes per connection and tunnel (connection added or
    removed, AWS endpoint replaced, customer gateway changed, NAT-T opened or closed and why), then the
    owned table before and after, as nft text.
  - Returns the tunnels it manages in RV(tunnels) (addresses, MSS and its source, NAT-T and why), for a
    playbook to assert on.
  - The configuration files contain pre-shared keys. This module never reads or returns their content;
    cgwfw drops the keys from everything it prints.
version_added: "1.0.0"
author:
  - cgwfw maintainers (!UNKNOWN)
requirements:
  - cgwfw installed on the target (see O(binary)).
  - CAP_NET_ADMIN on the target (run the task with C(become=true) unless connected as root).
options:
  configs:
    description:
      - Paths, on the target, of AWS VPN configuration files (Generic text, CustomerGatewayConfiguration
        XML, describe-vpn-connections JSON, ipsec.conf or VyOS downloads; the format is detected from the
        content).
      - All files are applied together as one ruleset. Connections that are in the kernel but in none of
        these files are removed.
      - Required when O(state=present).
    type: list
    elements: path
  state:
    description:
      - V(present) makes the owned table equal to the rules compiled from O(configs).
      - V(absent) removes everything cgwfw owns (the table). O(configs) is not needed then.
    type: str
    choices: [present, absent]
    default: present
  profile:
    description:
      - Deployment profile, a built-in name (for example V(linux-host), V(linux-gateway)) or the path of a
        profile YAML file on the target. cgwfw's default profile is used when omitted.
    type: str
  local_address:
    description:
      - Replaces the customer gateway outside address found in the configs, for a gateway behind NAT
        or a configuration that holds a placeholder.
    type: str
  nat_traversal:
    description:
      - Whether UDP 4500 (NAT-T) is opened for each tunnel. V(auto) decides from the configs, the profile
        and O(local_address).
    type: str
    choices: [auto, 'on', 'off']
  attach:
    description:
      - Keep cgwfw's chains and sets inside this existing nftables table (for example V(inet filter)),
        reached by one jump at the top of its base chains, instead of a table of cgwfw's own. Use this
        when that table's base chains drop by default, since an accept in another table cannot override
        their drop.
      - Use the same value for V(present) and V(absent).
    type: str
  strict:
    description:
      - Also drop IKE, NAT-T and ESP to or from the customer gateway that do not belong to an AWS
        endpoint pair. The profile decides when omitted.
    type: bool
  placement:
    description:
      - V(host) when the rules live on the customer gateway itself, V(gateway) for a firewall in front of
        it (forward hook). The profile decides when omitted.
    type: str
    choices: [host, gateway]
  wan_interface:
    description:
      - With V(gateway) placement, match only traffic on this internet-side interface.
    type: str
  tunnel_interfaces:
    description:
      - Select tunnel traffic for the MSS and DF rules by these interfaces instead of by IPsec policy.
    type: list
    elements: str
  table:
    description:
      - Name of the nftables table cgwfw owns (in the C(inet) family). The profile's name, C(cgwfw) by
        default, when omitted. Use the same value for V(present) and V(absent).
    type: str
  confirm_timeout:
    description:
      - Commit-confirm, for changes over the network path the tunnel or the management session uses.
        The change is applied and the previous owned state is restored automatically unless
        C(cgwfw confirm) runs on the target within this many seconds.
      - Run C(cgwfw confirm) in a later task; that task opens a fresh connection, which proves the
        gateway can still be reached with the new rules.
      - Ignored in check mode and with O(state=absent).
    type: int
  force:
    description:
      - Apply even though an earlier change made with O(confirm_timeout) is still unconfirmed. Without
        it the task fails with cgwfw's message while a rollback is pending.
      - With O(confirm_timeout) the pending rollback keeps its target (the rules before the first
        unconfirmed change) and its timer restarts; without, the rollback is cancelled as by
        C(cgwfw confirm).
    type: bool
    default: false
  state_dir:
    description:
      - Keep cgwfw's state (commit-confirm, snapshots) under this directory instead of C(/run/cgwfw) and
        C(/var/lib/cgwfw) (tests, unusual layouts). cgwfw reads it from this option only, never from the
        environment.
    type: path
  allow_empty:
    description:
      - Apply even when O(configs) hold no VPN connection (for example an emptied directory). That
        removes every peer from the owned table and takes the tunnels down. Without it such a task fails
        (rc 65) and nothing changes; use O(state=absent) to remove cgwfw's rules on purpose.
    type: bool
    default: false
  binary:
    description:
      - The cgwfw executable on the target, a name looked up in E(PATH) (and the usual sbin directories)
        or an absolute path.
    type: str
    default: cgwfw
notes:
  - Supports C(check_mode) and C(diff_mode).
  - A failed task carries cgwfw's exit status in RV(rc) and its diagnostic in C(msg)
    (for example the file, line and offending text of a bad configuration, or the missing privilege).
  - The README of cgwfw describes the profiles, the exit codes, the C(/etc/cgwfw/) layout and the
    systemd unit.
'''

EXAMPLES = r'''
- name: Allow IKE, NAT-T and ESP for the AWS tunnels and clamp MSS
  cgwfw:
    configs:
      - /etc/cgwfw/connections/vpn-0a1b2c3d4e5f60789.txt
      - /etc/cgwfw/connections/vpn-0fedcba9876543210.xml
    profile: linux-host
  become: true

- name: A gateway behind NAT uses its private uplink address and needs NAT-T
  cgwfw:
    configs: [/etc/cgwfw/connections/vpn-0a1b2c3d4e5f60789.txt]
    local_address: 10.0.0.5
    nat_traversal: "on"

- name: Apply with a safety net; the previous rules come back in 120 s unless confirmed
  cgwfw:
    configs: "{{ cgwfw_configs }}"
    confirm_timeout: 120

- name: Confirm over a fresh connection
  ansible.builtin.command: cgwfw confirm
  changed_when: false

- name: Remove everything cgwfw owns
  cgwfw:
    state: absent
'''

RETURN = r'''
changed:
  description: Whether the kernel's ruleset changed (in check mode, whether it would change).
  returned: always
  type: bool
table:
  description: The nftables table cgwfw owns.
  returned: success
  type: str
  sample: inet cgwfw
added:
  description: Objects added to the owned table (peer pairs, rules), as cgwfw names them.
  returned: success
  type: list
  elements: str
  sample: ["peer 198.51.100.7 . 192.0.2.10 (vpn-0a1b2c3d4e5f60789 tunnel 1)"]
removed:
  description: Objects removed from the owned table, as cgwfw names them.
  returned: success
  type: list
  elements: str
  sample: []
diff:
  description: The owned table before and after, as nft text. Returned when the task runs with C(--diff).
  returned: success and diff mode
  type: dict
  contains:
    before:
      description: The owned table as the kernel held it.
      type: str
    after:
      description: The owned table as cgwfw leaves it (or would leave it, in check mode).
      type: str
    before_header:
      description: Where RV(diff.before) comes from.
      type: str
      sample: kernel table inet cgwfw (before)
    after_header:
      description: Where RV(diff.after) comes from.
      type: str
      sample: kernel table inet cgwfw (after)
tunnels:
  description: The tunnels the configs make, one entry per connection and tunnel, as cgwfw decides them
    (with O(state=present)).
  returned: success and state is present
  type: list
  elements: dict
  contains:
    connection:
      description: The VPN connection id (or the file, when the id was redacted).
      type: str
      sample: vpn-0a1b2c3d4e5f60789
    tunnel:
      description: The tunnel number.
      type: int
      sample: 1
    customer_gateway:
      description: The customer gateway outside address the rules use.
      type: str
      sample: 198.51.100.7
    aws_endpoint:
      description: The AWS endpoint outside address.
      type: str
      sample: 192.0.2.10
    mss:
      description: The TCP MSS this tunnel needs.
      type: int
      sample: 1379
    mss_source:
      description: Why that MSS (the config value, the SHA2-384/512 exception, AWS's default).
      type: str
      sample: config value
    nat_traversal:
      description: Whether UDP 4500 is open for this tunnel.
      type: bool
    nat_traversal_reason:
      description: Why UDP 4500 is open or closed.
      type: str
      sample: the config enables NAT-T
    clear_df:
      description: Whether the tunnel wants DF cleared.
      type: bool
summary:
  description: In check mode, the changes per connection and tunnel from what the kernel holds to the
    configs (kind, connection, tunnel, old, new, reason, text).
  returned: check mode and state is present
  type: list
  elements: dict
command:
  description: The cgwfw command line that ran (paths only, never file contents).
  returned: always
  type: list
  elements: str
  sample: [/usr/local/bin/cgwfw, apply, --json, /etc/cgwfw/connections/vpn-0a1b2c3d4e5f60789.txt]
rc:
  description: cgwfw's exit status, a sysexits code (for example 65 bad config, 66 unreadable file, 77 no
    privilege).
  returned: failure
  type: int
  sample: 65
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule

# `cgwfw diff` exits 1 when it found something to change: that is a result, not an error.
DIFF_WOULD_CHANGE = 1


def build_command(module, binary):
    p = module.params
    if p['state'] == 'absent':
        verb = ['remove', '--dry-run'] if module.check_mode else ['remove']
    else:
        verb = ['diff'] if module.check_mode else ['apply']
    command = [binary] + verb + ['--json']
    if p['state_dir']:
        command += ['--state-dir', p['state_dir']]
    # The profile options: apply, diff and remove all take them, so remove finds what apply made.
    for name, flag in (('profile', '--profile'), ('table', '--table'), ('attach', '--attach'),
                       ('placement', '--placement'), ('nat_traversal', '--nat-traversal'),
                       ('wan_interface', '--wan-interface')):
        if p[name]:
            command += [flag, p[name]]
    for interface in p['tunnel_interfaces'] or []:
        command += ['--tunnel-interface', interface]
    if p['strict'] is not None:
        command += ['--strict' if p['strict'] else '--no-strict']
    if p['state'] == 'present':
        if p['local_address']:
            command += ['--local-address', p['local_address']]
        if not module.check_mode:
            if p['confirm_timeout'] is not None:
                command += ['--confirm', str(p['confirm_timeout'])]
            if p['force']:
                command += ['--force']
        if p['allow_empty']:
            command += ['--allow-empty']
        command += ['--'] + p['configs']
    return command


def succeeded(module, rc):
    # In check mode cgwfw runs `diff` or `remove --dry-run`: both exit 1 when they would change something.
    if module.check_mode:
        return rc in (0, DIFF_WOULD_CHANGE)
    return rc == 0


def parse_report(module, command, rc, stdout, stderr):
    try:
        report = json.loads(stdout)
        if not isinstance(report, dict) or not isinstance(report.get('changed'), bool):
            raise ValueError('no boolean "changed" key')
        return report
    except ValueError as error:
        module.fail_json(msg='cgwfw printed no usable JSON report (%s)' % error, command=command, rc=rc,
                         stderr=stderr.strip())


def main():
    module = AnsibleModule(
        argument_spec=dict(
            configs=dict(type='list', elements='path'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            profile=dict(type='str'),
            local_address=dict(type='str'),
            nat_traversal=dict(type='str', choices=['auto', 'on', 'off']),
            table=dict(type='str'),
            attach=dict(type='str'),
            strict=dict(type='bool'),
            placement=dict(type='str', choices=['host', 'gateway']),
            wan_interface=dict(type='str'),
            tunnel_interfaces=dict(type='list', elements='str'),
            confirm_timeout=dict(type='int'),
            force=dict(type='bool', default=False),
            allow_empty=dict(type='bool', default=False),
            state_dir=dict(type='path'),
            binary=dict(type='str', default='cgwfw'),
        ),
        required_if=[('state', 'present', ['configs'])],
        supports_check_mode=True,
    )
    p = module.params
    if p['state'] == 'present' and not p['configs']:
        module.fail_json(msg='configs must name at least one configuration file when state=present')
    if p['confirm_timeout'] is not None and p['confirm_timeout'] < 1:
        module.fail_json(msg='confirm_timeout must be a positive number of seconds')

    binary = p['binary']
    if os.path.sep not in binary:
        binary = module.get_bin_path(binary, required=True, opt_dirs=['/usr/local/sbin', '/usr/local/bin'])
    command = build_command(module, binary)

    rc, stdout, stderr = module.run_command(command)
    if not succeeded(module, rc):
        diagnostic = stderr.strip() or stdout.strip() or 'cgwfw exited with status %d' % rc
        module.fail_json(msg=diagnostic, command=command, rc=rc)

    report = parse_report(module, command, rc, stdout, stderr)
    for warning in report.get('warnings') or []:
        module.warn(str(warning))

    table = report.get('table') or ''
    result = dict(
        changed=report['changed'],
        table=table,
        added=report.get('added') or [],
        removed=report.get('removed') or [],
        command=command,
    )
    if 'tunnels' in report:
        result['tunnels'] = report['tunnels']
    if 'summary' in report:
        result['summary'] = report['summary']
    if module._diff:
        texts = report.get('diff') or {}
        rules = dict(
            before=texts.get('before', ''),
            after=texts.get('after', ''),
            before_header='kernel table %s (before)' % table,
            after_header='kernel table %s (%s)' % (table, 'would be' if module.check_mode else 'after'),
        )
        # Ansible shows a list of diffs in order: the meaning per tunnel first, then the rules.
        summary = summary_text(report.get('summary'), report['changed'])
        result['diff'] = [dict(prepared=summary), rules] if summary else rules
    module.exit_json(**result)


def summary_text(changes, changed):
    """cgwfw's per-tunnel change sentences, one line each, under a heading; '' outside check mode."""
    if changes is None or not changed:
        return ''
    if not changes:
        return 'cgwfw: no change per connection and tunnel (rules only)\n'
    lines = ['cgwfw: what changes per connection and tunnel:']
    for change in changes:
        where = change.get('connection') or 'rule set'
        if change.get('tunnel') is not None:
            where += ' tunnel %d' % change['tunnel']
        lines.append('  %s: %s' % (where, change.get('text', '')))
    return '\n'.join(lines) + '\n'



if __name__ == '__main__':
    main()
