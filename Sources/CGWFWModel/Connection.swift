/// The input formats cgwfw reads. Detected from content, never from file names.
public enum InputFormat: String, Sendable, Codable, CaseIterable {
    case generic
    case xml
    case describeJSON = "describe-json"
    case ipsecConf = "ipsec-conf"
    case vyos
    case ciscoIOS = "cisco-ios"
    case ciscoASA = "cisco-asa"
    case junos
    case panos
    case fortigate
    case pfsense
}

public enum IKEVersion: String, Sendable, Codable {
    case ikev1, ikev2
}

/// AWS's defaults for formats that carry no MSS/DF (vendor downloads) and the SHA2-384/512 exception.
public enum AWSDefaults {
    public static let tcpMSS = 1379
    public static let tcpMSSWithSHA2_384or512 = 1359
    public static let clearDF = true
    public static let tunnelMTU = 1436
}

/// One IPsec tunnel: the customer gateway's outside address paired with one AWS endpoint.
public struct Tunnel: Hashable, Sendable, Codable {
    public var number: Int
    public var customerGatewayAddress: IPAddress
    public var vpnGatewayAddress: IPAddress
    /// The address the config named for the customer gateway before `--local-address` replaced it.
    public var configCustomerGatewayAddress: String?
    public var insideCIDR: String?
    /// The MSS the rules use: the config's value, or 1359 with SHA2-384/512 integrity.
    public var tcpMSS: Int
    /// The MSS written in the config, if it had one.
    public var configTCPMSS: Int?
    public var clearDF: Bool
    public var mtu: Int?
    public var ikeVersion: IKEVersion?
    public var ikeEncryption: [String]
    public var ikeIntegrity: [String]
    public var ipsecEncryption: [String]
    public var ipsecIntegrity: [String]
    /// NAT traversal as the config states it; nil when the config does not say.
    public var natTraversal: Bool?
    public var fragmentBeforeEncryption: Bool?
    public var dpdIntervalSeconds: Int?
    public var bgpNeighbor: String?
    public var bgpASN: String?
    /// Line in the source file where the tunnel starts.
    public var line: Int

    public init(number: Int, customerGatewayAddress: IPAddress, vpnGatewayAddress: IPAddress,
                configCustomerGatewayAddress: String? = nil, insideCIDR: String? = nil,
                tcpMSS: Int = AWSDefaults.tcpMSS, configTCPMSS: Int? = nil, clearDF: Bool = AWSDefaults.clearDF,
                mtu: Int? = nil, ikeVersion: IKEVersion? = nil,
                ikeEncryption: [String] = [], ikeIntegrity: [String] = [],
                ipsecEncryption: [String] = [], ipsecIntegrity: [String] = [],
                natTraversal: Bool? = nil, fragmentBeforeEncryption: Bool? = nil,
                dpdIntervalSeconds: Int? = nil, bgpNeighbor: String? = nil, bgpASN: String? = nil, line: Int) {
        self.number = number
        self.customerGatewayAddress = customerGatewayAddress
        self.vpnGatewayAddress = vpnGatewayAddress
        self.configCustomerGatewayAddress = configCustomerGatewayAddress
        self.insideCIDR = insideCIDR
        self.tcpMSS = tcpMSS
        self.configTCPMSS = configTCPMSS
        self.clearDF = clearDF
        self.mtu = mtu
        self.ikeVersion = ikeVersion
        self.ikeEncryption = ikeEncryption
        self.ikeIntegrity = ikeIntegrity
        self.ipsecEncryption = ipsecEncryption
        self.ipsecIntegrity = ipsecIntegrity
        self.natTraversal = natTraversal
        self.fragmentBeforeEncryption = fragmentBeforeEncryption
        self.dpdIntervalSeconds = dpdIntervalSeconds
        self.bgpNeighbor = bgpNeighbor
        self.bgpASN = bgpASN
        self.line = line
    }

    /// True when any integrity algorithm the tunnel may negotiate is SHA2-384 or SHA2-512.
    public var usesSHA2_384or512: Bool {
        // Byte matching: String.contains(String) costs ~7 µs a call, noticeable over 10,000s of tunnels.
        func matches(_ algorithm: String) -> Bool {
            let a = Array(algorithm.lowercased().utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: "_") })
            return Tunnel.sha2_384or512Names.contains { needle in
                a.count >= needle.count && (0...(a.count - needle.count)).contains { a[$0..<($0 + needle.count)].elementsEqual(needle) }
            }
        }
        return ikeIntegrity.contains(where: matches) || ipsecIntegrity.contains(where: matches)
    }
    private static let sha2_384or512Names = ["sha2384", "sha2512", "sha384", "sha512"].map { Array($0.utf8) }

    /// The MSS AWS requires for this tunnel given a config value (or none).
    public static func effectiveMSS(config: Int?, sha2_384or512: Bool) -> Int {
        let base = config ?? AWSDefaults.tcpMSS
        return sha2_384or512 ? min(base, AWSDefaults.tcpMSSWithSHA2_384or512) : base
    }
}

/// One Site-to-Site VPN connection as read from one input.
public struct Connection: Hashable, Sendable, Codable {
    public var id: String?
    public var customerGatewayID: String?
    /// `vgw-…` or `tgw-…`; nil for a Transit Gateway download that leaves the id empty.
    public var gatewayID: String?
    public var source: String
    public var format: InputFormat
    public var tunnels: [Tunnel]
    /// Accelerated VPN (describe JSON `EnableAcceleration`); nil when unknown.
    public var accelerated: Bool?

    public init(id: String?, customerGatewayID: String? = nil, gatewayID: String? = nil, source: String,
                format: InputFormat, tunnels: [Tunnel], accelerated: Bool? = nil) {
        self.id = id
        self.customerGatewayID = customerGatewayID
        self.gatewayID = gatewayID
        self.source = source
        self.format = format
        self.tunnels = tunnels
        self.accelerated = accelerated
    }

    /// A name for messages and comments: the id, or the file when the id was redacted.
    public var displayName: String {
        if let id, id.count > 4 { return id }
        return source
    }
}

/// A connection present in an input but deliberately not used (deleted, no configuration).
public struct SkippedConnection: Hashable, Sendable, Codable {
    public var id: String?
    public var source: String
    public var reason: String
    public init(id: String?, source: String, reason: String) {
        self.id = id
        self.source = source
        self.reason = reason
    }
}

/// What the input stage hands on: connections, what was skipped and why, and every diagnostic.
public struct ParseResult: Sendable, Codable {
    public var connections: [Connection]
    public var skipped: [SkippedConnection]
    public var diagnostics: Diagnostics

    public init(connections: [Connection] = [], skipped: [SkippedConnection] = [], diagnostics: Diagnostics = Diagnostics()) {
        self.connections = connections
        self.skipped = skipped
        self.diagnostics = diagnostics
    }
}
