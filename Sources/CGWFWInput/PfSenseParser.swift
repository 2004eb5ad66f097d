import CGWFWModel

/// pfSense downloads: GUI steps, one "Go to VPN-->IPSec. Add a new Phase1 entry" per tunnel with lettered
/// steps ("e. Remote Gateway: <AWS>", "e. Pre-Shared Key: …", "c. NAT Traversal : Auto", the DPD delay) and a
/// Phase 2 part ("… create a new Phase2 entry"). The customer gateway address is not in the file: pfSense
/// uses the address of the interface the steps name ("d. Interface : WAN"), which stands in for it in the
/// error that asks for --local-address. No MSS or DF values: AWS's defaults apply.
enum PfSenseParser {
    private enum Phase { case none, phase1, phase2 }

    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var parsed = ParsedFile()
        var connection = RawConnection(format: .pfsense, position: SourcePosition(line: 1), carriesMSSAndDF: false)
        var tunnels: [RawTunnel] = []
        var phase = Phase.none

        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            if content.isEmpty { continue }
            if content.hasPrefix("!") {
                VendorText.readHeader(content, into: &connection)
                continue
            }
            let lowered = content.lowercased()
            if lowered.contains("phase1 entry") {
                tunnels.append(RawTunnel(number: tunnels.count + 1, position: SourcePosition(line: number)))
                phase = .phase1
                continue
            }
            if lowered.contains("phase2 entry") {
                phase = .phase2
                continue
            }
            guard phase != .none, !tunnels.isEmpty, let (label, value, column) = VendorText.step(line) else { continue }
            let located = Located(text: String(value), position: SourcePosition(line: number, column: column))
            let index = tunnels.count - 1
            switch (phase, label) {
            case (.phase1, "remote gateway"): tunnels[index].vpnGatewayAddress = located
            case (.phase1, "interface"):
                tunnels[index].customerGatewayStandIn = Located(text: String(content), position: SourcePosition(line: number))
            case (.phase1, "pre-shared key"): parsed.secrets.insert(String(value))
            case (.phase1, "key exchange version"):
                switch value.lowercased() {
                case "v1": tunnels[index].ikeVersion = .ikev1
                case "v2": tunnels[index].ikeVersion = .ikev2
                default: break
                }
            case (.phase1, "encryption algorithm"): tunnels[index].ikeEncryption.append(value.lowercased())
            case (.phase1, "hash algorithm"): tunnels[index].ikeIntegrity.append(value.lowercased())
            case (.phase1, "nat traversal"):
                // Auto and Force both use NAT-T (Auto when a NAT is detected); only "Disable" turns it off.
                tunnels[index].natTraversal = !value.lowercased().hasPrefix("disable") && !value.lowercased().hasPrefix("off")
            case (.phase1, "delay between requesting peer acknowledgement"):
                tunnels[index].dpdIntervalSeconds = leadingInteger(value)
            // "Encryption algorigthms" is how the download spells it.
            case (.phase2, "encryption algorithms"), (.phase2, "encryption algorigthms"):
                tunnels[index].ipsecEncryption.append(value.lowercased())
            case (.phase2, "hash algorithms"): tunnels[index].ipsecIntegrity.append(value.lowercased())
            default: break
            }
        }
        connection.tunnels = tunnels
        connection.positionAtFirstTunnel()
        parsed.connections = [connection]
        return parsed
    }
}
