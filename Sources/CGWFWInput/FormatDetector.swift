import CGWFWModel
import Foundation

/// Decides an input's format from its content alone (never the file name).
///
/// Every AWS download opens with the same "Amazon Web Services" banner, so a vendor is told by commands only
/// its syntax has. The markers are exclusive where vendors look alike: a FortiGate GUI-steps file says
/// "Go to VPN-->IPSec--> AutoKey" like pfSense's "Go to VPN-->IPSec", so FortiGate's markers are checked first,
/// and a Cisco ASA file shares `crypto isakmp` with IOS, so the ASA's own commands decide.
enum FormatDetector {
    enum Verdict: Equatable {
        case format(InputFormat)
        /// A vendor download cgwfw recognises but does not read ("Juniper ScreenOS", "MikroTik RouterOS").
        case unreadVendor(String, line: Int)
        case unknown
    }

    /// Vendors recognised by name only, so their users are told what the file is.
    private enum UnreadVendor: String {
        case screenOS = "Juniper ScreenOS"
        case mikroTik = "MikroTik RouterOS"
    }

    static func detect(_ source: SourceText) -> Verdict {
        if let first = source.text.utf8.first(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) {
            if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") { return .format(.describeJSON) }
            if first == UInt8(ascii: "<") { return .format(.xml) }
        }
        var vendors: Set<InputFormat> = []
        var unread: [UnreadVendor: Int] = [:]
        var sawVyOSPeer = false
        var sawConn = false
        var sawRight = false
        var sawTunnelHeading = false
        var sawGenericHeader = false
        for (number, line) in source.inspectableLines() {
            let content = line.trimmed.lowercased()
            if content.isEmpty { continue }
            if let vendor = vendor(of: content) { vendors.insert(vendor) }
            if let vendor = unreadVendor(of: content), unread[vendor] == nil { unread[vendor] = number }
            if content.hasPrefix("set vpn ipsec site-to-site peer ") { sawVyOSPeer = true }
            if content.hasPrefix("conn ") && line.first?.isWhitespace != true { sawConn = true }
            if content.hasPrefix("right=") { sawRight = true }
            if GenericParser.tunnelHeading(content) != nil { sawTunnelHeading = true }
            if content == "vpn connection configuration" || content.hasPrefix("outside ip addresses") {
                sawGenericHeader = true
            }
        }
        for format in [InputFormat.ciscoASA, .ciscoIOS, .junos, .panos, .fortigate, .pfsense] where vendors.contains(format) {
            return .format(format)
        }
        if let (vendor, line) = unread.min(by: { $0.value < $1.value }) { return .unreadVendor(vendor.rawValue, line: line) }
        if sawVyOSPeer { return .format(.vyos) }
        if sawConn && sawRight { return .format(.ipsecConf) }
        if sawTunnelHeading || sawGenericHeader { return .format(.generic) }
        return .unknown
    }

    /// Commands only one vendor's download contains. Comment lines (`!`, `#`) never match: they start with
    /// the comment character.
    private static func vendor(of lowered: String) -> InputFormat? {
        if lowered.hasPrefix("tunnel-group ") || lowered.hasPrefix("sysopt connection") || lowered.hasPrefix("crypto ikev1 ")
            || lowered.hasPrefix("crypto map ") || lowered.hasPrefix("crypto ipsec ikev1 ") || lowered.hasPrefix("crypto ipsec ikev2 ") {
            return .ciscoASA
        }
        if lowered.hasPrefix("crypto isakmp") || lowered.hasPrefix("crypto keyring") || lowered.hasPrefix("crypto ipsec")
            || lowered.hasPrefix("crypto ikev2") || lowered.hasPrefix("tunnel protection ipsec") {
            return .ciscoIOS
        }
        if lowered.hasPrefix("set security ike ") || lowered.hasPrefix("set security ipsec ") { return .junos }
        if lowered.hasPrefix("edit network ike") || lowered.hasPrefix("set network ike") { return .panos }
        if lowered.hasPrefix("config vpn ipsec phase1-interface") { return .fortigate }
        // GUI steps: "Go to VPN-->IPSec--> AutoKey, create Phase 1" (FortiGate) against "Go to VPN-->IPSec.
        // Add a new Phase1 entry" (pfSense).
        if lowered.hasPrefix("go to ") {
            if lowered.contains("autokey") { return .fortigate }
            if lowered.contains("phase1 entry") { return .pfsense }
        }
        if lowered.contains("local-gateway") && FortiGateParser.guiLabel(lowered) == "local-gateway" { return .fortigate }
        if lowered.contains("pfsense") { return .pfsense }
        return nil
    }

    private static func unreadVendor(of lowered: String) -> UnreadVendor? {
        if lowered.hasPrefix("set ike gateway ") || lowered.hasPrefix("set ike p1-proposal") { return .screenOS }
        if lowered.hasPrefix("/ip ipsec") { return .mikroTik }
        return nil
    }

    /// The parser of each format: the one place a new format is registered.
    static func parse(_ source: SourceText, as format: InputFormat, diagnostics: inout FileDiagnostics) -> ParsedFile {
        switch format {
        case .generic: GenericParser.parse(source, diagnostics: &diagnostics)
        case .xml:
            ParsedFile(connections: XMLConfigParser.parse(source.text, diagnostics: &diagnostics).map { [$0] } ?? [],
                       secrets: keys(in: source.text))
        case .describeJSON:
            DescribeJSONParser.parse(source, diagnostics: &diagnostics).withSecrets(keys(in: source.text))
        case .ipsecConf: IPsecConfParser.parse(source, diagnostics: &diagnostics)
        case .vyos: VyOSParser.parse(source, diagnostics: &diagnostics)
        case .ciscoIOS, .ciscoASA: CiscoParser.parse(source, dialect: format, diagnostics: &diagnostics)
        case .junos: JunOSParser.parse(source, diagnostics: &diagnostics)
        case .panos: PANOSParser.parse(source, diagnostics: &diagnostics)
        case .fortigate: FortiGateParser.parse(source, diagnostics: &diagnostics)
        case .pfsense: PfSenseParser.parse(source, diagnostics: &diagnostics)
        }
    }
}

/// The `<pre_shared_key>` values of an XML document (also inside a JSON string, `<\\/…>` escaped) and the
/// `"PreSharedKey": "…"` values of describe JSON, kept only to be redacted from diagnostics. Searched as
/// bytes: Foundation's `range(of:)` made this scan most of the time `check` spent on 10,000 XML files.
private func keys(in text: String) -> Set<String> {
    var keys: Set<String> = []
    var text = text
    text.withUTF8 { bytes in
        func find(_ needle: StaticString, from start: Int) -> Int? {
            let length = needle.utf8CodeUnitCount, base = bytes.baseAddress!
            var index = start
            while index + length <= bytes.count {
                guard let hit = memchr(base + index, Int32(needle.utf8Start.pointee), bytes.count - length + 1 - index) else { return nil }
                index = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
                if memcmp(base + index, needle.utf8Start, length) == 0 { return index }
                index += 1
            }
            return nil
        }
        func record(_ from: Int, _ to: Int) {
            let key = String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self).trimmed
            if !key.isEmpty, key.count <= 256 { keys.insert(String(key)) }
        }
        var index = 0
        while let open = find("<pre_shared_key>", from: index) {
            let value = open + 16
            let end = [find("</pre_shared_key>", from: value), find("<\\/pre_shared_key>", from: value)]
                .compactMap { $0 }.min() ?? bytes.count
            record(value, end)
            index = end
        }
        index = 0
        while let open = find("\"PreSharedKey\"", from: index) {
            // `: "value"`
            var value = open + 14
            while value < bytes.count, [UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: "\t"), UInt8(ascii: "\n"),
                                        UInt8(ascii: "\r")].contains(bytes[value]) { value += 1 }
            guard value < bytes.count, bytes[value] == UInt8(ascii: "\"") else { index = value; continue }
            value += 1
            let end = find("\"", from: value) ?? bytes.count
            record(value, end)
            index = end
        }
    }
    return keys
}

extension ParsedFile {
    fileprivate func withSecrets(_ secrets: Set<String>) -> ParsedFile {
        var copy = self
        copy.secrets.formUnion(secrets)
        return copy
    }
}

extension InputFormat {
    /// How messages name a download of this format.
    var vendorName: String {
        switch self {
        case .generic: "Generic"
        case .xml: "CustomerGatewayConfiguration XML"
        case .describeJSON: "describe-vpn-connections JSON"
        case .ipsecConf: "Openswan/strongSwan"
        case .vyos: "VyOS"
        case .ciscoIOS: "Cisco IOS"
        case .ciscoASA: "Cisco ASA"
        case .junos: "Juniper SRX (JunOS)"
        case .panos: "Palo Alto PAN-OS"
        case .fortigate: "Fortinet FortiGate"
        case .pfsense: "pfSense"
        }
    }
}
