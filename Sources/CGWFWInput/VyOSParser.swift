import CGWFWModel

/// The VyOS / Vyatta download: `set vpn ipsec site-to-site peer <AWS> local-address '<CGW>'` per tunnel,
/// proposals in named ike-/esp-groups, the inside address and MTU on the bound `vti` interface, BGP
/// neighbours under `set protocols bgp`. It has no MSS and no DF settings.
enum VyOSParser {
    private struct Peer {
        var tunnel: RawTunnel
        var remoteAddress: Located
        var ikeGroup: String?
        var espGroup: String?
        var vti: String?
    }

    private struct Group {
        var encryption: [String] = []
        var hash: [String] = []
        var keyExchange: IKEVersion?
        var dpdInterval: Int?
    }

    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var connection = RawConnection(format: .vyos, position: SourcePosition(line: 1), carriesMSSAndDF: false)
        var peers: [String: Peer] = [:]
        var peerOrder: [String] = []
        var ikeGroups: [String: Group] = [:]
        var espGroups: [String: Group] = [:]
        var vtiAddresses: [String: String] = [:]
        var vtiMTUs: [String: Int] = [:]
        var bgpNeighbors: [BGPNeighbor] = []
        var natTraversal: Bool?
        var secrets: Set<String> = []

        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            if content.hasPrefix("!") || content.hasPrefix("#") {
                if let (label, value, _) = GenericParser.labelAndValue(content.dropFirst()) {
                    switch label {
                    case "your vpn connection id": connection.id = awsID(value)
                    case "your virtual private gateway id", "your transit gateway id":
                        connection.gatewayID = awsID(value) ?? connection.gatewayID
                    case "your customer gateway id": connection.customerGatewayID = awsID(value)
                    default: break
                    }
                }
                continue
            }
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 3, words[0] == "set" else { continue }
            let tokens = words.map { String($0.unquoted) }

            if tokens.starts(with: ["set", "vpn", "ipsec", "site-to-site", "peer"]), tokens.count >= 7 {
                let name = tokens[5]
                if peers[name] == nil {
                    let column = SourceText.column(of: words[5].startIndex, in: line)
                    let position = SourcePosition(line: number, column: column)
                    peers[name] = Peer(tunnel: RawTunnel(number: peerOrder.count + 1, position: SourcePosition(line: number)),
                                       remoteAddress: Located(text: name, position: position))
                    peerOrder.append(name)
                }
                let value = tokens[7...].last ?? ""
                let valueColumn = SourceText.column(of: words.last!.unquoted.startIndex, in: line)
                let valuePosition = SourcePosition(line: number, column: valueColumn)
                switch tokens[6] {
                case "local-address":
                    peers[name]!.tunnel.customerGatewayAddress = Located(text: value, position: valuePosition)
                case "remote-address":
                    peers[name]!.remoteAddress = Located(text: value, position: valuePosition)
                case "ike-group":
                    peers[name]!.ikeGroup = value
                case "vti" where tokens.count >= 9:
                    if tokens[7] == "bind" { peers[name]!.vti = tokens[8] }
                    if tokens[7] == "esp-group" { peers[name]!.espGroup = tokens[8] }
                case "default-esp-group":
                    peers[name]!.espGroup = value
                case "authentication" where tokens.count >= 9 && tokens[7] == "pre-shared-secret":
                    // Kept only to be redacted from diagnostics.
                    secrets.insert(tokens[8])
                default: break
                }
            } else if tokens.starts(with: ["set", "vpn", "ipsec", "ike-group"]) || tokens.starts(with: ["set", "vpn", "ipsec", "esp-group"]),
                      tokens.count >= 7 {
                let isIKE = tokens[3] == "ike-group"
                var group = (isIKE ? ikeGroups[tokens[4]] : espGroups[tokens[4]]) ?? Group()
                let value = tokens.last!
                switch (tokens[5], tokens.count >= 8 ? tokens[7] : "") {
                case ("proposal", "encryption"): group.encryption.append(value)
                case ("proposal", "hash"): group.hash.append(value)
                case ("key-exchange", _): group.keyExchange = IKEVersion(rawValue: value.lowercased())
                case ("dead-peer-detection", _) where tokens[6] == "interval": group.dpdInterval = leadingInteger(value)
                default: break
                }
                if isIKE { ikeGroups[tokens[4]] = group } else { espGroups[tokens[4]] = group }
            } else if tokens.starts(with: ["set", "interfaces", "vti"]), tokens.count >= 6 {
                switch tokens[4] {
                case "address": vtiAddresses[tokens[3]] = vtiAddresses[tokens[3]] ?? tokens[5]
                case "mtu": vtiMTUs[tokens[3]] = leadingInteger(tokens[5])
                default: break
                }
            } else if tokens.starts(with: ["set", "protocols", "bgp"]), tokens.count >= 7, tokens[4] == "neighbor",
                      tokens[6] == "remote-as" {
                bgpNeighbors.append((tokens[5], tokens.count >= 8 ? tokens[7] : nil))
            } else if tokens.starts(with: ["set", "vpn", "ipsec", "nat-traversal"]), tokens.count >= 5 {
                natTraversal = GenericParser.enabledValue(Substring(tokens[4]))
            }
        }

        for name in peerOrder {
            guard let peer = peers[name] else { continue }
            var tunnel = peer.tunnel
            tunnel.vpnGatewayAddress = peer.remoteAddress
            tunnel.natTraversal = natTraversal
            if let ike = peer.ikeGroup.flatMap({ ikeGroups[$0] }) {
                tunnel.ikeEncryption = ike.encryption
                tunnel.ikeIntegrity = ike.hash
                tunnel.ikeVersion = ike.keyExchange
                tunnel.dpdIntervalSeconds = ike.dpdInterval
            }
            if let esp = peer.espGroup.flatMap({ espGroups[$0] }) {
                tunnel.ipsecEncryption = esp.encryption
                tunnel.ipsecIntegrity = esp.hash
            }
            if let vti = peer.vti {
                tunnel.insideCIDR = vtiAddresses[vti]
                tunnel.mtu = vtiMTUs[vti]
                tunnel.takeBGPNeighbor(from: bgpNeighbors)
            }
            connection.tunnels.append(tunnel)
        }
        connection.positionAtFirstTunnel()
        return ParsedFile(connections: [connection], secrets: secrets)
    }
}

/// An IPv4 inside network such as "169.254.70.182/30", for matching BGP neighbours to tunnels.
struct InsideNetwork {
    let network: UInt32
    let mask: UInt32

    init?(_ cidr: String) {
        let parts = cidr.split(separator: "/")
        guard parts.count == 2, let prefix = Int(parts[1]), (0...32).contains(prefix),
              case .v4(let address)? = IPAddress(parts[0]) else { return nil }
        mask = prefix == 0 ? 0 : UInt32.max << (32 - prefix)
        network = address & mask
    }

    func contains(_ text: String) -> Bool {
        guard case .v4(let address)? = IPAddress(text) else { return false }
        return address & mask == network
    }
}
