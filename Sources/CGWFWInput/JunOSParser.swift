import CGWFWModel

/// Juniper SRX / J-series JunOS `set` downloads.
///
/// A tunnel is an IKE gateway (`set security ike gateway <gw> address <AWS>`), named after the VPN id in full
/// (`gw-vpn-44a8938f-1`) or shortened (`gw-vpn-0d74f03-1`, newer generator); tunnel numbers are the order the
/// gateways appear. The download writes the customer gateway address only in a comment before each gateway
/// ("…the interface that IP address 198.51.100.7 is associated with"): that is taken, an explicit
/// `local-address` wins over it, and with neither the gateway's `external-interface` stands in for it in the
/// error that asks for --local-address. The rest follows the names: gateway → IKE policy → proposals, VPN →
/// gateway, IPsec policy, `bind-interface st0.N` → that interface's inside address and MTU.
enum JunOSParser {
    private struct Gateway {
        var tunnel: Int
        var policy: String?
    }

    private struct Proposal {
        var encryption: [String] = []
        var integrity: [String] = []
    }

    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var parsed = ParsedFile()
        var connection = RawConnection(format: .junos, position: SourcePosition(line: 1), carriesMSSAndDF: true)
        var table = TunnelTable()
        var gateways: [String: Gateway] = [:]
        var ikePolicies: [String: (proposals: [String], mainOrAggressive: Bool)] = [:]
        var ikeProposals: [String: Proposal] = [:]
        var ipsecPolicies: [String: [String]] = [:]
        var ipsecProposals: [String: Proposal] = [:]
        var vpnGateway: [String: String] = [:]
        var vpnIPsecPolicy: [String: String] = [:]
        var vpnInterface: [String: String] = [:]
        var vpnClearsDF: [String: Bool] = [:]
        var interfaceAddress: [String: String] = [:]
        var interfaceMTU: [String: Int] = [:]
        var bgpNeighbors: [BGPNeighbor] = []
        var mss: Located?
        var commentAddress: Located?
        var localAddresses: [String: Located] = [:]

        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            if content.isEmpty { continue }
            if content.hasPrefix("#") {
                if !VendorText.readHeader(content, into: &connection), let address = commentedAddress(content, line: line, number: number) {
                    commentAddress = address
                }
                continue
            }
            let words = VendorText.words(content)
            let lowered = words.map { $0.lowercased() }
            func word(_ index: Int) -> Located? {
                index < words.count ? VendorText.located(words[index], in: line, number: number) : nil
            }
            func starts(_ prefix: String...) -> Bool { lowered.starts(with: prefix) }
            func name(_ index: Int) -> String? { index < words.count ? String(words[index]) : nil }

            if starts("set", "security", "ike", "gateway"), let gateway = name(4), lowered.count >= 6 {
                if gateways[gateway] == nil {
                    let index = table.index(for: gateway, at: SourcePosition(line: number))
                    gateways[gateway] = Gateway(tunnel: index)
                    // The comment before this gateway's lines names the customer gateway address.
                    if let commentAddress { table[index].customerGatewayAddress = commentAddress }
                }
                let index = gateways[gateway]!.tunnel
                switch lowered[5] {
                case "address": table[index].vpnGatewayAddress = word(6)
                case "local-address": if let address = word(6) { localAddresses[gateway] = address }
                case "external-interface":
                    table[index].customerGatewayStandIn = Located(text: words[5...].joined(separator: " "),
                                                                  position: SourcePosition(line: number))
                case "ike-policy": gateways[gateway]!.policy = name(6)
                case "no-nat-traversal": table[index].natTraversal = false
                case "nat-traversal": table[index].natTraversal = true
                case "dead-peer-detection":
                    if let interval = lowered.firstIndex(of: "interval"), interval + 1 < lowered.count {
                        table[index].dpdIntervalSeconds = Int(lowered[interval + 1])
                    }
                case "version":
                    table[index].ikeVersion = lowered.count > 6 && lowered[6].hasPrefix("v2") ? .ikev2 : .ikev1
                default: break
                }
            } else if starts("set", "security", "ike", "policy"), let policy = name(4), lowered.count >= 6 {
                var entry = ikePolicies[policy] ?? ([], false)
                switch lowered[5] {
                case "proposals": entry.proposals += words.dropFirst(6).map(String.init)
                case "mode": entry.mainOrAggressive = true
                case "pre-shared-key":
                    // `pre-shared-key ascii-text "K"` (or hexadecimal): kept only to be redacted.
                    if let key = VendorText.secret(words, from: 7) { parsed.secrets.insert(key) }
                default: break
                }
                ikePolicies[policy] = entry
            } else if starts("set", "security", "ike", "proposal") || starts("set", "security", "ipsec", "proposal"),
                      let proposal = name(4), lowered.count >= 7 {
                let isIKE = lowered[2] == "ike"
                var entry = (isIKE ? ikeProposals[proposal] : ipsecProposals[proposal]) ?? Proposal()
                switch lowered[5] {
                case "encryption-algorithm": entry.encryption.append(lowered[6])
                case "authentication-algorithm": entry.integrity.append(lowered[6])
                default: break
                }
                if isIKE { ikeProposals[proposal] = entry } else { ipsecProposals[proposal] = entry }
            } else if starts("set", "security", "ipsec", "policy"), let policy = name(4), lowered.count >= 7,
                      lowered[5] == "proposals" {
                ipsecPolicies[policy, default: []] += words.dropFirst(6).map(String.init)
            } else if starts("set", "security", "ipsec", "vpn"), let vpn = name(4), lowered.count >= 7 {
                switch (lowered[5], lowered[6]) {
                case ("ike", "gateway"): vpnGateway[vpn] = name(7)
                case ("ike", "ipsec-policy"): vpnIPsecPolicy[vpn] = name(7)
                case ("bind-interface", _): vpnInterface[vpn] = name(6)
                case ("df-bit", _): vpnClearsDF[vpn] = lowered[6] == "clear"
                default: break
                }
            } else if starts("set", "interfaces"), lowered.count >= 7, lowered[3] == "family", lowered[4] == "inet" {
                let interface = String(words[2])
                switch lowered[5] {
                case "address": interfaceAddress[interface] = interfaceAddress[interface] ?? String(words[6])
                case "mtu": interfaceMTU[interface] = leadingInteger(words[6])
                default: break
                }
            } else if starts("set", "security", "flow", "tcp-mss", "ipsec-vpn", "mss") {
                mss = word(6)
            } else if starts("set", "protocols", "bgp"), let neighbor = lowered.firstIndex(of: "neighbor"),
                      neighbor + 3 < lowered.count, lowered[neighbor + 2] == "peer-as" {
                bgpNeighbors.append((String(words[neighbor + 1]), String(words[neighbor + 3])))
            }
        }

        for (gateway, entry) in gateways {
            let index = entry.tunnel
            if let local = localAddresses[gateway] { table[index].customerGatewayAddress = local }
            if let policy = entry.policy.flatMap({ ikePolicies[$0] }) {
                let proposals = policy.proposals.compactMap { ikeProposals[$0] }
                table[index].ikeEncryption = proposals.flatMap(\.encryption)
                table[index].ikeIntegrity = proposals.flatMap(\.integrity)
                // Main and aggressive mode exist only in IKEv1.
                if table[index].ikeVersion == nil && policy.mainOrAggressive { table[index].ikeVersion = .ikev1 }
            }
        }
        for (vpn, gateway) in vpnGateway {
            guard let index = gateways[gateway]?.tunnel else { continue }
            let proposals = vpnIPsecPolicy[vpn].flatMap { ipsecPolicies[$0] }?.compactMap { ipsecProposals[$0] } ?? []
            table[index].ipsecEncryption = proposals.flatMap(\.encryption)
            table[index].ipsecIntegrity = proposals.flatMap(\.integrity)
            table[index].clearDF = vpnClearsDF[vpn]
            if let interface = vpnInterface[vpn] {
                table[index].insideCIDR = interfaceAddress[interface]
                table[index].mtu = interfaceMTU[interface]
            }
        }
        table.updateEach { tunnel in
            tunnel.tcpMSS = mss
            tunnel.takeBGPNeighbor(from: bgpNeighbors)
        }
        connection.tunnels = table.tunnels
        connection.positionAtFirstTunnel()
        parsed.connections = [connection]
        return parsed
    }

    /// "# This should be set to the interface that IP address 198.51.100.7 is" → the address, at its column.
    private static func commentedAddress(_ content: Substring, line: Substring, number: Int) -> Located? {
        let words = VendorText.words(content)
        guard let ip = words.indices.first(where: { $0 + 2 < words.count && words[$0].lowercased() == "ip"
                                                  && words[$0 + 1].lowercased() == "address" }),
              content.lowercased().contains("interface") else { return nil }
        return VendorText.located(words[ip + 2], in: line, number: number)
    }
}
