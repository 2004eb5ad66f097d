import XCTest
import Foundation
@_exported import CGWFWTestSupport
import CGWFWModel
@testable import CGWFWCompiler

/// Connections built from documentation addresses only.
enum Fixtures {
    static func tunnel(_ number: Int, _ local: String, _ remote: String, mss: Int = 1379, clearDF: Bool = true,
                       natTraversal: Bool? = nil, configLocal: String? = nil) -> Tunnel {
        Tunnel(number: number, customerGatewayAddress: IPAddress(local)!, vpnGatewayAddress: IPAddress(remote)!,
               configCustomerGatewayAddress: configLocal ?? local, tcpMSS: mss, clearDF: clearDF,
               natTraversal: natTraversal, line: number * 10)
    }

    static func connection(_ id: String, _ tunnels: [Tunnel], accelerated: Bool? = nil) -> Connection {
        Connection(id: id, gatewayID: "vgw-0123456789abcdef0", source: "\(id).txt", format: .generic,
                   tunnels: tunnels, accelerated: accelerated)
    }

    /// Two connections on gateway 198.51.100.7 plus a redundant second gateway 198.51.100.8 (accelerated).
    static let twoConnectionsAndRedundantGateway: [Connection] = [
        connection("vpn-0aaa1111", [tunnel(1, "198.51.100.7", "192.0.2.10"), tunnel(2, "198.51.100.7", "192.0.2.20")]),
        connection("vpn-0bbb2222", [tunnel(1, "198.51.100.7", "192.0.2.30"), tunnel(2, "198.51.100.7", "192.0.2.40", mss: 1359)]),
        connection("vpn-0ccc3333", [tunnel(1, "198.51.100.8", "203.0.113.50"), tunnel(2, "198.51.100.8", "203.0.113.60")],
                   accelerated: true),
    ]

    static let ipv6: [Connection] = [
        connection("vpn-0ddd4444", [tunnel(1, "2001:db8:1::7", "2001:db8:a::10"), tunnel(2, "2001:db8:1::7", "2001:db8:a::20")]),
    ]

    static var all: [Connection] { twoConnectionsAndRedundantGateway + ipv6 }

    static func profile(_ name: String) throws -> Profile {
        try ProfileLoader.load(path: ProfileTests.profilesDirectory + "/\(name).yaml", name: name)
    }
}

func isRoot() -> Bool { geteuid() == 0 }

func temporaryFile(_ text: String, suffix: String) throws -> String {
    let path = NSTemporaryDirectory() + "cgwfw-test-\(UUID().uuidString)\(suffix)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The kernel's view of an nftables table, read from `nft -j list ruleset`, and a small evaluator that answers
/// "would this packet be accepted by a rule of this chain?" from the listed expressions — not from cgwfw's text.
struct NftListing {
    var objects: [[String: Any]]

    init(json: String) throws {
        let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        objects = (root?["nftables"] as? [[String: Any]]) ?? []
    }

    func sets(table: String) -> [[String: Any]] {
        objects.compactMap { $0["set"] as? [String: Any] }.filter { $0["table"] as? String == table }
    }

    func chains(table: String) -> [[String: Any]] {
        objects.compactMap { $0["chain"] as? [String: Any] }.filter { $0["table"] as? String == table }
    }

    func rules(table: String, chain: String) -> [[String: Any]] {
        objects.compactMap { $0["rule"] as? [String: Any] }
            .filter { $0["table"] as? String == table && $0["chain"] as? String == chain }
    }

    /// Elements of a set as arrays of address strings (one for plain sets, two for concatenations).
    func elements(table: String, set name: String) -> [[String]] {
        guard let set = sets(table: table).first(where: { $0["name"] as? String == name }) else { return [] }
        return ((set["elem"] as? [Any]) ?? []).map { entry -> [String] in
            var value: Any = entry
            if let wrapped = (entry as? [String: Any])?["elem"] as? [String: Any] { value = wrapped["val"] ?? wrapped }
            if let concat = (value as? [String: Any])?["concat"] as? [String] { return concat }
            if let text = value as? String { return [text] }
            return []
        }
    }

    struct Packet {
        var family: IPAddress.Family
        var source: String
        var destination: String
        /// "udp" or "esp"
        var proto: String
        var sourcePort: Int? = nil
        var destinationPort: Int? = nil
        var inInterface = "lan0"
        var outInterface = "lan0"
    }

    /// The verdict of the first rule in `chain` whose every match the packet satisfies, or nil.
    func verdict(table: String, chain: String, packet: Packet) -> String? {
        for rule in rules(table: table, chain: chain) {
            guard let exprs = rule["expr"] as? [[String: Any]] else { continue }
            var matched = true
            var verdict: String?
            for expr in exprs {
                if let match = expr["match"] as? [String: Any] {
                    if !satisfies(match, packet: packet, table: table) { matched = false; break }
                } else if expr["accept"] != nil {
                    verdict = "accept"
                } else if expr["drop"] != nil {
                    verdict = "drop"
                }
            }
            if matched, let verdict { return verdict }
        }
        return nil
    }

    private func field(_ left: Any?, _ packet: Packet) -> String? {
        guard let left = left as? [String: Any] else { return nil }
        if let payload = left["payload"] as? [String: Any], let proto = payload["protocol"] as? String,
           let name = payload["field"] as? String {
            switch (proto, name) {
            case ("ip", "saddr") where packet.family == .ipv4, ("ip6", "saddr") where packet.family == .ipv6:
                return packet.source
            case ("ip", "daddr") where packet.family == .ipv4, ("ip6", "daddr") where packet.family == .ipv6:
                return packet.destination
            case ("udp", "sport") where packet.proto == "udp": return packet.sourcePort.map(String.init)
            case ("udp", "dport") where packet.proto == "udp": return packet.destinationPort.map(String.init)
            default: return nil
            }
        }
        if let meta = left["meta"] as? [String: Any], let key = meta["key"] as? String {
            switch key {
            case "l4proto": return packet.proto
            case "nfproto": return packet.family.rawValue
            case "iifname": return packet.inInterface
            case "oifname": return packet.outInterface
            default: return nil
            }
        }
        return nil
    }

    private func satisfies(_ match: [String: Any], packet: Packet, table: String) -> Bool {
        let op = match["op"] as? String ?? "=="
        if let concat = (match["left"] as? [String: Any])?["concat"] as? [Any], let right = match["right"] as? String,
           right.hasPrefix("@") {
            let values = concat.map { field($0, packet) }
            guard values.allSatisfy({ $0 != nil }) else { return false }
            let key = values.map { $0! }
            let contained = elements(table: table, set: String(right.dropFirst())).contains {
                $0.compactMap { IPAddress($0) } == key.compactMap { IPAddress($0) }
            }
            return op == "==" || op == "in" ? contained : !contained
        }
        guard let value = field(match["left"], packet) else { return false }
        if let right = match["right"] as? String, right.hasPrefix("@") {
            let contained = elements(table: table, set: String(right.dropFirst())).contains {
                $0.count == 1 && IPAddress($0[0]) == IPAddress(value)
            }
            return op == "==" || op == "in" ? contained : !contained
        }
        let expected: String
        if let number = match["right"] as? Int { expected = String(number) }
        else if let text = match["right"] as? String { expected = text }
        else { return false }
        return op == "==" ? value == expected : value != expected
    }
}
