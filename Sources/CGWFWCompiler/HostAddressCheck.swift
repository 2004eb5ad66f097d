import CGWFWModel

/// Host placement writes rules for the customer gateway address of the config; behind 1:1 NAT (every cloud
/// instance) that public address is on no interface of the host, and rules for it match nothing.
public enum HostAddressCheck {
    /// How many host addresses and connections a warning names before "…".
    static let shown = 6

    /// One warning for the customer gateway addresses that are on none of `hostAddresses`: each with its
    /// connections, the first `shown` of them when there are more (a directory of configs for many gateways).
    public static func diagnostics(connections: [Connection], hostAddresses: [IPAddress]) -> Diagnostics {
        let local = Set(hostAddresses)
        var users: [IPAddress: [String]] = [:]
        var order: [IPAddress] = []
        for connection in connections {
            for tunnel in connection.tunnels where !local.contains(tunnel.customerGatewayAddress) {
                let address = tunnel.customerGatewayAddress
                if users[address] == nil { order.append(address) }
                if users[address]?.last != connection.displayName { users[address, default: []].append(connection.displayName) }
            }
        }
        var diagnostics = Diagnostics()
        guard !order.isEmpty else { return diagnostics }
        let listed = hostAddresses.filter { $0.unusableAsOutsideAddress == nil }
        let host = listed.isEmpty ? "none but loopback"
            : listed.prefix(shown).map(\.description).joined(separator: ", ") + (listed.count > shown ? ", …" : "")
        func named(_ address: IPAddress) -> String {
            let names = users[address] ?? []
            return "\(address) (" + names.prefix(3).joined(separator: ", ") + (names.count > 3 ? " and \(names.count - 3) more" : "") + ")"
        }
        let missing = order.count == 1
            ? "customer gateway address \(named(order[0])) is"
            : "customer gateway addresses " + order.prefix(shown).map(named).joined(separator: ", ")
                + (order.count > shown ? " and \(order.count - shown) more" : "") + " are"
        let them = order.count == 1 ? "\(order[0])" : "them"
        diagnostics.warning("\(missing) on no interface of this host (its addresses: \(host)); behind 1:1 NAT, as on "
                            + "every cloud instance, the tunnel packets carry the host's private address and rules for "
                            + "\(them) match nothing: use --local-address auto (the kernel's source address towards AWS) "
                            + "or --local-address ADDR")
        return diagnostics
    }
}
