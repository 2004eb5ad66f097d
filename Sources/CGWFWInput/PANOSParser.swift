import CGWFWModel

/// Palo Alto PAN-OS CLI downloads: `edit …` blocks ended by `top` (or the next `edit`).
///
/// A tunnel is an `edit network ike gateway <name>` block: `set local-address ip <CGW>` (possibly with the
/// interface's `/30`) and `set peer-address ip <AWS>`. The same two keywords come back in the BGP
/// `edit peer …` block with the *inside* addresses, so they count only inside an IKE gateway block. The tunnel
/// interface block (`edit network interface tunnel [units tunnel.N]`, `set ip`, `set mtu`) and the
/// `edit network tunnel ipsec` block (`set auto-key ike-gateway`, `set tunnel-interface`) tie inside address and
/// MTU to the gateway. PAN-OS downloads state no MSS and no DF: AWS's defaults apply.
enum PANOSParser {
    private enum Block {
        case none
        case gateway(String)
        case ikeProfile(String)
        case ipsecProfile(String)
        case tunnelInterface
        case ipsecTunnel
        case bgpPeer
    }

    private struct Interface {
        var name: String?
        var address: String?
        var mtu: Int?
    }

    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var parsed = ParsedFile()
        var connection = RawConnection(format: .panos, position: SourcePosition(line: 1), carriesMSSAndDF: false)
        var table = TunnelTable()
        var block = Block.none
        var gatewayProfile: [String: String] = [:]
        var ikeProfiles: [String: (encryption: [String], integrity: [String])] = [:]
        var ipsecProfiles: [String: (encryption: [String], integrity: [String])] = [:]
        var interfaces: [Interface] = []
        var links: [(gateway: String?, ipsecProfile: String?, interface: String?)] = []
        var peers: [(interface: String?, address: String?, remoteAS: String?)] = []

        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            if content.isEmpty { continue }
            if content.hasPrefix("!") {
                VendorText.readHeader(content, into: &connection)
                continue
            }
            let words = VendorText.words(content)
            let lowered = words.map { $0.lowercased() }
            func word(_ index: Int) -> Located? {
                index < words.count ? VendorText.located(words[index], in: line, number: number) : nil
            }
            func starts(_ prefix: String...) -> Bool { lowered.starts(with: prefix) }
            func name(_ index: Int) -> String? { index < words.count ? String(words[index].unquoted) : nil }

            if starts("top") || starts("exit") { block = .none; continue }
            if starts("edit") {
                if starts("edit", "network", "ike", "gateway"), let gateway = name(4) {
                    _ = table.index(for: gateway, at: SourcePosition(line: number))
                    block = .gateway(gateway)
                } else if starts("edit", "network", "ike", "crypto-profiles", "ike-crypto-profiles"), let profile = name(5) {
                    block = .ikeProfile(profile)
                } else if starts("edit", "network", "ike", "crypto-profiles", "ipsec-crypto-profiles"), let profile = name(5) {
                    block = .ipsecProfile(profile)
                } else if starts("edit", "network", "interface", "tunnel") {
                    interfaces.append(Interface(name: lowered.count >= 6 && lowered[4] == "units" ? name(5) : nil))
                    block = .tunnelInterface
                } else if starts("edit", "network", "tunnel", "ipsec") {
                    links.append((nil, nil, nil))
                    block = .ipsecTunnel
                } else if starts("edit", "peer") {
                    peers.append((nil, nil, nil))
                    block = .bgpPeer
                } else if !starts("edit", "peer-group") {
                    block = .none
                }
                continue
            }
            guard starts("set") else { continue }
            switch block {
            case .gateway(let gateway):
                let index = table.index(of: gateway)!
                if starts("set", "local-address", "ip"), let address = word(3) {
                    table.setCustomerGateway(VendorText.withoutPrefixLength(address), at: index, diagnostics: &diagnostics)
                } else if starts("set", "peer-address", "ip"), let address = word(3) {
                    table[index].vpnGatewayAddress = address
                } else if starts("set", "authentication", "pre-shared-key", "key") {
                    if let key = VendorText.secret(words, from: 4) { parsed.secrets.insert(key) }
                } else if starts("set", "local-address", "interface") {
                    table[index].customerGatewayStandIn = Located(text: String(content), position: SourcePosition(line: number))
                } else if starts("set", "protocol"), lowered.count >= 3 {
                    if lowered[2] == "ikev1" || lowered[2] == "ikev2" {
                        table[index].ikeVersion = IKEVersion(rawValue: lowered[2])
                    }
                    if let profile = lowered.firstIndex(of: "ike-crypto-profile"), profile + 1 < words.count {
                        gatewayProfile[gateway] = String(words[profile + 1])
                    }
                    if let interval = lowered.firstIndex(of: "interval"), lowered.contains("dpd"), interval + 1 < lowered.count {
                        table[index].dpdIntervalSeconds = Int(lowered[interval + 1])
                    }
                } else if starts("set", "protocol-common", "nat-traversal", "enable"), lowered.count >= 5 {
                    table[index].natTraversal = GenericParser.enabledValue(Substring(lowered[4]))
                }
            case .ikeProfile(let profile):
                var entry = ikeProfiles[profile] ?? ([], [])
                if starts("set", "encryption") { entry.encryption += lowered.dropFirst(2) }
                if starts("set", "hash") { entry.integrity += lowered.dropFirst(2) }
                ikeProfiles[profile] = entry
            case .ipsecProfile(let profile):
                var entry = ipsecProfiles[profile] ?? ([], [])
                if starts("set", "esp", "encryption") { entry.encryption += lowered.dropFirst(3) }
                if starts("set", "esp", "authentication") { entry.integrity += lowered.dropFirst(3) }
                ipsecProfiles[profile] = entry
            case .tunnelInterface:
                if starts("set", "ip") { interfaces[interfaces.count - 1].address = name(2) }
                if starts("set", "units") { interfaces[interfaces.count - 1].name = name(2) }
                if starts("set", "mtu") { interfaces[interfaces.count - 1].mtu = name(2).flatMap { leadingInteger($0) } }
            case .ipsecTunnel:
                if starts("set", "auto-key", "ike-gateway") { links[links.count - 1].gateway = name(3) }
                if starts("set", "auto-key", "ipsec-crypto-profile") { links[links.count - 1].ipsecProfile = name(3) }
                if starts("set", "tunnel-interface") { links[links.count - 1].interface = name(2) }
            case .bgpPeer:
                // The inside addresses: never outside ones.
                if starts("set", "local-address", "interface") { peers[peers.count - 1].interface = name(3) }
                if starts("set", "peer-address", "ip") { peers[peers.count - 1].address = name(3) }
                if starts("set", "peer-as") { peers[peers.count - 1].remoteAS = name(2) }
            case .none:
                break
            }
        }

        for (gateway, profile) in gatewayProfile {
            guard let index = table.index(of: gateway), let algorithms = ikeProfiles[profile] else { continue }
            table[index].ikeEncryption = algorithms.encryption
            table[index].ikeIntegrity = algorithms.integrity
        }
        for link in links {
            guard let index = link.gateway.flatMap({ table.index(of: $0) }) else { continue }
            if let algorithms = link.ipsecProfile.flatMap({ ipsecProfiles[$0] }) {
                table[index].ipsecEncryption = algorithms.encryption
                table[index].ipsecIntegrity = algorithms.integrity
            }
            if let interface = interfaces.last(where: { $0.name != nil && $0.name == link.interface }) {
                table[index].insideCIDR = interface.address
                table[index].mtu = interface.mtu
            }
            if let peer = peers.first(where: { $0.interface != nil && $0.interface == link.interface }) {
                table[index].bgpNeighbor = peer.address
                table[index].bgpASN = peer.remoteAS
            }
        }
        connection.tunnels = table.tunnels
        connection.positionAtFirstTunnel()
        parsed.connections = [connection]
        return parsed
    }
}
