#!/usr/bin/python3
"""Packet helpers for the cgwfw wire tests: craft packets with correct checksums, receive raw ESP,
and read back what a capture holds. Run inside a namespace with Debian's /usr/bin/python3 (python3-scapy).

  wire.py esp-send SRC DST COUNT          raw ESP (IP protocol 50) with a made-up SPI
  wire.py esp-listen SECONDS READY_FILE   count ESP packets delivered to this host's raw socket, per source
  wire.py syn SRC DST DPORT MSS           one TCP SYN carrying an MSS option (source port = MSS)
  wire.py df SRC DST DPORT                one IPv4 UDP datagram with DF set
  wire.py analyze PCAP                    one JSON object per captured IP packet
"""
import json
import os
import select
import socket
import sys
import time

IPPROTO_ESP = 50


def family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def scapy():
    import logging
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    import scapy.all as s
    s.conf.verb = 0
    return s


def ip_layer(s, src, dst, **fields):
    if family(dst) == socket.AF_INET6:
        return s.IPv6(src=src, dst=dst)
    return s.IP(src=src, dst=dst, **fields)


def send(s, packet):
    # IPv4 through a raw socket, so the kernel routes it like the host's own traffic (policy routing into
    # kernel-libipsec's TUN included); scapy's default IPv4 socket would pick the interface from the main
    # table itself. The kernel fills in the IPv4 header checksum in software; TCP/UDP checksums are scapy's.
    if s.IP in packet:
        s.send(packet, socket=s.L3RawSocket())
    else:
        s.send(packet)


def esp_send(src, dst, count):
    s = scapy()
    # A plausible ESP header: SPI, sequence number, then opaque bytes; nothing on the receiver decrypts it.
    for seq in range(1, int(count) + 1):
        packet = ip_layer(s, src, dst, proto=IPPROTO_ESP) / s.ESP(spi=0xE2E00001, seq=seq, data=b"\x00" * 48)
        if family(dst) == socket.AF_INET6:
            packet[s.IPv6].nh = IPPROTO_ESP
        send(s, packet)
        time.sleep(0.05)


def esp_listen(seconds, ready_file):
    # Raw sockets get packets after the netfilter input hook, so a count here means the firewall let it in.
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ESP),
               socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_ESP)]
    with open(ready_file, "w") as ready:
        ready.write("ready\n")
    counts = {}
    deadline = time.monotonic() + float(seconds)
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select(sockets, [], [], left)
        for sock in readable:
            _, sender = sock.recvfrom(65535)
            counts[sender[0]] = counts.get(sender[0], 0) + 1
    print(json.dumps(counts, sort_keys=True))


def syn(src, dst, dport, mss):
    s = scapy()
    packet = ip_layer(s, src, dst) / s.TCP(sport=int(mss), dport=int(dport), flags="S", seq=1000,
                                           options=[("MSS", int(mss))])
    send(s, packet)


def df(src, dst, dport):
    s = scapy()
    send(s, s.IP(src=src, dst=dst, flags="DF", id=0xE2E) / s.UDP(sport=4242, dport=int(dport)) / (b"df-probe" * 8))


def analyze(pcap):
    s = scapy()
    from scapy.utils import checksum
    for frame in s.rdpcap(pcap):
        ip = frame[s.IP] if s.IP in frame else None
        if ip is None:
            continue
        raw = bytes(ip)
        header = raw[: ip.ihl * 4]
        record = {"src": ip.src, "dst": ip.dst, "proto": ip.proto, "df": bool(ip.flags.DF),
                  "ip_checksum_ok": checksum(header) == 0}
        if s.TCP in ip:
            tcp = ip[s.TCP]
            segment = raw[ip.ihl * 4: ip.len]
            record.update(sport=tcp.sport, dport=tcp.dport, flags=str(tcp.flags),
                          mss=dict(o for o in tcp.options if isinstance(o, tuple)).get("MSS"),
                          tcp_checksum_ok=s.in4_chksum(6, ip, segment) == 0)
        elif s.UDP in ip:
            record.update(sport=ip[s.UDP].sport, dport=ip[s.UDP].dport)
        print(json.dumps(record, sort_keys=True))


COMMANDS = {"esp-send": esp_send, "esp-listen": esp_listen, "syn": syn, "df": df, "analyze": analyze}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
    sys.stdout.flush()
    os._exit(0)
