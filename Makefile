# cgwfw — the two commands of the README are `make run` and `make test`; both install what they need.
SHELL := /bin/bash
SWIFT ?= swift
PREFIX ?= /usr/local
DESTDIR ?=
EXAMPLE ?= Examples/generic-example.txt
BIN := .build/debug/cgwfw
RELEASE_BIN := .build/release/cgwfw

# Debian packages the build and the tests need; installed only when missing.
DEB_PACKAGES := pkg-config libnftnl-dev libmnl-dev nftables iptables iproute2 conntrack \
	strongswan-charon strongswan-swanctl libcharon-extra-plugins python3-scapy python3-venv tcpdump

.PHONY: all deps build release run test unit-test bench clean

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

release: deps
	$(SWIFT) build -c release

run: build
	$(BIN) check $(EXAMPLE)
	$(BIN) compile --target nftables $(EXAMPLE)

unit-test: build
	$(SWIFT) test

test: unit-test ansible-test systemd-test e2e

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
# The binary `make install` copies; the install test points it at the debug build.
INSTALL_BIN ?= $(RELEASE_BIN)
PYTHON ?= /usr/bin/python3
VENV := .venv
ANSIBLE_CORE ?= ansible-core>=2.16,<2.20
# voluptuous and antsibull-docs-parser: what ansible-test's validate-modules check imports.
ANSIBLE_TEST_REQUIREMENTS := '$(ANSIBLE_CORE)' voluptuous antsibull-docs-parser
SUBST = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

.PHONY: install ansible-test systemd-test

install: $(if $(filter $(RELEASE_BIN),$(INSTALL_BIN)),release)
	install -D -m 0755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/cgwfw
	install -d -m 0755 $(DESTDIR)$(DATADIR)/profiles
	install -m 0644 Profiles/*.yaml $(DESTDIR)$(DATADIR)/profiles/
	install -d -m 0755 $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(UNITDIR)
	$(SUBST) systemd/cgwfw-boot.in > $(DESTDIR)$(LIBEXECDIR)/cgwfw-boot
	chmod 0755 $(DESTDIR)$(LIBEXECDIR)/cgwfw-boot
	$(SUBST) systemd/cgwfw.service.in > $(DESTDIR)$(UNITDIR)/cgwfw.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/cgwfw.service
	install -D -m 0644 ansible/library/cgwfw.py $(DESTDIR)$(ANSIBLE_MODULEDIR)/cgwfw.py
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/cgwfw/connections
	@# The settings file belongs to the operator once installed: never overwrite it.
	test -e $(DESTDIR)$(SYSCONFDIR)/cgwfw/cgwfw.env || install -m 0644 etc/cgwfw/cgwfw.env $(DESTDIR)$(SYSCONFDIR)/cgwfw/cgwfw.env

$(VENV)/.cgwfw-ansible-test:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check $(ANSIBLE_TEST_REQUIREMENTS)
	touch $@

ansible-test: build $(VENV)/.cgwfw-ansible-test
	$(VENV)/bin/python ansible/tests/run_tests.py --cgwfw $(BIN)

systemd-test: build
	bash systemd/tests/run_tests.sh $(BIN)

# End-to-end wire tests (issue 5): namespaces, real strongSwan tunnels, cgwfw-built firewalls. Root only.
DEB_PACKAGES += iputils-ping
.PHONY: e2e
e2e: build
	CGWFW=$(BIN) e2e/run.sh

# ---- benchmarks (compile: Benchmarks/bench-compile.sh; apply benchmarks add their lines here) ----
bench: release
	Benchmarks/bench-compile.sh $(RELEASE_BIN)
	Benchmarks/bench-apply.sh $(RELEASE_BIN)
