import CGWFWCompiler
import CGWFWModel
import CGWFWNftables

/// What each tunnel's traffic did, read from the counting sets (`seen_*`, `dropped_*`) the intent adds
/// when counters are on: per connection and tunnel, per protocol and direction, packets, bytes and how
/// long ago the last packet passed; and strict mode's drops per address.
///
/// "Last seen" comes from the counting set's element: every packet refreshes its timeout, so the time
/// since the last one is the set's timeout minus what is left of it. (nftables' `last` statement would
/// say it directly, but nft 1.0.6, Debian 12's, can neither parse nor list it: docs/monitoring.md.)
public struct HealthReport: Codable, Sendable, Equatable {
    public struct Flow: Codable, Sendable, Equatable {
        /// `ike`, `nat-t` or `esp`.
        public var traffic: TunnelTraffic
        /// `inbound` (AWS → customer gateway) or `outbound`.
        public var direction: TrafficDirection
        /// False for NAT-T on a tunnel where it is closed: no rule lets it through, nothing is counted.
        public var open: Bool
        public var packets: UInt64
        public var bytes: UInt64
        /// Seconds since the last packet; nil when none passed within the counting window.
        public var lastSeenSecondsAgo: Double?

        enum CodingKeys: String, CodingKey {
            case traffic = "protocol", direction, open, packets, bytes, lastSeenSecondsAgo = "last_seen_seconds_ago"
        }
    }

    public struct Tunnel: Codable, Sendable, Equatable {
        public var connection: String
        public var tunnel: Int
        public var customerGateway: String
        public var awsEndpoint: String
        public var natTraversal: Bool
        public var flows: [Flow]

        enum CodingKeys: String, CodingKey {
            case connection, tunnel, customerGateway = "customer_gateway", awsEndpoint = "aws_endpoint"
            case natTraversal = "nat_traversal", flows
        }

        public func flow(_ traffic: TunnelTraffic, _ direction: TrafficDirection) -> Flow? {
            flows.first { $0.traffic == traffic && $0.direction == direction }
        }
    }

    /// What one strict drop rule dropped from (inbound) or to (outbound) one address.
    public struct Drop: Codable, Sendable, Equatable {
        public var traffic: TunnelTraffic
        public var direction: TrafficDirection
        public var address: String
        public var packets: UInt64
        public var bytes: UInt64
        public var lastSeenSecondsAgo: Double?

        enum CodingKeys: String, CodingKey {
            case traffic = "protocol", direction, address, packets, bytes, lastSeenSecondsAgo = "last_seen_seconds_ago"
        }
    }

    /// Seconds an element of a counting set outlives its last packet; nil when cgwfw counts nothing per
    /// tunnel (counters off, or rules applied by an older cgwfw).
    public var countingWindowSeconds: Int?
    public var tunnels: [Tunnel]
    /// Strict mode only: nil without strict drop rules.
    public var strictDrops: [Drop]?

    enum CodingKeys: String, CodingKey {
        case countingWindowSeconds = "counting_window_seconds", tunnels, strictDrops = "strict_drops"
    }
}

extension LiveState {
    /// The owned sets as configuration: a counting set's elements are the kernel's counting state, left out
    /// of what commit-confirm restores and what `show --json` saves.
    public var configuredSets: [SetSpec] {
        sets.map { set in
            var spec = set.spec
            if spec.dynamic != nil { spec.elements = [] }
            return spec
        }
    }

    /// The health report of what the kernel holds now.
    public var health: HealthReport {
        let prefix: String
        if case let .attach(p) = mode { prefix = p } else { prefix = "" }
        let byName = Dictionary(sets.map { ($0.spec.name, $0) }, uniquingKeysWith: { a, _ in a })
        let directions: [TrafficDirection] = [.inbound, .outbound]

        /// Per element text (`203.0.113.9 . 192.0.2.10`, `198.51.100.66`): its counter and age.
        struct Reading { var counter: Counter?; var secondsAgo: Double? }
        func readings(_ set: LiveSet) -> [String: Reading] {
            let timeout = set.spec.dynamic?.timeoutMilliseconds ?? 0
            var out: [String: Reading] = [:]
            for element in set.spec.elements {
                let ago = set.elementExpiry[element.key].map { Double(timeout > $0 ? timeout - $0 : 0) / 1000 }
                out[set.spec.keyText(element.key)] = Reading(counter: set.elementCounters[element.key], secondsAgo: ago)
            }
            return out
        }

        var window: Int?
        var tunnels: [HealthReport.Tunnel] = []
        var seen: [String: [String: Reading]] = [:]
        for tunnel in pairedTunnels {
            let family: IPAddress.Family = tunnel.customerGateway.contains(":") ? .ipv6 : .ipv4
            var flows: [HealthReport.Flow] = []
            for direction in directions {
                for traffic in TunnelTraffic.allCases {
                    let name = prefix + IntentBuilder.seenSetName(traffic, direction, family)
                    guard let set = byName[name], let dynamic = set.spec.dynamic else { continue }
                    window = Int(dynamic.timeoutMilliseconds / 1000)
                    if seen[name] == nil { seen[name] = readings(set) }
                    let reading = seen[name]![tunnel.customerGateway + " . " + tunnel.awsEndpoint]
                    flows.append(HealthReport.Flow(traffic: traffic, direction: direction,
                                                   open: traffic != .natTraversal || tunnel.natTraversal,
                                                   packets: reading?.counter?.packets ?? 0, bytes: reading?.counter?.bytes ?? 0,
                                                   lastSeenSecondsAgo: reading?.secondsAgo))
                }
            }
            tunnels.append(HealthReport.Tunnel(connection: tunnel.connection, tunnel: tunnel.tunnel,
                                               customerGateway: tunnel.customerGateway, awsEndpoint: tunnel.awsEndpoint,
                                               natTraversal: tunnel.natTraversal, flows: flows))
        }

        var drops: [HealthReport.Drop]?
        for family in IPAddress.Family.allCases {
            for direction in directions {
                for traffic in TunnelTraffic.allCases {
                    guard let set = byName[prefix + IntentBuilder.droppedSetName(traffic, direction, family)] else { continue }
                    var found = drops ?? []
                    for (address, reading) in readings(set) {
                        found.append(HealthReport.Drop(traffic: traffic, direction: direction, address: address,
                                                       packets: reading.counter?.packets ?? 0, bytes: reading.counter?.bytes ?? 0,
                                                       lastSeenSecondsAgo: reading.secondsAgo))
                    }
                    drops = found
                }
            }
        }
        // Most packets first; ties by address, protocol and direction, so the order is the same every time.
        drops?.sort {
            ($0.packets, $1.address, $1.traffic.rawValue, $1.direction.rawValue)
                > ($1.packets, $0.address, $0.traffic.rawValue, $0.direction.rawValue)
        }
        return HealthReport(countingWindowSeconds: window, tunnels: tunnels, strictDrops: drops)
    }
}
