#!/usr/bin/env python3
"""Writes N generated AWS CustomerGatewayConfiguration XML files (2 tunnels each) into DIR, for benchmarks.

Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking range): customer gateway i is 198.19.x.y, its AWS
endpoints are 198.18.x.y; every connection and endpoint is unique. Pre-shared keys are made up.
Usage: generate-configs.py N DIR
"""
import os
import sys

TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<vpn_connection id="vpn-{id:017x}">
  <customer_gateway_id>cgw-{id:017x}</customer_gateway_id>
  <vpn_gateway_id>vgw-0be0c0000000000ff</vpn_gateway_id>
  <vpn_connection_type>ipsec.1</vpn_connection_type>
{tunnels}</vpn_connection>
"""

TUNNEL = """  <ipsec_tunnel>
    <customer_gateway>
      <tunnel_outside_address><ip_address>{cgw}</ip_address></tunnel_outside_address>
      <tunnel_inside_address><ip_address>169.254.{a}.{b2}</ip_address><network_mask>255.255.255.252</network_mask><network_cidr>30</network_cidr></tunnel_inside_address>
    </customer_gateway>
    <vpn_gateway>
      <tunnel_outside_address><ip_address>{aws}</ip_address></tunnel_outside_address>
      <tunnel_inside_address><ip_address>169.254.{a}.{b1}</ip_address><network_mask>255.255.255.252</network_mask><network_cidr>30</network_cidr></tunnel_inside_address>
    </vpn_gateway>
    <ike>
      <authentication_protocol>sha1</authentication_protocol>
      <encryption_protocol>aes-128-cbc</encryption_protocol>
      <lifetime>28800</lifetime>
      <perfect_forward_secrecy>group2</perfect_forward_secrecy>
      <mode>main</mode>
      <pre_shared_key>bench_made_up_key_{id}_{n}</pre_shared_key>
    </ike>
    <ipsec>
      <protocol>esp</protocol>
      <authentication_protocol>hmac-sha1-96</authentication_protocol>
      <encryption_protocol>aes-128-cbc</encryption_protocol>
      <lifetime>3600</lifetime>
      <perfect_forward_secrecy>group2</perfect_forward_secrecy>
      <mode>tunnel</mode>
      <clear_df_bit>true</clear_df_bit>
      <fragmentation_before_encryption>true</fragmentation_before_encryption>
      <tcp_mss_adjustment>1379</tcp_mss_adjustment>
      <dead_peer_detection><interval>10</interval><retries>3</retries></dead_peer_detection>
    </ipsec>
  </ipsec_tunnel>
"""


def address(base, index):
    return f"{base}.{index >> 8 & 255}.{index & 255}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    count, directory = int(sys.argv[1]), sys.argv[2]
    if count > 32000:
        sys.exit("at most 32000 connections (two AWS endpoints each in 198.18.0.0/16)")
    os.makedirs(directory, exist_ok=True)
    for i in range(count):
        tunnels = "".join(
            TUNNEL.format(cgw=address("198.19", i + 1), aws=address("198.18", 2 * i + n), id=i, n=n,
                          a=(2 * i + n) % 256, b1=1 + 4 * ((2 * i + n) // 256 % 64), b2=2 + 4 * ((2 * i + n) // 256 % 64))
            for n in (1, 2))
        with open(os.path.join(directory, f"vpn-{i:05d}.xml"), "w") as out:
            out.write(TEMPLATE.format(id=i, tunnels=tunnels))


if __name__ == "__main__":
    main()
