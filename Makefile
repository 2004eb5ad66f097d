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

test: unit-test

clean:
	rm -rf .build
