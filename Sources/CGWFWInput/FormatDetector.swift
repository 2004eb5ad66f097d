import CGWFWModel

/// Decides an input's format from its content alone (never the file name).
enum FormatDetector {
    enum Verdict: Equatable {
        case format(InputFormat)
        /// A vendor download cgwfw recognises but does not read yet ("Cisco IOS", "Juniper SRX", …).
        case unsupportedVendor(String, line: Int)
        case unknown
    }

    static func detect(_ source: SourceText) -> Verdict {
        if let first = source.text.utf8.first(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) {
            if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") { return .format(.describeJSON) }
            if first == UInt8(ascii: "<") { return .format(.xml) }
        }
        var sawVyOSPeer = false
        var sawConn = false
        var sawRight = false
        var sawTunnelHeading = false
        var sawGenericHeader = false
        var vendorLines: [String: Int] = [:]
        for (number, line) in source.inspectableLines() {
            let content = line.trimmed.lowercased()
            if content.isEmpty { continue }
            if let vendor = vendor(of: content), vendorLines[vendor] == nil { vendorLines[vendor] = number }
            if content.hasPrefix("set vpn ipsec site-to-site peer ") { sawVyOSPeer = true }
            if content.hasPrefix("conn ") && line.first?.isWhitespace != true { sawConn = true }
            if content.hasPrefix("right=") { sawRight = true }
            if GenericParser.tunnelHeading(content) != nil { sawTunnelHeading = true }
            if content == "vpn connection configuration" || content.hasPrefix("outside ip addresses") {
                sawGenericHeader = true
            }
        }
        // An ASA download also has `crypto isakmp` lines; its own markers decide.
        if let line = vendorLines["Cisco ASA"] {
            return .unsupportedVendor("Cisco ASA", line: min(line, vendorLines["Cisco IOS"] ?? line))
        }
        if let (vendor, line) = vendorLines.min(by: { $0.value < $1.value }) {
            return .unsupportedVendor(vendor, line: line)
        }
        if sawVyOSPeer { return .format(.vyos) }
        if sawConn && sawRight { return .format(.ipsecConf) }
        if sawTunnelHeading || sawGenericHeader { return .format(.generic) }
        return .unknown
    }

    /// Lines that only a given vendor's download contains (checked before the formats cgwfw reads, because
    /// every AWS download starts with the same "Amazon Web Services" comment header).
    private static func vendor(of lowered: String) -> String? {
        if lowered.hasPrefix("tunnel-group ") || lowered.hasPrefix("sysopt connection")
            || lowered.hasPrefix("crypto ikev1 ") {
            return "Cisco ASA"
        }
        if lowered.hasPrefix("crypto isakmp") || lowered.hasPrefix("crypto keyring") || lowered.hasPrefix("crypto ipsec")
            || lowered.hasPrefix("crypto ikev2") || lowered.hasPrefix("tunnel protection ipsec") {
            return "Cisco IOS"
        }
        if lowered.hasPrefix("set security ike ") || lowered.hasPrefix("set security ipsec ") {
            return "Juniper SRX (JunOS)"
        }
        if lowered.hasPrefix("set ike gateway ") || lowered.hasPrefix("set ike p1-proposal") {
            return "Juniper ScreenOS"
        }
        if lowered.hasPrefix("config vpn ipsec phase1-interface") { return "Fortinet FortiGate" }
        if lowered.hasPrefix("edit network ike") || lowered.hasPrefix("set network ike") {
            return "Palo Alto PAN-OS"
        }
        if lowered.contains("vpn-->ipsec") || lowered.contains("pfsense") { return "pfSense" }
        if lowered.hasPrefix("/ip ipsec") { return "MikroTik RouterOS" }
        return nil
    }
}
