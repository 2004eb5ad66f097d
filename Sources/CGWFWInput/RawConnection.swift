import CGWFWModel

/// A tunnel as a parser found it: texts with their positions, nothing validated yet.
struct RawTunnel {
    var number: Int
    var position: SourcePosition
    var customerGatewayAddress: Located?
    /// Set when the download has no customer gateway address at all, only what stands in for it (JunOS
    /// `external-interface ge-0/0/0.0`, ASA `tunnel source interface 'outside_interface'`): that text and its line.
    var customerGatewayStandIn: Located?
    var vpnGatewayAddress: Located?
    var insideCIDR: String?
    var tcpMSS: Located?
    var clearDF: Bool?
    var mtu: Int?
    var ikeVersion: IKEVersion?
    var ikeEncryption: [String] = []
    var ikeIntegrity: [String] = []
    var ipsecEncryption: [String] = []
    var ipsecIntegrity: [String] = []
    var natTraversal: Bool?
    var fragmentBeforeEncryption: Bool?
    var dpdIntervalSeconds: Int?
    var bgpNeighbor: String?
    var bgpASN: String?

    init(number: Int, position: SourcePosition) {
        self.number = number
        self.position = position
    }
}

/// A connection as a parser found it.
struct RawConnection {
    var id: String?
    var customerGatewayID: String?
    var gatewayID: String?
    var format: InputFormat
    var position: SourcePosition
    var tunnels: [RawTunnel] = []
    var accelerated: Bool?
    /// Vendor downloads (ipsec.conf, VyOS) carry no MSS/DF: AWS's defaults apply.
    var carriesMSSAndDF: Bool

    init(format: InputFormat, position: SourcePosition, carriesMSSAndDF: Bool) {
        self.format = format
        self.position = position
        self.carriesMSSAndDF = carriesMSSAndDF
    }
}

/// What one format parser returns for one file.
struct ParsedFile {
    var connections: [RawConnection] = []
    var skipped: [SkippedConnection] = []
    /// Every pre-shared key the parser saw, never put into the model: diagnostics about this file have them
    /// replaced by `<redacted>`, so a key pasted where an address belongs is not echoed.
    var secrets: Set<String> = []
    /// The last line when the input does not end with a line break: a value on it may have been cut short.
    var unterminatedLastLine: Int?
}

/// AWS ids in downloads: empty for a Transit Gateway's "Virtual Private Gateway ID", or cut to "vpn-" by
/// someone redacting the file. Both mean "unknown".
func awsID(_ text: some StringProtocol) -> String? {
    let value = String(text.unquoted)
    return value.isEmpty ? nil : value
}

/// "1379 bytes" → 1379; "10" → 10.
func leadingInteger(_ text: some StringProtocol) -> Int? {
    let trimmed = text.trimmed
    // Bytes first: a digit run followed by ASCII (or nothing) is exactly the Characters' answer; a non-ASCII
    // byte after it might combine with the last digit, so that case asks the Characters.
    let utf8 = trimmed.utf8
    let end = utf8.firstIndex { $0 < UInt8(ascii: "0") || $0 > UInt8(ascii: "9") } ?? utf8.endIndex
    let digits = end == utf8.endIndex || utf8[end] < 0x80
        ? trimmed[..<end] : trimmed.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, digits.count <= 9 else { return nil }
    return Int(digits)
}
