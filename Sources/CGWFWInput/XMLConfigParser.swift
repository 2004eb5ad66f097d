import CGWFWModel

/// The `CustomerGatewayConfiguration` XML: `<vpn_connection id=…>` with one `<ipsec_tunnel>` per tunnel.
/// Transit Gateway documents leave `<vpn_gateway_id>` empty or self-closing; static ones have no `<bgp>`.
enum XMLConfigParser {
    /// - Parameter relocate: maps a position inside the XML text to a position in the file (the XML may be a
    ///   string inside a describe-vpn-connections JSON).
    static func parse(_ text: String, diagnostics: inout FileDiagnostics,
                      relocate: (SourcePosition) -> SourcePosition = { $0 }) -> RawConnection? {
        let root: XMLNode
        do {
            root = try MiniXML.parse(text)
        } catch {
            diagnostics.error(error.message, at: relocate(error.position))
            return nil
        }
        guard root.name == "vpn_connection" else {
            diagnostics.error("XML document is <\(root.name)>, not an AWS <vpn_connection> configuration",
                              at: relocate(root.position))
            return nil
        }
        var connection = RawConnection(format: .xml, position: relocate(root.position), carriesMSSAndDF: true)
        connection.id = root.attributes["id"].flatMap(awsID)
        connection.customerGatewayID = root.child("customer_gateway_id").flatMap { awsID($0.text) }
        connection.gatewayID = root.child("vpn_gateway_id").flatMap { awsID($0.text) }
            ?? root.child("transit_gateway_id").flatMap { awsID($0.text) }

        for (index, element) in root.children("ipsec_tunnel").enumerated() {
            connection.tunnels.append(tunnel(element, number: index + 1, relocate: relocate))
        }
        return connection
    }

    private static func tunnel(_ element: XMLNode, number: Int, relocate: (SourcePosition) -> SourcePosition) -> RawTunnel {
        var tunnel = RawTunnel(number: number, position: relocate(element.position))
        func located(_ node: XMLNode?) -> Located? {
            guard let node else { return nil }
            if let plain = node.plainText { return Located(text: plain, position: relocate(node.textPosition)) }
            let value = node.text.trimmed
            // Point at the value itself: the text after the start tag, shifted past leading blanks.
            var position = node.textPosition
            if !value.isEmpty, !node.text.prefix(while: { $0.isWhitespace }).contains(where: \.isNewline) {
                position.column += node.text.distance(from: node.text.startIndex, to: value.startIndex)
            }
            return Located(text: String(value), position: relocate(position))
        }
        let customer = element.child("customer_gateway")
        let aws = element.child("vpn_gateway")
        tunnel.customerGatewayAddress = located(customer?.path("tunnel_outside_address", "ip_address"))
        tunnel.vpnGatewayAddress = located(aws?.path("tunnel_outside_address", "ip_address"))

        if let inside = customer?.child("tunnel_inside_address"), let address = inside.child("ip_address")?.trimmedText,
           !address.isEmpty {
            let prefix = inside.child("network_cidr")?.trimmedText ?? ""
            tunnel.insideCIDR = prefix.isEmpty ? address : "\(address)/\(prefix)"
        } else if let inside = customer?.child("tunnel_inside_ipv6_address"),
                  let address = inside.child("ip_address")?.trimmedText, !address.isEmpty {
            let prefix = inside.child("prefix_length")?.trimmedText ?? ""
            tunnel.insideCIDR = prefix.isEmpty ? address : "\(address)/\(prefix)"
        }
        if let bgp = aws?.child("bgp") {
            tunnel.bgpASN = bgp.child("asn")?.trimmedText
            tunnel.bgpNeighbor = aws?.path("tunnel_inside_address", "ip_address")?.trimmedText
                ?? aws?.path("tunnel_inside_ipv6_address", "ip_address")?.trimmedText
        }

        if let ike = element.child("ike") {
            tunnel.ikeIntegrity = ike.children("authentication_protocol").map(\.trimmedText)
            tunnel.ikeEncryption = ike.children("encryption_protocol").map(\.trimmedText)
            if let version = ike.child("version") ?? element.child("ike_version") {
                tunnel.ikeVersion = IKEVersion(rawValue: version.trimmedText.lowercased())
            }
            // <pre_shared_key> is deliberately never read.
        }
        if let ipsec = element.child("ipsec") {
            tunnel.ipsecIntegrity = ipsec.children("authentication_protocol").map(\.trimmedText)
            tunnel.ipsecEncryption = ipsec.children("encryption_protocol").map(\.trimmedText)
            tunnel.tcpMSS = located(ipsec.child("tcp_mss_adjustment"))
            tunnel.clearDF = ipsec.child("clear_df_bit").flatMap { boolean($0.trimmedText) }
            tunnel.fragmentBeforeEncryption = ipsec.child("fragmentation_before_encryption")
                .flatMap { boolean($0.trimmedText) }
            tunnel.dpdIntervalSeconds = ipsec.path("dead_peer_detection", "interval").flatMap { leadingInteger($0.text) }
            tunnel.natTraversal = ipsec.child("nat_traversal").flatMap { boolean($0.trimmedText) }
        }
        return tunnel
    }

    private static func boolean(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "enabled", "1": return true
        case "false", "no", "disabled", "0": return false
        default: return nil
        }
    }
}
