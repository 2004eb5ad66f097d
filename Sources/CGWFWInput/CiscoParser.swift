import CGWFWModel

/// Cisco IOS and Cisco ASA downloads (one syntax family, read the same way).
///
/// A tunnel is known by its AWS address, wherever that comes first: IOS `crypto keyring` (`pre-shared-key
/// address <AWS> key …`), `crypto isakmp profile` (`match identity address <AWS>`), `interface TunnelN`
/// (`tunnel destination <AWS>`); ASA `tunnel-group <AWS> type ipsec-l2l`, `crypto map … set peer <AWS> …`.
/// The customer gateway is the keyring/profile `local-address`, an IP `tunnel source`, or on the ASA the
/// `access-list … permit ip host <AWS> host <CGW>` line; an ASA VTI download names only
/// `tunnel source interface 'outside_interface'`, which stands in for the address in the error.
///
/// Commands are recognised by their words, not their indentation (a download pasted into Markdown loses it):
/// a block header (`crypto keyring`, `interface Tunnel1`, …) opens a block, `exit` or the next header ends it.
/// ISAKMP policies, transform sets, DF, fragmentation, keepalive (DPD) and `sysopt connection tcpmss` are
/// global on these devices, so they apply to every tunnel.
enum CiscoParser {
    private enum Block {
        case none
        case keyring, ikeProfile, ikev2Keyring
        case ikePolicy
        case ipsecProposal
        case tunnelInterface
        case tunnelGroupAttributes(String)
        case bgp
    }

    /// What one block said, committed to the tunnel table when the block ends.
    private struct Pending {
        var header = SourcePosition(line: 1)
        var localAddress: Located?
        var peers: [Located] = []
        var source: Located?
        var sourceStandIn: Located?
        var destination: Located?
        var insideCIDR: String?
        var mss: Located?
        var mtu: Int?
        var dpd: Int?
    }

    static func parse(_ source: SourceText, dialect: InputFormat, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var parsed = ParsedFile()
        var connection = RawConnection(format: dialect, position: SourcePosition(line: 1), carriesMSSAndDF: true)
        var table = TunnelTable()
        var block = Block.none
        var pending = Pending()
        var ikeEncryption: [String] = []
        var ikeIntegrity: [String] = []
        var ipsecEncryption: [String] = []
        var ipsecIntegrity: [String] = []
        var ikeVersions: Set<IKEVersion> = []
        var clearDF: Bool?
        var fragmentBefore: Bool?
        var dpd: Int?
        var natTraversal: Bool?
        var globalMSS: Located?
        var accessListPairs: [(aws: String, customerGateway: Located)] = []
        var cryptoMapInterface: Located?
        var bgpNeighbors: [BGPNeighbor] = []

        func commit() {
            switch block {
            case .keyring, .ikeProfile, .ikev2Keyring:
                for peer in pending.peers {
                    let index = table.index(for: peer.text, at: pending.header)
                    if table[index].vpnGatewayAddress == nil { table[index].vpnGatewayAddress = peer }
                    if let local = pending.localAddress { table.setCustomerGateway(local, at: index, diagnostics: &diagnostics) }
                    if let dpd = pending.dpd { table[index].dpdIntervalSeconds = dpd }
                }
            case .tunnelInterface:
                guard let destination = pending.destination else { break }
                let index = table.index(for: destination.text, at: pending.header)
                if table[index].vpnGatewayAddress == nil { table[index].vpnGatewayAddress = destination }
                if let source = pending.source { table.setCustomerGateway(source, at: index, diagnostics: &diagnostics) }
                if let standIn = pending.sourceStandIn { table[index].customerGatewayStandIn = standIn }
                if let inside = pending.insideCIDR { table[index].insideCIDR = inside }
                if let mss = pending.mss { table[index].tcpMSS = mss }
                if let mtu = pending.mtu { table[index].mtu = mtu }
            default:
                break
            }
            block = .none
            pending = Pending()
        }

        func open(_ next: Block, at number: Int) {
            commit()
            block = next
            pending.header = SourcePosition(line: number)
        }

        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            if content.isEmpty || content.hasPrefix("!") {
                if content.hasPrefix("!") { VendorText.readHeader(content, into: &connection) }
                continue
            }
            let words = VendorText.words(content)
            let lowered = words.map { $0.lowercased() }
            func word(_ index: Int) -> Located? {
                index < words.count ? VendorText.located(words[index], in: line, number: number) : nil
            }
            func starts(_ prefix: String...) -> Bool { lowered.starts(with: prefix) }

            // Block headers and one-line global commands.
            if starts("exit") || starts("end") || starts("exit-address-family") {
                if case .bgp = block, starts("exit-address-family") { continue }
                commit()
                continue
            }
            if starts("crypto", "keyring") { open(.keyring, at: number); continue }
            if starts("crypto", "ikev2", "keyring") { open(.ikev2Keyring, at: number); continue }
            if starts("crypto", "isakmp", "profile") || starts("crypto", "ikev2", "profile") { open(.ikeProfile, at: number); continue }
            if starts("crypto", "isakmp", "policy") || starts("crypto", "ikev1", "policy") {
                open(.ikePolicy, at: number)
                ikeVersions.insert(.ikev1)
                continue
            }
            if starts("crypto", "ikev2", "policy") || starts("crypto", "ikev2", "proposal") {
                open(.ikePolicy, at: number)
                ikeVersions.insert(.ikev2)
                continue
            }
            if starts("crypto", "ipsec", "ikev2", "ipsec-proposal") { open(.ipsecProposal, at: number); continue }
            if lowered.count >= 2, lowered[0] == "interface", lowered[1].hasPrefix("tunnel") {
                open(.tunnelInterface, at: number)
                continue
            }
            if starts("router", "bgp") { open(.bgp, at: number); continue }
            if starts("tunnel-group"), lowered.count >= 3 {
                commit()
                let peer = word(1)!
                if lowered[2] == "type" {
                    let index = table.index(for: peer.text, at: SourcePosition(line: number))
                    if table[index].vpnGatewayAddress == nil { table[index].vpnGatewayAddress = peer }
                } else if lowered[2] == "ipsec-attributes" {
                    block = .tunnelGroupAttributes(peer.text)
                }
                continue
            }
            if starts("crypto", "ipsec", "transform-set") || starts("crypto", "ipsec", "ikev1", "transform-set") {
                commit()
                let first = lowered[2] == "transform-set" ? 4 : 5
                let algorithms = transformSet(first < words.count ? Array(lowered[first...]) : [])
                ipsecEncryption += algorithms.encryption
                ipsecIntegrity += algorithms.integrity
                continue
            }
            if starts("crypto", "ipsec", "df-bit") {
                clearDF = lowered.count >= 4 && lowered[3].hasPrefix("clear")
                continue
            }
            if starts("crypto", "ipsec", "fragmentation") {
                fragmentBefore = lowered.count >= 4 && lowered[3] == "before-encryption"
                continue
            }
            if starts("crypto", "isakmp", "keepalive") {
                dpd = lowered.dropFirst(3).first { Int($0) != nil }.flatMap { Int($0) }
                continue
            }
            if starts("crypto", "isakmp", "nat-traversal") || starts("crypto", "ikev1", "nat-traversal") {
                natTraversal = true
                continue
            }
            if starts("no", "crypto", "isakmp", "nat-traversal") || starts("no", "crypto", "ikev1", "nat-traversal") {
                natTraversal = false
                continue
            }
            if starts("sysopt", "connection", "tcpmss"), let value = word(3) {
                globalMSS = value
                continue
            }
            if starts("crypto", "map"), lowered.count >= 5 {
                if lowered[3] == "set", lowered[4] == "peer" {
                    for peerIndex in 5..<words.count {
                        let peer = word(peerIndex)!
                        let index = table.index(for: peer.text, at: SourcePosition(line: number))
                        if table[index].vpnGatewayAddress == nil { table[index].vpnGatewayAddress = peer }
                    }
                } else if lowered[3] == "interface" {
                    cryptoMapInterface = Located(text: String(content), position: SourcePosition(line: number))
                }
                continue
            }
            if starts("access-list"), let permit = lowered.firstIndex(of: "permit"), permit + 5 < lowered.count,
               lowered[permit + 1] == "ip", lowered[permit + 2] == "host", lowered[permit + 4] == "host" {
                // `permit ip host <AWS> host <CGW>`: the ACL that lets the AWS endpoint in.
                accessListPairs.append((String(words[permit + 3]), word(permit + 5)!))
                continue
            }

            // Any other top-level command ends the open block (an `interface GigabitEthernet0/0` must not lend
            // its `ip address` to the tunnel interface before it when an `exit` is missing).
            if ["crypto", "interface", "router", "track", "object", "group-policy", "sla", "hostname"].contains(lowered[0])
                || starts("ip", "sla") || starts("ip", "route") {
                commit()
                continue
            }

            // Commands inside a block.
            switch block {
            case .keyring, .ikeProfile, .ikev2Keyring:
                if starts("local-address"), let address = word(1) {
                    pending.localAddress = address
                } else if starts("match", "address", "local"), let address = word(3) {
                    pending.localAddress = address
                } else if starts("pre-shared-key") {
                    if lowered.count >= 3, lowered[1] == "address" { pending.peers.append(word(2)!) }
                    if let key = VendorText.secret(words, from: 1) { parsed.secrets.insert(key) }
                } else if starts("match", "identity", "address"), let address = word(3) {
                    pending.peers.append(address)
                } else if starts("match", "identity", "remote", "address"), let address = word(4) {
                    pending.peers.append(address)
                } else if starts("address"), let address = word(1) {
                    pending.peers.append(address)
                } else if starts("dpd"), lowered.count >= 2 {
                    pending.dpd = Int(lowered[1])
                }
            case .ikePolicy:
                if starts("encryption") {
                    ikeEncryption.append(lowered.dropFirst().joined())
                } else if starts("hash") || starts("integrity") {
                    ikeIntegrity += lowered.dropFirst()
                }
            case .ipsecProposal:
                if starts("protocol", "esp", "encryption") {
                    ipsecEncryption += lowered.dropFirst(3)
                } else if starts("protocol", "esp", "integrity") {
                    ipsecIntegrity += lowered.dropFirst(3)
                }
            case .tunnelInterface:
                if starts("ip", "address"), let address = word(2) {
                    pending.insideCIDR = VendorText.insideCIDR(address: address.text, mask: word(3)?.text)
                } else if starts("tunnel", "source", "interface") {
                    pending.sourceStandIn = Located(text: String(content), position: SourcePosition(line: number))
                } else if starts("tunnel", "source"), let address = word(2) {
                    if IPAddress(address.text) != nil || looksLikePlaceholder(address.text) {
                        pending.source = address
                    } else {
                        pending.sourceStandIn = Located(text: String(content), position: SourcePosition(line: number))
                    }
                } else if starts("tunnel", "destination"), let address = word(2) {
                    pending.destination = address
                } else if starts("ip", "tcp", "adjust-mss"), let value = word(3) {
                    pending.mss = value
                } else if starts("ip", "mtu"), let value = word(2) {
                    pending.mtu = leadingInteger(value.text)
                }
            case .tunnelGroupAttributes(let peer):
                if let keyword = lowered.firstIndex(of: "pre-shared-key") {
                    if let key = VendorText.secret(words, from: keyword + 1) { parsed.secrets.insert(key) }
                } else if starts("isakmp", "keepalive"), let index = table.index(of: peer) {
                    table[index].dpdIntervalSeconds = lowered.dropFirst(2).first { Int($0) != nil }.flatMap { Int($0) }
                }
            case .bgp:
                if starts("neighbor"), lowered.count >= 4, lowered[2] == "remote-as",
                   !bgpNeighbors.contains(where: { $0.address == String(words[1]) }) {
                    bgpNeighbors.append((String(words[1]), String(words[3])))
                }
            case .none:
                break
            }
        }
        commit()

        for (aws, customerGateway) in accessListPairs {
            if let index = table.index(of: aws) { table.setCustomerGateway(customerGateway, at: index, diagnostics: &diagnostics) }
        }
        let version: IKEVersion? = ikeVersions.contains(.ikev2) ? .ikev2 : ikeVersions.first
        // One policy per tunnel in the download, all alike: each algorithm once. Cisco's "sha" is SHA-1.
        func distinct(_ names: [String]) -> [String] {
            var seen: Set<String> = []
            return names.map { $0 == "sha" ? "sha1" : $0 }.filter { seen.insert($0).inserted }
        }
        table.updateEach { tunnel in
            tunnel.ikeEncryption = distinct(ikeEncryption)
            tunnel.ikeIntegrity = distinct(ikeIntegrity)
            tunnel.ipsecEncryption = distinct(ipsecEncryption)
            tunnel.ipsecIntegrity = distinct(ipsecIntegrity)
            tunnel.ikeVersion = version
            tunnel.clearDF = clearDF
            tunnel.fragmentBeforeEncryption = fragmentBefore
            tunnel.natTraversal = natTraversal
            if tunnel.dpdIntervalSeconds == nil { tunnel.dpdIntervalSeconds = dpd }
            if tunnel.tcpMSS == nil { tunnel.tcpMSS = globalMSS }
            if tunnel.customerGatewayAddress == nil, tunnel.customerGatewayStandIn == nil {
                tunnel.customerGatewayStandIn = cryptoMapInterface
            }
            tunnel.takeBGPNeighbor(from: bgpNeighbors)
        }
        connection.tunnels = table.tunnels
        connection.positionAtFirstTunnel()
        parsed.connections = [connection]
        return parsed
    }

    /// "esp-aes 128 esp-sha-hmac" → encryption [aes128], integrity [sha]; "esp-sha512-hmac" → sha512.
    static func transformSet(_ words: [String]) -> (encryption: [String], integrity: [String]) {
        var encryption: [String] = []
        var integrity: [String] = []
        for word in words {
            if word.hasSuffix("-hmac") {
                integrity.append(String(word.dropFirst(word.hasPrefix("esp-") ? 4 : 0).dropLast(5)))
            } else if word.hasPrefix("esp-") {
                encryption.append(String(word.dropFirst(4)))
            } else if Int(word) != nil, let last = encryption.popLast() {
                encryption.append(last + word)
            }
        }
        return (encryption, integrity)
    }
}
