import CGWFWModel

/// The Generic text download ("Vendor: Generic"): a header with the ids, then one `IPSec Tunnel #N` section
/// per tunnel whose `- Label : value` lines are read by the sub-section they are in, because the same labels
/// ("Customer Gateway", "Virtual Private Gateway") appear under Outside, Inside and BGP.
enum GenericParser {
    private enum Subsection {
        case ike, ipsec, outside, inside, bgp, other
    }

    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var parsed = ParsedFile()
        var connection = RawConnection(format: .generic, position: SourcePosition(line: 1), carriesMSSAndDF: true)
        var current: RawTunnel?
        var subsection = Subsection.other
        var headerFound = false
        var currentReachedInsideAddresses = false

        /// Ends the connection read so far; `endLine` is where its text stopped.
        func finishConnection(endLine: Int) {
            // Every download lists the inside addresses right after the outside ones. A last tunnel that has
            // its outside addresses but never gets there was cut short, maybe in the middle of an address.
            if let last = current, last.vpnGatewayAddress != nil, !currentReachedInsideAddresses {
                diagnostics.error("truncated file: tunnel #\(last.number) ends before its Inside IP Addresses; its "
                                  + "outside addresses may be cut short", at: SourcePosition(line: max(1, endLine)))
            }
            if let tunnel = current { connection.tunnels.append(tunnel) }
            current = nil
            parsed.connections.append(connection)
        }

        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            if content.isEmpty { continue }
            let lowered = content.lowercased()

            if lowered == "amazon web services" {
                // A second header: several downloads pasted into one file.
                if headerFound || current != nil || !connection.tunnels.isEmpty {
                    finishConnection(endLine: number - 1)
                    connection = RawConnection(format: .generic, position: SourcePosition(line: number),
                                               carriesMSSAndDF: true)
                }
                headerFound = true
                connection.position = SourcePosition(line: number)
                continue
            }
            if let tunnelNumber = tunnelHeading(lowered) {
                if let tunnel = current { connection.tunnels.append(tunnel) }
                current = RawTunnel(number: tunnelNumber, position: SourcePosition(line: number))
                subsection = .other
                currentReachedInsideAddresses = false
                continue
            }
            if let next = subsectionHeading(lowered) {
                subsection = next
                if next == .inside { currentReachedInsideAddresses = true }
                continue
            }
            guard let (label, value, valueColumn) = labelAndValue(line) else { continue }
            let located = Located(text: String(value), position: SourcePosition(line: number, column: valueColumn))
            if label == "pre-shared key" {
                if !value.isEmpty { parsed.secrets.insert(String(value)) }
                continue
            }

            guard current != nil else {
                switch label {
                case "your vpn connection id": connection.id = awsID(value)
                case "your virtual private gateway id": connection.gatewayID = awsID(value)
                case "your transit gateway id": connection.gatewayID = awsID(value) ?? connection.gatewayID
                case "your customer gateway id": connection.customerGatewayID = awsID(value)
                default: break
                }
                continue
            }
            apply(label: label, value: value, located: located, subsection: subsection, to: &current!)
        }
        finishConnection(endLine: source.lines.count)
        return parsed
    }

    private static func apply(label: String, value: Substring, located: Located, subsection: Subsection,
                              to tunnel: inout RawTunnel) {
        switch (subsection, label) {
        case (.outside, "customer gateway"): tunnel.customerGatewayAddress = located
        case (.outside, "virtual private gateway"), (.outside, "transit gateway"): tunnel.vpnGatewayAddress = located
        case (.inside, "customer gateway"): tunnel.insideCIDR = String(value)
        case (.bgp, "virtual private gateway asn"), (.bgp, "transit gateway asn"): tunnel.bgpASN = String(value)
        case (.bgp, "neighbor ip address"): tunnel.bgpNeighbor = String(value)
        case (.ike, "authentication algorithm"): tunnel.ikeIntegrity.append(String(value))
        case (.ike, "encryption algorithm"): tunnel.ikeEncryption.append(String(value))
        case (.ipsec, "authentication algorithm"): tunnel.ipsecIntegrity.append(String(value))
        case (.ipsec, "encryption algorithm"): tunnel.ipsecEncryption.append(String(value))
        case (_, "ike version"):
            tunnel.ikeVersion = IKEVersion(rawValue: value.lowercased())
        case (_, "tcp mss adjustment"): tunnel.tcpMSS = located
        case (_, "clear don't fragment bit"), (_, "clear don’t fragment bit"):
            tunnel.clearDF = enabledValue(value)
        case (_, "fragmentation"):
            tunnel.fragmentBeforeEncryption = value.lowercased().contains("before encryption")
        case (_, "tunnel interface mtu"): tunnel.mtu = leadingInteger(value)
        case (_, "dpd interval"): tunnel.dpdIntervalSeconds = leadingInteger(value)
        case (_, "nat traversal"), (_, "nat-t"): tunnel.natTraversal = enabledValue(value)
        // "Pre-Shared Key" and everything else: not needed, and the key must never be kept.
        default: break
        }
    }

    /// "IPSec Tunnel #2" (any capitalisation of IPsec) → 2.
    static func tunnelHeading(_ lowered: String) -> Int? {
        guard lowered.hasPrefix("ipsec tunnel #") else { return nil }
        return leadingInteger(lowered.dropFirst("ipsec tunnel #".count))
    }

    private static func subsectionHeading(_ lowered: String) -> Subsection? {
        if lowered.hasPrefix("outside ip addresses") { return .outside }
        if lowered.hasPrefix("inside ip addresses") { return .inside }
        if lowered.hasPrefix("bgp configuration options") { return .bgp }
        guard lowered.hasPrefix("#") else { return nil }
        if lowered.contains("internet key exchange") { return .ike }
        if lowered.contains("ipsec configuration") { return .ipsec }
        return .other
    }

    /// `  - Customer Gateway\t\t  : 3.34.214.63 ` → ("customer gateway", "3.34.214.63", column of the value).
    /// Tolerates TAB/space padding, a missing bullet, and a stray colon glued to the label
    /// ("- Customer Gateway:        : YOUR_UPLINK_ADDRESS").
    static func labelAndValue(_ line: Substring) -> (label: String, value: Substring, column: Int)? {
        var rest = line.trimmed
        if rest.hasPrefix("-") { rest = rest.dropFirst() }
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let label = rest[..<colon].normalizedLabel
        guard !label.isEmpty, label.count <= 60 else { return nil }
        var valueSlice = rest[rest.index(after: colon)...]
        // A lone ":" before the value is the stray one; "::1" is an IPv6 value and stays whole.
        if let stray = valueSlice.firstIndex(where: { !$0.isWhitespace }), valueSlice[stray] == ":" {
            let next = valueSlice.index(after: stray)
            if next == valueSlice.endIndex || valueSlice[next].isWhitespace { valueSlice = valueSlice[next...] }
        }
        let value = valueSlice.trimmed
        let column = SourceText.column(of: value.startIndex, in: line)
        return (label, value, column)
    }

    static func enabledValue(_ value: Substring) -> Bool? {
        switch value.lowercased() {
        case "enabled", "enable", "yes", "true", "on": return true
        case "disabled", "disable", "no", "false", "off": return false
        default: return nil
        }
    }
}
