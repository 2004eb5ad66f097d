#!/usr/bin/env bash
# Packs a `make install DESTDIR=STAGE PREFIX=/usr` tree into cgwfw_VERSION_ARCH.deb with dpkg-deb:
# strips the binary, adds the Ansible collection, the Debian docs and the maintainer scripts, and computes
# the library dependencies with dpkg-shlibdeps. Run by `make deb`.
set -euo pipefail
version=$1 stage=$2 collection=$3 out=$4
here=$(cd "$(dirname "$0")" && pwd)
debian=$here/debian

changelog_version=$(dpkg-parsechangelog -l "$debian/changelog" -S Version)
if [ "$changelog_version" != "$version" ]; then
    echo "build-deb: packaging/debian/changelog is at $changelog_version, Sources/cgwfw/Version.swift at $version" >&2
    exit 1
fi

# dh_strip's options: no debug symbols or comments in the package.
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$stage/usr/bin/cgwfw"
gzip -9n "$stage"/usr/share/man/man*/*.[0-9]

# The collection as `ansible-galaxy collection install` lays it out (ANSIBLE_COLLECTIONS_PATH's default
# includes /usr/share/ansible/collections).
collection_dir=$stage/usr/share/ansible/collections/ansible_collections/cgwfw/cgwfw
mkdir -p "$collection_dir"
tar -xzf "$collection" -C "$collection_dir" --no-same-owner
find "$collection_dir" -type d -exec chmod 0755 {} + && find "$collection_dir" -type f -exec chmod 0644 {} +

doc=$stage/usr/share/doc/cgwfw
install -d -m 0755 "$doc" "$stage/usr/share/lintian/overrides"
install -m 0644 "$debian/copyright" "$doc/copyright"
install -D -m 0644 "$here/../Examples/generic-example.txt" "$doc/examples/generic-example.txt"
gzip -9nc "$debian/changelog" > "$doc/changelog.gz" && chmod 0644 "$doc/changelog.gz"
install -m 0644 "$debian/lintian-overrides" "$stage/usr/share/lintian/overrides/cgwfw"

install -d -m 0755 "$stage/DEBIAN"
for script in postinst prerm postrm; do
    install -m 0755 "$debian/$script" "$stage/DEBIAN/$script"
done
install -m 0644 "$debian/conffiles" "$stage/DEBIAN/conffiles"

# What the binary links against, as Debian's shlibs files say (dpkg-shlibdeps wants a debian/control).
shlibs_dir=$(mktemp -d)
trap 'rm -rf "$shlibs_dir"' EXIT
mkdir "$shlibs_dir/debian"
printf 'Source: cgwfw\n\nPackage: cgwfw\nArchitecture: any\n' > "$shlibs_dir/debian/control"
shlibs=$(cd "$shlibs_dir" && dpkg-shlibdeps -O -e "$OLDPWD/$stage/usr/bin/cgwfw" 2>/dev/null)
shlibs=${shlibs#shlibs:Depends=}

installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$(dpkg --print-architecture)/" \
    -e "s/@SHLIBS@/$shlibs/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    "$debian/control.in" > "$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
    > "$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$stage" "$out"
echo "built $out ($(du -h "$out" | cut -f1))"
