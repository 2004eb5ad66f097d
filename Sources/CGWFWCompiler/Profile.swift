import CGWFWModel

/// A deployment profile: where the rules live and how they are written. Built-in ones are YAML files in
/// `Profiles/`; every key is documented in docs/profiles.md, cgwfw-profile(5) and `Profile.keys`.
public struct Profile: Hashable, Sendable, Codable {
    public enum Target: String, Sendable, Codable, CaseIterable {
        case nftables, iptables, ip6tables, pf, json
    }

    /// How host placement recognises traffic entering or leaving a tunnel.
    public enum TunnelSelection: String, Sendable, Codable, CaseIterable {
        /// Policy-based IPsec on Linux (`rt ipsec exists` / `meta ipsec exists`).
        case ipsecPolicy = "ipsec-policy"
        /// Route-based IPsec: the interfaces in `tunnelInterfaces`.
        case interfaces
    }

    public enum NATTraversal: String, Sendable, Codable, CaseIterable {
        /// Open UDP 4500 for a tunnel when the config or the deployment says NAT-T is in use.
        case auto
        case on
        case off
    }

    public enum Switch: String, Sendable, Codable, CaseIterable {
        /// Follow the config (AWS's defaults where the config is silent).
        case auto
        case on
        case off
    }

    public enum MSSSetting: Hashable, Sendable, Codable, CustomStringConvertible {
        /// The smallest MSS the tunnels' configs require.
        case auto
        case fixed(Int)
        case off

        public init?(text: String) {
            switch text {
            case "auto": self = .auto
            case "off": self = .off
            default:
                guard let value = Int(text), (536...9000).contains(value) else { return nil }
                self = .fixed(value)
            }
        }

        public var description: String {
            switch self {
            case .auto: return "auto"
            case .off: return "off"
            case .fixed(let value): return String(value)
            }
        }

        public init(from decoder: Decoder) throws {
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let value = MSSSetting(text: text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                        debugDescription: "tcp_mss must be auto, off or 536…9000"))
            }
            self = value
        }

        public func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(description)
        }
    }

    public enum PFDialect: String, Sendable, Codable, CaseIterable {
        /// OpenBSD ≥ 4.6: `match … scrub (…)`.
        case openbsd
        /// FreeBSD / pfSense / OPNsense: separate `scrub` rules before the filter rules.
        case freebsd
    }

    /// The profile's name: the file name without `.yaml` for built-ins, the path otherwise.
    public var name: String
    public var description: String
    public var target: Target
    public var placement: Placement
    /// nftables table name, iptables chain prefix, pf anchor name.
    public var table: String
    /// Gateway placement: the internet-side interface; nil = any.
    public var wanInterface: String?
    public var tunnelSelection: TunnelSelection
    public var tunnelInterfaces: [String]
    public var natTraversal: NATTraversal
    /// The customer gateway sits behind a NAT device: NAT-T is in use for every tunnel (with `auto`).
    public var behindNAT: Bool
    public var tcpMSS: MSSSetting
    public var clearDF: Switch
    public var strict: Bool
    public var counters: Bool
    public var comments: Bool
    public var pfDialect: PFDialect
    /// nftables `family table` to attach to instead of owning a table (netlink engine only).
    public var attach: String?
    /// Attach mode: hook name (`input`, `output`, `forward`) → existing base chain to jump from.
    public var attachChains: [String: String]
    /// Replaces the config's customer gateway address, like `--local-address`: an IP address, or `auto` (the
    /// kernel's source address towards the AWS endpoints); nil keeps the config's.
    public var localAddress: String?

    public init(name: String = "linux-host", description: String = "", target: Target = .nftables,
                placement: Placement = .host, table: String = "cgwfw", wanInterface: String? = nil,
                tunnelSelection: TunnelSelection = .ipsecPolicy, tunnelInterfaces: [String] = [],
                natTraversal: NATTraversal = .auto, behindNAT: Bool = false, tcpMSS: MSSSetting = .auto,
                clearDF: Switch = .auto, strict: Bool = false, counters: Bool = true, comments: Bool = true,
                pfDialect: PFDialect = .openbsd, attach: String? = nil, attachChains: [String: String] = [:],
                localAddress: String? = nil) {
        self.name = name
        self.description = description
        self.target = target
        self.placement = placement
        self.table = table
        self.wanInterface = wanInterface
        self.tunnelSelection = tunnelSelection
        self.tunnelInterfaces = tunnelInterfaces
        self.natTraversal = natTraversal
        self.behindNAT = behindNAT
        self.tcpMSS = tcpMSS
        self.clearDF = clearDF
        self.strict = strict
        self.counters = counters
        self.comments = comments
        self.pfDialect = pfDialect
        self.attach = attach
        self.attachChains = attachChains
        self.localAddress = localAddress
    }

    enum CodingKeys: String, CodingKey {
        case name, description, target, placement, table
        case wanInterface = "wan_interface", tunnelSelection = "tunnel_selection"
        case tunnelInterfaces = "tunnel_interfaces", natTraversal = "nat_traversal", behindNAT = "behind_nat"
        case tcpMSS = "tcp_mss", clearDF = "clear_df", strict, counters, comments, pfDialect = "pf_dialect"
        case attach, attachChains = "attach_chains", localAddress = "local_address"
    }

    /// The name of the profile used when none is given.
    public static let defaultName = "linux-host"

    /// Every key a profile file may contain, with the values it accepts (for messages; cgwfw-profile(5) lists the same keys).
    public static let keys: [(key: String, values: String)] = [
        ("description", "one line of text"),
        ("target", Target.allCases.map(\.rawValue).joined(separator: " | ")),
        ("placement", Placement.allCases.map(\.rawValue).joined(separator: " | ")),
        ("table", "name: letters, digits, _ and -"),
        ("wan_interface", "interface name or null"),
        ("tunnel_selection", TunnelSelection.allCases.map(\.rawValue).joined(separator: " | ")),
        ("tunnel_interfaces", "list of interface names (nft wildcards like vti* allowed)"),
        ("nat_traversal", NATTraversal.allCases.map(\.rawValue).joined(separator: " | ")),
        ("behind_nat", "true | false"),
        ("tcp_mss", "auto | off | 536…9000"),
        ("clear_df", Switch.allCases.map(\.rawValue).joined(separator: " | ")),
        ("strict", "true | false"),
        ("counters", "true | false"),
        ("comments", "true | false"),
        ("pf_dialect", PFDialect.allCases.map(\.rawValue).joined(separator: " | ")),
        ("attach", "\"family table\" of an existing nftables table, or null"),
        ("attach_chains", "map of hook (input, output, forward) to chain name"),
        ("local_address", "IP address, auto (the kernel's source address towards AWS) or null"),
    ]

    /// Problems with values that are legal one by one but not together, or not safe to print in rules.
    public func validationErrors() -> [(key: String, message: String)] {
        var errors: [(String, String)] = []
        if !Profile.isSafeName(table, maxLength: 24) {
            errors.append(("table", "'\(table)' is not a usable name (1–24 letters, digits, '_' or '-', starting with a letter)"))
        }
        if let wanInterface, let problem = InterfacePattern.problem(wanInterface) {
            errors.append(("wan_interface", "'\(wanInterface)' is not an interface name: \(problem)"))
        }
        for name in tunnelInterfaces {
            if let problem = InterfacePattern.problem(name) {
                errors.append(("tunnel_interfaces", "'\(name)' is not an interface name: \(problem)"))
            }
        }
        if tunnelSelection == .interfaces && tunnelInterfaces.isEmpty && placement == .host {
            errors.append(("tunnel_interfaces", "tunnel_selection is interfaces but no tunnel_interfaces are named"))
        }
        if let attach {
            let parts = attach.split(separator: " ")
            if parts.count != 2 || !["inet", "ip", "ip6"].contains(String(parts[0]))
                || !Profile.isSafeName(String(parts[1]), maxLength: 64) {
                errors.append(("attach", "'\(attach)' must be \"family table\" with family inet, ip or ip6"))
            }
        }
        if let localAddress, localAddress != "auto", IPAddress(localAddress) == nil {
            errors.append(("local_address", "is not an IPv4 or IPv6 address, nor auto"))
        }
        for (hook, chain) in attachChains.sorted(by: { $0.key < $1.key }) {
            if !["input", "output", "forward"].contains(hook) {
                errors.append(("attach_chains", "'\(hook)' is not a hook cgwfw uses (input, output, forward)"))
            }
            if !Profile.isSafeName(chain, maxLength: 64) {
                errors.append(("attach_chains", "'\(chain)' is not a usable chain name"))
            }
        }
        return errors
    }

    static func isSafeName(_ text: String, maxLength: Int) -> Bool {
        guard let first = text.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic,
              text.count <= maxLength else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
            || $0 == "_" || $0 == "-") }
    }

    /// Linux IFNAMSIZ is 16 (15 characters); `*` is nft's wildcard suffix.
    static func isInterfaceName(_ text: String) -> Bool { InterfacePattern.problem(text) == nil }
}
