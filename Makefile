# cgwfw — the two commands of the README are `make run` and `make test`; both install what they need.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
EXAMPLE ?= Examples/generic-example.txt
BIN := .build/debug/cgwfw
RELEASE_BIN := .build/release/cgwfw
# The one version: Sources/cgwfw/Version.swift (`cgwfw --version`); the Debian package and the manual take it.
VERSION := $(shell sed -n 's/^let cgwfwVersion = "\(.*\)"$$/\1/p' Sources/cgwfw/Version.swift)

# Debian packages the build and the tests need; installed only when missing.
DEB_PACKAGES := pkg-config libnftnl-dev libmnl-dev nftables iptables iproute2 conntrack \
	strongswan-charon strongswan-swanctl libcharon-extra-plugins python3-scapy python3-venv tcpdump strace

.PHONY: all deps build release run test unit-test bench clean profiles-source

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 77; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

# Static Swift runtime: the binary needs only libc, libstdc++, libgcc_s, libnftnl and libmnl, no toolchain.
release: deps
	$(SWIFT) build -c release --static-swift-stdlib -Xlinker -z -Xlinker now

# The built-in profiles compiled into the binary, from Profiles/*.yaml (ProfileTests fails when stale).
profiles-source:
	$(PYTHON) packaging/gen-builtin-profiles.py

run: build
	$(BIN) check $(EXAMPLE)
	$(BIN) compile --target nftables $(EXAMPLE)

# The show tests read `show --format prometheus` with prometheus_client's parser (PyPI) and promtool (from
# Debian's prometheus package, unpacked: installing it would start a Prometheus server).
PYVENV := .build/pyvenv
PROMTOOL := .build/promtool/usr/bin/promtool
.PHONY: prometheus-tools
prometheus-tools: $(PYVENV)/.prometheus-client $(PROMTOOL)
$(PYVENV)/.prometheus-client:
	$(PYTHON) -m venv $(PYVENV)
	$(PYVENV)/bin/pip install --quiet --disable-pip-version-check prometheus_client
	touch $@
$(PROMTOOL):
	rm -rf .build/promtool && mkdir -p .build/promtool
	cd .build/promtool && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; } >/dev/null
	cd .build/promtool && dpkg-deb -x prometheus_*.deb . && rm prometheus_*.deb
	$(PROMTOOL) --version >/dev/null

unit-test: build prometheus-tools
	$(SWIFT) test

test: lint unit-test fuzz-smoke ansible-test systemd-test e2e torture-smoke deb-test

clean:
	rm -rf .build

# ---- operating cgwfw: install, systemd unit, Ansible module ----
DEB_PACKAGES += systemd
SYSCONFDIR ?= /etc
BINDIR ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/cgwfw
DATADIR ?= $(PREFIX)/share/cgwfw
UNITDIR ?= $(PREFIX)/lib/systemd/system
ANSIBLE_MODULEDIR ?= $(PREFIX)/share/ansible/plugins/modules
ANSIBLE_COLLECTIONSDIR ?= $(PREFIX)/share/ansible/collections
MANDIR ?= $(PREFIX)/share/man
BASH_COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
ZSH_COMPLETIONDIR ?= $(PREFIX)/share/zsh/site-functions
FISH_COMPLETIONDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# The binary `make install` copies; the install test points it at the debug build.
INSTALL_BIN ?= $(RELEASE_BIN)
PYTHON ?= /usr/bin/python3
VENV := .venv
ANSIBLE_CORE ?= ansible-core>=2.16,<2.20
# voluptuous and antsibull-docs-parser: what ansible-test's validate-modules check imports.
ANSIBLE_TEST_REQUIREMENTS := '$(ANSIBLE_CORE)' voluptuous antsibull-docs-parser
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: install ansible-test systemd-test man completions collection

# cgwfw(1) from the argument parser's own definitions (swift-argument-parser's generate-manual, run on the
# binary) with the hand-written sections of packaging/man/cgwfw.1.sections; cgwfw-profile(5) is hand-written.
MAN_OUT := .build/man
MAN_DATE = $(shell date -u -d "$$(dpkg-parsechangelog -l packaging/debian/changelog -S Date)" +%F)
man: $(if $(filter $(RELEASE_BIN),$(INSTALL_BIN)),release)
	$(SWIFT) build --product generate-manual
	mkdir -p $(MAN_OUT)/generated
	.build/debug/generate-manual $(INSTALL_BIN) --date $(MAN_DATE) --authors "cgwfw contributors" -o $(MAN_OUT)/generated
	$(PYTHON) packaging/man/build-manual.py $(MAN_OUT)/generated/cgwfw.1 $(MAN_OUT)/cgwfw.1
	cp packaging/man/cgwfw-profile.5 $(MAN_OUT)/cgwfw-profile.5

COMPLETIONS_OUT := .build/completions
completions: $(if $(filter $(RELEASE_BIN),$(INSTALL_BIN)),release)
	mkdir -p $(COMPLETIONS_OUT)
	@# bash-completion sources the file: no #! line.
	$(INSTALL_BIN) --generate-completion-script bash | sed '1{/^#!/d}' > $(COMPLETIONS_OUT)/cgwfw
	$(INSTALL_BIN) --generate-completion-script zsh > $(COMPLETIONS_OUT)/_cgwfw
	$(INSTALL_BIN) --generate-completion-script fish > $(COMPLETIONS_OUT)/cgwfw.fish

install: man completions
	install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/cgwfw
	install -d -m 0755 $(DESTDIR)$(DATADIR)/profiles
	install -m 0644 Profiles/*.yaml $(DESTDIR)$(DATADIR)/profiles/
	install -d -m 0755 $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR)
	$(SUBST) systemd/cgwfw-boot.in > $(DESTDIR)$(LIBEXECDIR)/cgwfw-boot
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/cgwfw-boot
	$(SUBST) systemd/cgwfw.service.in > $(DESTDIR)$(UNITDIR)/cgwfw.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/cgwfw.service
	$(SUBST) systemd/cgwfw-metrics.service.in > $(DESTDIR)$(UNITDIR)/cgwfw-metrics.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/cgwfw-metrics.service
	install -m 0644 systemd/cgwfw-metrics.timer $(DESTDIR)$(UNITDIR)/cgwfw-metrics.timer
	install -D -m 0644 ansible/library/cgwfw.py $(DESTDIR)$(ANSIBLE_MODULEDIR)/cgwfw.py
	install -D -m 0644 $(MAN_OUT)/cgwfw.1 $(DESTDIR)$(MANDIR)/man1/cgwfw.1
	install -D -m 0644 $(MAN_OUT)/cgwfw-profile.5 $(DESTDIR)$(MANDIR)/man5/cgwfw-profile.5
	install -D -m 0644 $(COMPLETIONS_OUT)/cgwfw $(DESTDIR)$(BASH_COMPLETIONDIR)/cgwfw
	install -D -m 0644 $(COMPLETIONS_OUT)/_cgwfw $(DESTDIR)$(ZSH_COMPLETIONDIR)/_cgwfw
	install -D -m 0644 $(COMPLETIONS_OUT)/cgwfw.fish $(DESTDIR)$(FISH_COMPLETIONDIR)/cgwfw.fish
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/cgwfw/profiles
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/cgwfw/connections
	@# The settings file belongs to the operator once installed: never overwrite it.
	test -e $(DESTDIR)$(SYSCONFDIR)/cgwfw/cgwfw.env || install -m 0644 etc/cgwfw/cgwfw.env $(DESTDIR)$(SYSCONFDIR)/cgwfw/cgwfw.env

$(VENV)/.cgwfw-ansible-test:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(ANSIBLE_TEST_REQUIREMENTS)
	touch $@

# The Ansible collection (module and role), built with ansible-galaxy from a staged collection layout.
COLLECTION := .build/collection/cgwfw-cgwfw-$(VERSION).tar.gz
collection: $(VENV)/.cgwfw-ansible-test
	rm -rf .build/collection && mkdir -p .build/collection/src/plugins/modules .build/collection/src/meta
	sed 's/@VERSION@/$(VERSION)/' ansible/galaxy.yml.in > .build/collection/src/galaxy.yml
	cp ansible/meta/runtime.yml .build/collection/src/meta/
	cp ansible/COLLECTION.md .build/collection/src/README.md
	cp ansible/library/cgwfw.py .build/collection/src/plugins/modules/
	cp -r ansible/roles ansible/playbooks .build/collection/src/
	$(VENV)/bin/ansible-galaxy collection build --output-path .build/collection .build/collection/src

ansible-test: build collection
	$(VENV)/bin/python ansible/tests/run_tests.py --cgwfw $(BIN) --collection $(COLLECTION)

systemd-test: build
	bash systemd/tests/run_tests.sh $(BIN)

# End-to-end wire tests (issue 5): namespaces, real strongSwan tunnels, cgwfw-built firewalls. Root only.
DEB_PACKAGES += iputils-ping
.PHONY: e2e
e2e: build
	CGWFW=$(BIN) e2e/run.sh

# Faults against the real kernel (Tests/torture/torture.sh): kill -9 mid-apply and racing applies.
.PHONY: torture torture-smoke
torture-smoke: build
	Tests/torture/torture.sh $(BIN) 30 3
torture: build
	Tests/torture/torture.sh $(BIN) 200 20

# ---- the Debian package (issue 11): packaging/build-deb.sh stages `make install` under /usr and packs it ----
DEB_PACKAGES += dpkg-dev lintian debootstrap shellcheck pyflakes3 man-db
DEB_ARCH = $(shell dpkg --print-architecture)
DEB := cgwfw_$(VERSION)_$(DEB_ARCH).deb
DEB_STAGE := .build/deb/root
.PHONY: deb deb-test lint
deb: deps release collection
	rm -rf $(DEB_STAGE)
	$(MAKE) -s install DESTDIR=$(CURDIR)/$(DEB_STAGE) PREFIX=/usr SYSCONFDIR=/etc LIBEXECDIR=/usr/libexec/cgwfw \
		UNITDIR=/lib/systemd/system ZSH_COMPLETIONDIR=/usr/share/zsh/vendor-completions
	packaging/build-deb.sh $(VERSION) $(DEB_STAGE) $(COLLECTION) $(DEB)
	lintian --fail-on error,warning $(DEB) || \
		{ echo "lintian found problems in $(DEB)" >&2; exit 1; }

# A fresh Debian 12 (debootstrap, cached in $(CLEAN_ROOT_CACHE)) installs the package with apt and runs it.
CLEAN_ROOT_CACHE ?= /var/cache/cgwfw-test
deb-test: deb
	packaging/tests/clean-machine.sh $(DEB) $(CLEAN_ROOT_CACHE)

# ---- lint: swift format's rules (config .swift-format), shellcheck, pyflakes ----
# swift format's pretty-printer findings (indentation, line breaks, spacing) are left out: the code aligns
# continuation lines under the opening bracket, a style the pretty-printer cannot express, and a mass
# reformat would only churn every file. Its rule checks (naming, shorthand types, parentheses ...) apply.
SWIFT_FORMAT_LAYOUT := Indentation|AddLines|RemoveLine|Spacing|TrailingComma|LineLength|EndOfLineComment
SHELL_SCRIPTS = $(filter-out e2e/cases.sh,$(shell git ls-files '*.sh' .ci/run systemd/cgwfw-boot.in 'packaging/debian/p*'))
PYTHON_SCRIPTS = $(shell git ls-files '*.py')
lint: deps
	@findings=$$($(SWIFT) format lint --recursive --parallel Sources Tests Package.swift 2>&1 \
		| grep -vE '\[($(SWIFT_FORMAT_LAYOUT))\]'); \
	if [ -n "$$findings" ]; then echo "$$findings"; echo "swift format lint: findings above" >&2; exit 1; fi
	@# -x follows sourced files (e2e/run.sh sources e2e/cases.sh).
	shellcheck -x --source-path=SCRIPTDIR --severity=warning $(SHELL_SCRIPTS)
	pyflakes3 $(PYTHON_SCRIPTS)
	@echo "lint: clean"

# ---- benchmarks (compile: Benchmarks/bench-compile.sh; apply benchmarks add their lines here) ----
bench: release
	Benchmarks/bench-compile.sh $(RELEASE_BIN)
	Benchmarks/bench-apply.sh $(RELEASE_BIN)

# ---- fuzzing (issue 10): libFuzzer + AddressSanitizer targets in Fuzz/, a package of their own ----
# libFuzzer and the sanitizer runtimes come with the Swift toolchain (its clang runtime); nothing to install.
FUZZ_SECONDS ?= 60
# `FUZZ_SANITIZE=fuzzer` builds without ASan (its own scratch path): twice the executions per second, for long
# runs; it still stops on Swift traps, hangs and OOM, but no longer sees leaks or memory errors in unsafe code.
FUZZ_SANITIZE ?= fuzzer,address
ifeq ($(FUZZ_SANITIZE),fuzzer,address)
FUZZ_SCRATCH := .build-fuzz
else ifeq ($(FUZZ_SANITIZE),fuzzer)
FUZZ_SCRATCH := .build-fuzz-noasan
else
$(error FUZZ_SANITIZE is fuzzer,address (the default) or fuzzer, not $(FUZZ_SANITIZE))
endif
comma := ,
.PHONY: fuzz fuzz-build fuzz-smoke
# SwiftPM hands swiftc `-sanitize=fuzzer -sanitize=address` as two flags and the last one wins: the Swift code
# would get no coverage instrumentation at all. `-Xswiftc -sanitize=fuzzer,address` comes last and has both;
# --sanitize still instruments Yams's C (libyaml) and links the runtimes.
fuzz-build:
	cd Fuzz && $(SWIFT) build -c release --scratch-path ../$(FUZZ_SCRATCH) \
		$(addprefix --sanitize=,$(subst $(comma), ,$(FUZZ_SANITIZE))) -Xswiftc -sanitize=$(FUZZ_SANITIZE)

# Each target for FUZZ_SECONDS; non-zero exit on any crash, sanitizer report, leak, timeout or OOM.
fuzz: fuzz-build
	FUZZ_BIN=$(FUZZ_SCRATCH)/release Fuzz/run.sh $(FUZZ_SECONDS)

# Part of `make test`: 10 seconds of each target.
fuzz-smoke: fuzz-build
	FUZZ_BIN=$(FUZZ_SCRATCH)/release Fuzz/run.sh 10
