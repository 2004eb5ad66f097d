import CGWFWModel

/// Host placement writes rules for the customer gateway address of the config; behind 1:1 NAT (every cloud
/// instance) that public address is on no interface of the host, and rules for it match nothing.
public enum HostAddressCheck {
    /// How many host addresses and connections a warning names before "…".
    static let shown = 6

    /// One warning per customer gateway address that is on none of `hostAddresses`.
    public static func diagnostics(connections: [Connection], hostAddresses: [IPAddress]) -> Diagnostics {
        var diagnostics = Diagnostics()
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
        let listed = hostAddresses.filter { $0.unusableAsOutsideAddress == nil }
        let host = listed.isEmpty ? "none but loopback"
            : listed.prefix(shown).map(\.description).joined(separator: ", ") + (listed.count > shown ? ", …" : "")
        for address in order {
            let names = users[address] ?? []
            let who = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? " and \(names.count - 3) more" : "")
            diagnostics.warning("customer gateway address \(address) (\(who)) is on no interface of this host (its "
                                + "addresses: \(host)); behind 1:1 NAT, as on every cloud instance, the tunnel packets "
                                + "carry the host's private address and rules for \(address) match nothing: use "
                                + "--local-address auto (the kernel's source address towards AWS) or --local-address ADDR")
        }
        return diagnostics
    }
}
