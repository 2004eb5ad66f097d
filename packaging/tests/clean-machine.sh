#!/usr/bin/env bash
# Proof on a clean machine (issue 11): a minimal Debian 12 from debootstrap, with no Swift toolchain,
# installs the package with apt (dependencies from Debian), runs cgwfw there -- check, compile, profiles,
# apply in a network namespace, the boot helper -- verifies the installed unit, then removes and purges it
# and checks that only the operator's files are left.
#
#   packaging/tests/clean-machine.sh cgwfw_VERSION_ARCH.deb [CACHE_DIR]
#
# The debootstrap root is cached in CACHE_DIR (default /var/cache/cgwfw-test) and never modified: each run
# works on an overlay (or a copy) of it, so reruns take seconds. Root only; skips with a reason otherwise.
# No pipefail: `cmd | grep -q` must take grep's answer, not the SIGPIPE cmd may get when grep stops early.
set -eu
deb=$(realpath "$1")
cache=${2:-/var/cache/cgwfw-test}

if [ "$(id -u)" != 0 ]; then
    echo "SKIP clean-machine: needs root (debootstrap, chroot, mounts, network namespaces)"
    exit 0
fi
for tool in debootstrap dpkg-deb ip systemd-analyze man; do
    command -v "$tool" >/dev/null || { echo "clean-machine: $tool is missing (make deps installs it)" >&2; exit 1; }
done

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok - $*"; }

# The Debian mirror apt uses here (deb822 or one-line sources), else deb.debian.org.
mirror() {
    local uri
    uri=$(grep -hoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+' \
        /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -oE '[a-z]+://[^[:space:]]+' \
        | grep -v -- '-security' | head -n1 || true)
    echo "${uri:-http://deb.debian.org/debian}"
}

base=$cache/bookworm-minbase
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [ ! -e "$base/.complete" ]; then
    echo "# building the cached Debian 12 root in $base (debootstrap, about 1.5 minutes)"
    rm -rf "$base.new"
    debootstrap --variant=minbase bookworm "$base.new" "$(mirror)" > "$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log" >&2; echo "clean-machine: debootstrap failed" >&2; exit 1; }
    rm -rf "$base" && mv "$base.new" "$base" && touch "$base/.complete"
fi
flock -u 9

work=$(mktemp -d /tmp/cgwfw-clean-machine.XXXXXX)
root=$work/root
ns=deb-clean-$$
mounted=()
cleanup() {
    ip netns del "$ns" 2>/dev/null || true
    local i
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[i]}" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$root" "$work/upper" "$work/overlay-work"
if mount -t overlay overlay -o "lowerdir=$base,upperdir=$work/upper,workdir=$work/overlay-work" "$root" 2>/dev/null; then
    mounted+=("$root")
else
    cp -a "$base/." "$root/"
fi
mount -t proc proc "$root/proc" && mounted+=("$root/proc")  # Swift reads its arguments from /proc/self/cmdline
mount --bind /dev "$root/dev" && mounted+=("$root/dev")
cp /etc/resolv.conf "$root/etc/resolv.conf"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }

# No Swift anywhere in the clean root.
if in_root sh -c 'command -v swift swiftc' >/dev/null || [ -n "$(find "$root/usr" -name 'libswiftCore*' -print -quit)" ]; then
    fail "the clean root has a Swift toolchain or runtime"
fi

# ---- install with apt: dependencies come from Debian ----
cp "$deb" "$root/tmp/"
in_root apt-get update -qq >/dev/null
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./tmp/${deb##*/}" > "$work/install.log" 2>&1; then
    pass "apt-get install ./${deb##*/}"
else
    cat "$work/install.log" >&2
    fail "apt-get install failed"; exit 1
fi
in_root dpkg -L cgwfw > "$work/files"
echo "# ldd /usr/bin/cgwfw in the clean root:"
in_root ldd /usr/bin/cgwfw | sed 's/ (0x[0-9a-f]*)//; s/^/#   /'
! in_root ldd /usr/bin/cgwfw | grep -q 'not found' || fail "a library of /usr/bin/cgwfw is not found"
! in_root ldd /usr/bin/cgwfw | grep -qi swift || fail "/usr/bin/cgwfw links a Swift library"

version=$(in_root cgwfw --version)
package_version=$(in_root dpkg-query -W -f '${Version}' cgwfw)
[ "$version" = "$package_version" ] && pass "cgwfw --version is the package's $version" \
    || fail "cgwfw --version says '$version', the package is $package_version"

# ---- check, compile, profiles ----
# The example the package installs (the README's quick start), copied as an operator would.
in_root install -m 0600 /usr/share/doc/cgwfw/examples/generic-example.txt /etc/cgwfw/connections/vpn-example.txt
in_root cgwfw check /etc/cgwfw/connections/vpn-example.txt > "$work/check.out" 2>&1 \
    && grep -q 'vpn-' "$work/check.out" && pass "cgwfw check" || { cat "$work/check.out" >&2; fail "cgwfw check"; }
if in_root cgwfw compile --target nftables /etc/cgwfw/connections/vpn-example.txt > "$root/tmp/rules.nft" 2>/dev/null \
    && grep -q '^table inet cgwfw' "$root/tmp/rules.nft"; then
    pass "cgwfw compile --target nftables"
else
    fail "cgwfw compile"
fi
in_root cgwfw compile --target iptables /etc/cgwfw/connections/vpn-example.txt 2>/dev/null | grep -q '^\*filter' \
    && pass "cgwfw compile --target iptables" || fail "cgwfw compile --target iptables"
in_root cgwfw profiles | grep -q '^linux-host .*(default)' && pass "built-in profiles in the binary" \
    || fail "cgwfw profiles does not list the built-in linux-host"
printf 'description: site profile\nstrict: true\ntable: site\n' > "$root/etc/cgwfw/profiles/site.yaml"
in_root cgwfw profiles | grep -q '^site ' && pass "operator profile in /etc/cgwfw/profiles listed" \
    || fail "cgwfw profiles does not list /etc/cgwfw/profiles/site.yaml"
in_root cgwfw compile --profile site /etc/cgwfw/connections/vpn-example.txt 2>/dev/null | grep -q '^table inet site' \
    && pass "--profile site reads /etc/cgwfw/profiles/site.yaml" || fail "--profile site"

# ---- apply in a network namespace, with the clean root's nft (from the nftables dependency) ----
ip netns add "$ns"
in_ns() { ip netns exec "$ns" chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
in_ns nft -c -f /tmp/rules.nft && pass "nft loads the compiled rules" || fail "nft -c rejects the compiled rules"
if in_ns cgwfw apply /etc/cgwfw/connections/vpn-example.txt > "$work/apply.out" 2>&1 \
    && in_ns nft list table inet cgwfw | grep -q 'elements'; then
    pass "cgwfw apply in namespace $ns"
else
    cat "$work/apply.out" >&2; fail "cgwfw apply"
fi
in_ns cgwfw diff /etc/cgwfw/connections/vpn-example.txt >/dev/null 2>&1 && pass "cgwfw diff: nothing to change" \
    || fail "cgwfw diff after apply"
in_ns cgwfw apply --strict --confirm 60 /etc/cgwfw/connections/vpn-example.txt >/dev/null 2>&1 \
    && in_ns cgwfw show | grep -q 'is pending' && in_ns cgwfw confirm | grep -q 'rollback cancelled' \
    && [ "$(stat -c %a "$root/var/lib/cgwfw")" = 700 ] \
    && pass "commit-confirm: pending in show, confirmed; /var/lib/cgwfw is 0700" || fail "commit-confirm in the clean root"
in_ns cgwfw remove >/dev/null 2>&1 && ! in_ns nft list table inet cgwfw >/dev/null 2>&1 \
    && pass "cgwfw remove" || fail "cgwfw remove"
in_ns /usr/libexec/cgwfw/cgwfw-boot apply > "$work/boot.out" 2>&1 && in_ns nft list table inet cgwfw >/dev/null 2>&1 \
    && pass "cgwfw-boot apply (the unit's ExecStart) applies /etc/cgwfw/connections" \
    || { cat "$work/boot.out" >&2; fail "cgwfw-boot apply"; }
in_ns /usr/libexec/cgwfw/cgwfw-boot remove >/dev/null 2>&1 || fail "cgwfw-boot remove"

# ---- the installed unit, manual pages, completions, Ansible ----
findings=$(systemd-analyze verify --root="$root" "$root/lib/systemd/system/cgwfw.service" 2>&1) \
    && [ -z "$findings" ] && pass "systemd-analyze verify cgwfw.service" || fail "systemd-analyze verify: $findings"
[ -L "$root/etc/systemd/system/multi-user.target.wants/cgwfw.service" ] && pass "cgwfw.service enabled" \
    || fail "cgwfw.service is not enabled"
manual=$(MANWIDTH=100 man -l "$root/usr/share/man/man1/cgwfw.1.gz" 2>/dev/null)
for command in check compile profiles apply diff remove show confirm; do
    grep -qE "^ +$command( |$)" <<<"$manual" || fail "cgwfw(1) does not describe $command"
done
grep -q 'EXIT STATUS' <<<"$manual" && grep -q '/etc/cgwfw/connections' <<<"$manual" && pass "cgwfw(1) renders" \
    || fail "cgwfw(1) lacks its hand-written sections"
MANWIDTH=100 man -l "$root/usr/share/man/man5/cgwfw-profile.5.gz" 2>/dev/null | grep -q 'tunnel_selection' \
    && pass "cgwfw-profile(5) renders" || fail "cgwfw-profile(5)"
for file in usr/share/bash-completion/completions/cgwfw usr/share/zsh/vendor-completions/_cgwfw \
    usr/share/fish/vendor_completions.d/cgwfw.fish; do
    grep -q 'compile' "$root/$file" || fail "completion $file missing or empty"
done
in_root bash -c 'source /usr/share/bash-completion/completions/cgwfw && complete -p cgwfw' >/dev/null \
    && pass "bash completion loads" || fail "bash completion does not load"
[ -f "$root/usr/share/ansible/collections/ansible_collections/cgwfw/cgwfw/MANIFEST.json" ] \
    && [ -f "$root/usr/share/ansible/collections/ansible_collections/cgwfw/cgwfw/plugins/modules/cgwfw.py" ] \
    && pass "Ansible collection installed" || fail "Ansible collection missing"

# ---- remove keeps the conffile with the operator's edit; purge leaves only the operator's own files ----
echo 'CGWFW_PROFILE=site' >> "$root/etc/cgwfw/cgwfw.env"
in_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq cgwfw >/dev/null 2>&1 || fail "apt-get remove"
[ ! -e "$root/usr/bin/cgwfw" ] && grep -qx 'CGWFW_PROFILE=site' "$root/etc/cgwfw/cgwfw.env" \
    && pass "remove: binary gone, edited cgwfw.env kept" || fail "remove did not keep the edited conffile"
in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq cgwfw >/dev/null 2>&1 || fail "apt-get purge"
in_root dpkg-query -W -f '${db:Status-Abbrev}' cgwfw 2>/dev/null | grep -q '^ii\|^rc' && fail "cgwfw still known to dpkg"
while read -r path; do
    [ -d "$root$path" ] && continue  # shared directories (/usr/share/man, /lib -> usr/lib ...) stay
    [ -e "$root$path" ] || [ -L "$root$path" ] && fail "left after purge: $path"
done < "$work/files"
left=$(cd "$root" && find . -xdev -path ./proc -prune -o -path ./tmp -prune -o -ipath '*cgwfw*' -print | sort)
expected=$(printf '%s\n' ./etc/cgwfw ./etc/cgwfw/connections ./etc/cgwfw/connections/vpn-example.txt \
    ./etc/cgwfw/profiles ./etc/cgwfw/profiles/site.yaml | sort)
[ "$left" = "$expected" ] \
    && pass "purge left only the operator's files" || fail "after purge, expected only the operator's files, found: $left"

[ "$failures" -eq 0 ] || { echo "clean-machine: $failures failure(s)" >&2; exit 1; }
echo "clean-machine: all passed"
