import CGWFWCompiler
import CGWFWModel
import CGWFWNftables

extension LiveState {
    /// The tunnels the owned pair sets serve, by their element comments (none when comments are off).
    public var pairedTunnels: [PairedTunnel] {
        let prefix: String
        if case let .attach(p) = mode { prefix = p } else { prefix = "" }
        var tunnels: [PairedTunnel] = []
        var natTraversal: Set<[String]> = []
        for family in IPAddress.Family.allCases {
            for set in sets where set.spec.name == prefix + IntentBuilder.natTraversalSetName(family) {
                for element in set.spec.elements {
                    let fields = set.spec.keyFields(element.key)
                    for origin in PairedTunnel.origins(fromComment: element.comment ?? "") {
                        natTraversal.insert([origin.connection, String(origin.tunnel)] + fields)
                    }
                }
            }
        }
        for family in IPAddress.Family.allCases {
            for set in sets where set.spec.name == prefix + IntentBuilder.pairsSetName(family) {
                for element in set.spec.elements.sorted(by: { Planner.compareKeys($0.key, $1.key) < 0 }) {
                    let fields = set.spec.keyFields(element.key)
                    guard fields.count == 2 else { continue }
                    for origin in PairedTunnel.origins(fromComment: element.comment ?? "") {
                        tunnels.append(PairedTunnel(connection: origin.connection, tunnel: origin.tunnel,
                                                    customerGateway: fields[0], awsEndpoint: fields[1],
                                                    natTraversal: natTraversal.contains([origin.connection, String(origin.tunnel)] + fields)))
                    }
                }
            }
        }
        return tunnels.sorted { ($0.connection, $0.tunnel) < ($1.connection, $1.tunnel) }
    }
}

extension SavedState {
    public var pairedTunnels: [PairedTunnel] { live(table: table, mode: mode).pairedTunnels }
}
