#!/usr/bin/python3
"""Sends real tunnel-shaped packets for the show tests: IKE (UDP 500 -> 500), NAT-T (UDP 4500 -> 4500)
or ESP (IP protocol 50), COUNT packets of PAYLOAD bytes each, from SOURCE to DESTINATION. Prints the IP
packet length of one packet (what nftables counts as bytes). Documentation addresses only.

    send.py ike|natt|esp SOURCE DESTINATION COUNT PAYLOAD
"""
import ipaddress
import socket
import sys

kind, source, destination, count, payload = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
family = socket.AF_INET6 if ipaddress.ip_address(source).version == 6 else socket.AF_INET
ip_header = 40 if family == socket.AF_INET6 else 20
data = b"\x00" * payload
if kind == "esp":
    sock = socket.socket(family, socket.SOCK_RAW, 50)
    sock.bind((source, 0))
    length = ip_header + payload
    port = 0
else:
    port = 500 if kind == "ike" else 4500
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((source, port))
    length = ip_header + 8 + payload
for _ in range(count):
    sock.sendto(data, (destination, port))
sock.close()
print(length)
