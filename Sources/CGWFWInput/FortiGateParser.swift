import CGWFWModel

/// Fortinet FortiGate downloads, both variants AWS offers.
///
/// CLI: `config vpn ipsec phase1-interface` / `edit <name>` with `set local-gw <CGW>`, `set remote-gw <AWS>`,
/// `set psksecret …`; `config system interface` / `edit "<name>"` with `set ip`, `set tcp-mss`, `set mtu`, tied
/// to the phase 1 by its name. GUI steps: "Go to VPN-->IPSec--> AutoKey, create Phase 1" then lettered steps
/// ("a. Name: …", "c. IP address: <AWS>", "j. Local-gateway: Select Specify and enter <CGW>",
/// "g. Pre-Shared Key: …"), "Go to Network Tab … edit <name>" with "a. IP : <inside>", and the same CLI
/// `config system interface` snippet for MTU and MSS.
enum FortiGateParser {
    private enum GUISection { case none, phase1, phase2, interface }

    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var parsed = ParsedFile()
        var connection = RawConnection(format: .fortigate, position: SourcePosition(line: 1), carriesMSSAndDF: true)
        var table = TunnelTable()
        var sections: [String] = []
        var editing: String?
        var phase2Link: [String: String] = [:]
        var phase2Proposals: [String: [String]] = [:]
        var interfaceAddress: [String: String] = [:]
        var interfaceMSS: [String: Located] = [:]
        var interfaceMTU: [String: Int] = [:]
        var interfaceRemote: [String: String] = [:]
        var bgpNeighbors: [BGPNeighbor] = []
        var gui = GUISection.none
        var guiTunnel: Int?
        var guiInterface: String?

        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            if content.isEmpty { continue }
            if content.hasPrefix("!") {
                VendorText.readHeader(content, into: &connection)
                continue
            }
            let lowered = content.lowercased()

            // GUI steps: where each section starts.
            if lowered.hasPrefix("go to ") {
                if lowered.contains("autokey") && lowered.contains("phase 1") {
                    gui = .phase1
                    guiTunnel = table.index(for: "phase 1 at line \(number)", at: SourcePosition(line: number))
                } else if lowered.contains("autokey") && lowered.contains("phase 2") {
                    gui = .phase2
                } else if lowered.contains("interface") {
                    gui = .interface
                    guiInterface = VendorText.words(content).last.map { String($0.unquoted) }
                } else {
                    gui = .none
                }
                continue
            }

            let words = VendorText.words(VendorText.withoutTrailingComment(content))
            let first = words.first?.lowercased() ?? ""
            if first == "config" || first == "edit" || first == "set" || first == "next" || first == "end" {
                gui = .none
                let lowerWords = words.map { $0.lowercased() }
                func word(_ index: Int) -> Located? {
                    index < words.count ? VendorText.located(words[index], in: line, number: number) : nil
                }
                switch first {
                case "config":
                    let name = lowerWords.dropFirst().joined(separator: " ")
                    if ["vpn", "system", "router", "firewall", "global", "vdom"].contains(lowerWords.dropFirst().first ?? "") {
                        sections = [name]
                    } else {
                        sections.append(name)
                    }
                    editing = nil
                case "edit":
                    editing = word(1)?.text
                    if sections.last == "vpn ipsec phase1-interface", let name = editing {
                        _ = table.index(for: name, at: SourcePosition(line: number))
                    }
                case "next":
                    editing = nil
                case "end":
                    _ = sections.popLast()
                    editing = nil
                default:
                    guard let name = editing, lowerWords.count >= 3 else { break }
                    let key = lowerWords[1]
                    switch sections.last {
                    case "vpn ipsec phase1-interface":
                        let index = table.index(for: name, at: SourcePosition(line: number))
                        switch key {
                        case "local-gw": table.setCustomerGateway(word(2)!, at: index, diagnostics: &diagnostics)
                        case "remote-gw": table[index].vpnGatewayAddress = word(2)
                        case "psksecret": if let key = VendorText.secret(words, from: 2) { parsed.secrets.insert(key) }
                        case "interface":
                            table[index].customerGatewayStandIn = Located(text: words.joined(separator: " "),
                                                                          position: SourcePosition(line: number))
                        case "proposal":
                            let algorithms = IPsecConfParser.proposals(lowerWords.dropFirst(2).joined(separator: ","))
                            table[index].ikeEncryption = algorithms.encryption
                            table[index].ikeIntegrity = algorithms.integrity
                        case "ike-version": table[index].ikeVersion = lowerWords[2] == "2" ? .ikev2 : .ikev1
                        case "dpd-retryinterval": table[index].dpdIntervalSeconds = Int(lowerWords[2])
                        case "nattraversal": table[index].natTraversal = lowerWords[2] != "disable"
                        default: break
                        }
                    case "vpn ipsec phase2-interface":
                        if key == "phase1name" { phase2Link[name] = word(2)?.text }
                        if key == "proposal" { phase2Proposals[name] = Array(lowerWords.dropFirst(2)) }
                    case "system interface":
                        switch key {
                        case "ip": interfaceAddress[name] = VendorText.insideCIDR(address: words[2], mask: words.count > 3 ? words[3] : nil)
                        case "tcp-mss": interfaceMSS[name] = word(2)
                        case "mtu": interfaceMTU[name] = leadingInteger(words[2])
                        case "remote-ip": interfaceRemote[name] = String(words[2])
                        default: break
                        }
                    case "neighbor":
                        if key == "remote-as" { bgpNeighbors.append((name, String(words[2]))) }
                    default: break
                    }
                }
                continue
            }

            guard gui != .none, let (label, value, column) = VendorText.step(line) else { continue }
            let whole = Located(text: String(value), position: SourcePosition(line: number, column: column))
            switch (gui, label) {
            case (.phase1, "name"):
                if let guiTunnel { table.alias(String(value), to: guiTunnel) }
            case (.phase1, "ip address"):
                if let guiTunnel { table[guiTunnel].vpnGatewayAddress = whole }
            case (.phase1, "local-gateway"):
                // "Select Specify and enter 198.51.100.7": the address is the last word.
                if let guiTunnel, let address = VendorText.words(value).last {
                    table.setCustomerGateway(VendorText.located(address, in: line, number: number), at: guiTunnel,
                                             diagnostics: &diagnostics)
                }
            case (.phase1, "local interface"):
                if let guiTunnel {
                    table[guiTunnel].customerGatewayStandIn = Located(text: String(line.trimmed), position: SourcePosition(line: number))
                }
            case (.phase1, "pre-shared key"):
                parsed.secrets.insert(String(value))
            case (.phase1, "ike version"):
                if let guiTunnel { table[guiTunnel].ikeVersion = value.hasPrefix("2") ? .ikev2 : .ikev1 }
            case (.phase1, "encryption"):
                if let guiTunnel { table[guiTunnel].ikeEncryption.append(value.lowercased()) }
            case (.phase1, "authentication"):
                if let guiTunnel { table[guiTunnel].ikeIntegrity.append(value.lowercased()) }
            case (.phase2, "encryption"):
                if let guiTunnel { table[guiTunnel].ipsecEncryption.append(value.lowercased()) }
            case (.phase2, "authentication"):
                if let guiTunnel { table[guiTunnel].ipsecIntegrity.append(value.lowercased()) }
            case (.interface, "ip"):
                if let guiInterface { interfaceAddress[guiInterface] = String(value) }
            case (.interface, "remote ip"):
                if let guiInterface { interfaceRemote[guiInterface] = String(value) }
            default:
                break
            }
        }

        for (phase2, phase1) in phase2Link {
            guard let index = table.index(of: phase1), let proposals = phase2Proposals[phase2] else { continue }
            let algorithms = IPsecConfParser.proposals(proposals.joined(separator: ","))
            table[index].ipsecEncryption = algorithms.encryption
            table[index].ipsecIntegrity = algorithms.integrity
        }
        for (name, address) in interfaceAddress {
            guard let index = table.index(of: name) else { continue }
            table[index].insideCIDR = address
        }
        for (name, mss) in interfaceMSS { if let index = table.index(of: name) { table[index].tcpMSS = mss } }
        for (name, mtu) in interfaceMTU { if let index = table.index(of: name) { table[index].mtu = mtu } }
        // The tunnel interface has a /32 and names the AWS side as `remote-ip`: that is the BGP neighbour.
        for (name, remote) in interfaceRemote {
            guard let index = table.index(of: name), let neighbor = bgpNeighbors.first(where: { $0.address == remote }) else { continue }
            table[index].bgpNeighbor = neighbor.address
            table[index].bgpASN = neighbor.remoteAS
        }
        connection.tunnels = table.tunnels
        connection.positionAtFirstTunnel()
        parsed.connections = [connection]
        return parsed
    }

    /// The label of a lettered GUI step, lowercased: "j. local-gateway: select specify …" → "local-gateway".
    static func guiLabel(_ lowered: String) -> String? {
        VendorText.step(Substring(lowered))?.label
    }
}
