import CGWFWModel

/// Validates what the parsers found and turns it into the connection model: addresses checked, MSS decided,
/// `--local-address` applied, duplicate tunnels merged. Every problem becomes a diagnostic.
struct ModelBuilder {
    /// The MSS range that makes sense for an IPsec tunnel over a 1500-byte path.
    static let plausibleMSS = 536...1460

    let localAddress: IPAddress?
    private(set) var result = ParseResult()
    /// Address pairs already taken, with the tunnel and file that took them (for the merge note).
    private var seenPairs: [PairKey: (tunnel: TunnelName, source: String)] = [:]
    /// The keys of the file being added: a key pasted where the customer gateway address belongs is not
    /// carried into the model when --local-address replaces it.
    private var secrets: Set<String> = []

    /// "vpn-… tunnel 2", spelled out only when a message needs it.
    private struct TunnelName: CustomStringConvertible {
        var connection: String
        var number: Int
        var description: String { "\(connection) tunnel \(number)" }
    }

    private struct PairKey: Hashable {
        var customerGateway: IPAddress
        var vpnGateway: IPAddress
    }

    init(localAddress: IPAddress?) {
        self.localAddress = localAddress
    }

    /// Room for this many connections and tunnels, so 10,000s of them do not regrow the tables.
    mutating func reserveCapacity(connections: Int, tunnels: Int) {
        result.connections.reserveCapacity(connections)
        seenPairs.reserveCapacity(tunnels)
    }

    mutating func add(_ parsed: ParsedFile, source: String, diagnostics: inout FileDiagnostics) {
        secrets = parsed.secrets
        result.skipped.append(contentsOf: parsed.skipped)
        if let lastLine = parsed.unterminatedLastLine {
            // XML and JSON cannot be cut without breaking their structure; line formats can.
            let lineFormats = parsed.connections.filter { $0.format != .xml && $0.format != .describeJSON }
            let addresses = lineFormats.flatMap(\.tunnels)
                .flatMap { [$0.customerGatewayAddress, $0.vpnGatewayAddress] }.compactMap { $0 }
            for address in addresses where address.position.line == lastLine && address.position.context == nil {
                diagnostics.warning("the input ends right after \(quoted(address.text)) without a line break; if the "
                                    + "file was cut short, this address may be incomplete", at: address.position)
            }
        }
        for raw in parsed.connections {
            if let connection = build(raw, source: source, diagnostics: &diagnostics) {
                result.connections.append(connection)
            }
        }
        diagnostics.redact(parsed.secrets)
    }

    mutating func finish(with diagnostics: Diagnostics) -> ParseResult {
        result.diagnostics.append(contentsOf: diagnostics)
        return result
    }

    private mutating func build(_ raw: RawConnection, source: String,
                                diagnostics: inout FileDiagnostics) -> Connection? {
        // Bytes answer "more than 4 characters" for ASCII ids; only others need their Characters counted.
        let name = raw.id.map { id in
            id.utf8.count > 4 && (id.utf8.allSatisfy { $0 < 0x80 } || id.count > 4) ? id : "connection"
        } ?? "connection"
        if raw.tunnels.isEmpty {
            diagnostics.error("\(name): no IPsec tunnel found (truncated or incomplete file?)", at: raw.position)
            return nil
        }
        if raw.tunnels.count < 2 {
            diagnostics.warning("\(name) has \(raw.tunnels.count) tunnel; AWS requires both tunnels of a VPN "
                                + "connection to be configured", at: raw.position)
        }
        if !raw.carriesMSSAndDF {
            diagnostics.note("\(name): \(raw.format.vendorName) downloads carry no TCP MSS or DF setting; "
                             + "using AWS's defaults (MSS \(AWSDefaults.tcpMSS), clear DF)", at: raw.position)
        }
        var replacedTexts: Set<String> = []
        var tunnels: [Tunnel] = []
        for rawTunnel in raw.tunnels {
            let label = TunnelName(connection: name, number: rawTunnel.number)
            guard let tunnel = buildTunnel(rawTunnel, label: label, connection: raw,
                                           replacedTexts: &replacedTexts, diagnostics: &diagnostics) else { continue }
            let key = PairKey(customerGateway: tunnel.customerGatewayAddress, vpnGateway: tunnel.vpnGatewayAddress)
            if let first = seenPairs[key] {
                diagnostics.note("\(label) repeats the address pair \(tunnel.customerGatewayAddress) ↔ "
                                 + "\(tunnel.vpnGatewayAddress) of \(first.tunnel) (\(first.source)); merged into one",
                                 at: rawTunnel.position)
                continue
            }
            seenPairs[key] = (label, source)
            tunnels.append(tunnel)
        }
        guard !tunnels.isEmpty else { return nil }
        // Ids and file names are echoed in reviews, reports and rule comments: control characters escaped.
        return Connection(id: raw.id.map(SafeText.escaped), customerGatewayID: raw.customerGatewayID.map(SafeText.escaped),
                          gatewayID: raw.gatewayID.map(SafeText.escaped), source: SafeText.escaped(source),
                          format: raw.format, tunnels: tunnels, accelerated: raw.accelerated)
    }

    private func buildTunnel(_ raw: RawTunnel, label: TunnelName, connection: RawConnection,
                             replacedTexts: inout Set<String>, diagnostics: inout FileDiagnostics) -> Tunnel? {
        var failed = false
        let vpnGateway = outsideAddress(raw.vpnGatewayAddress, role: "AWS", label: label, tunnelPosition: raw.position,
                                        diagnostics: &diagnostics)
        if vpnGateway == nil { failed = true }

        var customerGateway: IPAddress?
        if let localAddress {
            customerGateway = localAddress
            if let text = raw.customerGatewayAddress, IPAddress(text.text) != localAddress,
               replacedTexts.insert(text.text).inserted {
                // Only an address is repeated: a placeholder field may hold anything, a pasted key included.
                let replaced = IPAddress(text.text).map { "\($0)" } ?? "(not an IP address, not repeated here)"
                diagnostics.note("customer gateway outside address \(replaced) replaced by --local-address "
                                 + "\(localAddress)", at: text.position)
            }
        } else if raw.customerGatewayAddress == nil, let standIn = raw.customerGatewayStandIn {
            diagnostics.error("\(label): this \(connection.format.vendorName) download names no customer gateway outside "
                              + "address, only \(quoted(standIn.text)); give the address with --local-address",
                              at: standIn.position)
            failed = true
        } else {
            customerGateway = outsideAddress(raw.customerGatewayAddress, role: "customer gateway", label: label,
                                             tunnelPosition: raw.position, diagnostics: &diagnostics)
            if customerGateway == nil { failed = true }
        }

        if let customerGateway, let vpnGateway, customerGateway.family != vpnGateway.family {
            diagnostics.error("\(label): customer gateway address \(customerGateway) and AWS address \(vpnGateway) "
                              + "are of different families", at: raw.vpnGatewayAddress?.position ?? raw.position)
            failed = true
        }

        var configMSS: Int?
        if let mssText = raw.tcpMSS {
            if let value = leadingInteger(mssText.text), ModelBuilder.plausibleMSS.contains(value) {
                configMSS = value
            } else {
                diagnostics.error("\(label): TCP MSS \(quoted(mssText.text)) is not a number in "
                                  + "\(ModelBuilder.plausibleMSS.lowerBound)–\(ModelBuilder.plausibleMSS.upperBound)",
                                  at: mssText.position)
                failed = true
            }
        }
        guard !failed, let customerGateway, let vpnGateway else { return nil }

        var tunnel = Tunnel(number: raw.number, customerGatewayAddress: customerGateway, vpnGatewayAddress: vpnGateway,
                            configCustomerGatewayAddress: raw.customerGatewayAddress.map {
                                secrets.contains($0.text) ? "<redacted>" : $0.text },
                            insideCIDR: raw.insideCIDR, configTCPMSS: configMSS,
                            clearDF: raw.clearDF ?? AWSDefaults.clearDF, mtu: raw.mtu, ikeVersion: raw.ikeVersion,
                            ikeEncryption: raw.ikeEncryption, ikeIntegrity: raw.ikeIntegrity,
                            ipsecEncryption: raw.ipsecEncryption, ipsecIntegrity: raw.ipsecIntegrity,
                            natTraversal: raw.natTraversal, fragmentBeforeEncryption: raw.fragmentBeforeEncryption,
                            dpdIntervalSeconds: raw.dpdIntervalSeconds, bgpNeighbor: raw.bgpNeighbor,
                            bgpASN: raw.bgpASN, line: raw.position.line)
        let strongIntegrity = tunnel.usesSHA2_384or512
        tunnel.tcpMSS = Tunnel.effectiveMSS(config: configMSS, sha2_384or512: strongIntegrity)
        if strongIntegrity && tunnel.tcpMSS != (configMSS ?? AWSDefaults.tcpMSS) {
            diagnostics.note("\(label) may negotiate SHA2-384/SHA2-512 integrity: TCP MSS \(tunnel.tcpMSS) "
                             + "instead of \(configMSS ?? AWSDefaults.tcpMSS), as AWS requires", at: raw.position)
        }
        if connection.carriesMSSAndDF && configMSS == nil {
            diagnostics.note("\(label): the config states no TCP MSS; using AWS's default \(AWSDefaults.tcpMSS)",
                             at: raw.position)
        }
        for (role, address, located) in [("customer gateway", customerGateway, raw.customerGatewayAddress),
                                         ("AWS", vpnGateway, raw.vpnGatewayAddress)] where address.isPrivate {
            diagnostics.note("\(label): \(role) outside address \(address) is in a private range (fine for "
                             + "Private IP VPN over Direct Connect)", at: located?.position ?? raw.position)
        }
        return tunnel
    }

    private func outsideAddress(_ located: Located?, role: String, label: TunnelName, tunnelPosition: SourcePosition,
                                diagnostics: inout FileDiagnostics) -> IPAddress? {
        guard let located, !located.text.isEmpty else {
            diagnostics.error("\(label): no \(role) outside address found (truncated or incomplete file?)",
                              at: tunnelPosition)
            return nil
        }
        guard let address = IPAddress(located.text) else {
            let hint = role == "customer gateway" ? "; for a placeholder or a gateway behind NAT use --local-address"
                : looksLikePlaceholder(located.text) ? " (a placeholder or redaction: take the download of the real "
                    + "VPN connection from the AWS console)" : ""
            diagnostics.error("\(label): \(role) outside address \(quoted(located.text)) is not an IP address\(hint)",
                              at: located.position)
            return nil
        }
        if let reason = address.unusableAsOutsideAddress {
            diagnostics.error("\(label): \(role) outside address \(quoted(located.text)) is \(reason), not usable as a "
                              + "tunnel endpoint", at: located.position)
            return nil
        }
        return address
    }
}

/// `AWS_ENDPOINT_1`, `YOUR_UPLINK_ADDRESS`, `<REDACTED_FOR_SECURITY>`: words a person put where a value belongs.
func looksLikePlaceholder(_ text: String) -> Bool {
    if text.hasPrefix("<") && text.hasSuffix(">") { return true }
    return text.contains { $0.isLetter } && text.allSatisfy { ($0.isASCII && ($0.isUppercase || $0.isNumber)) || $0 == "_" }
}
