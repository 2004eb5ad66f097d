import Foundation
import XCTest
import CGWFWTestSupport

/// A throwaway network namespace with its own scratch directory, for tests that drive the real kernel.
final class KernelNamespace {
    let name: String
    let scratch: URL

    static func requireRoot() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root for network namespaces and nftables (geteuid() != 0)") }
        _ = try CLIRunner.requireBinary()
        guard Self.run("command -v nft && command -v ip").status == 0 else { throw XCTSkip("nft or ip (iproute2) not installed") }
    }

    init() throws {
        name = "cgwfwp\(UInt32.random(in: 0..<UInt32.max))"
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-\(name)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let created = Self.run("ip netns add \(name)")
        guard created.status == 0 else { throw XCTSkip("cannot create a network namespace: \(created.output)") }
    }

    func destroy() {
        _ = Self.run("ip netns pids \(name) | xargs -r kill; ip netns del \(name)")
        try? FileManager.default.removeItem(at: scratch)
    }

    func flush() { _ = shell("nft flush ruleset") }

    /// Why nft in a user namespace of its own cannot hold the DF-clearing rule, or nil when it can. `diff
    /// --against` loads an `nft -j` save there; Linux 6.18 (seen here) refuses a rewrite of the IP header
    /// (`ip frag-off set …`) outside the initial user namespace with EPERM, while TCP option rewrites still load.
    static let userNamespaceRefusesHeaderRewrite: String? = {
        let rule = "table ip probe { chain c { type filter hook output priority 0; ip frag-off set ip frag-off & 0xbfff\n}\n}"
        let probe = run("printf '\(rule)\n' | unshare -Urn nft -f - 2>&1")
        return probe.status == 0 ? nil
            : "nft in a user namespace refuses `ip frag-off set` on this kernel (\(probe.output.split(separator: "\n").first ?? ""))"
    }()

    @discardableResult
    static func run(_ command: String) -> (status: Int32, output: String) { CGWFWTestSupport.shell(command) }

    /// A shell command inside the namespace.
    @discardableResult
    func shell(_ command: String) -> (status: Int32, output: String) {
        Self.run("ip netns exec \(name) sh -c '\(command.replacingOccurrences(of: "'", with: "'\\''"))'")
    }

    /// cgwfw inside the namespace, with its state files in the scratch directory.
    func cgwfw(_ arguments: [String]) throws -> CLIResult {
        let binary = try CLIRunner.requireBinary()
        return try CLIRunner.run(["netns", "exec", name, binary.path]
                                     + CLIRunner.withStateDir(arguments, scratch.appendingPathComponent("state").path),
                                 executable: URL(fileURLWithPath: "/usr/sbin/ip"))
    }

    /// `nft -j list table T` as canonical JSON: handles removed (allocation order, not state), counters
    /// zeroed, set elements sorted (hash sets list in hash order).
    func tableJSON(_ table: String) throws -> String {
        let listed = shell("nft -j list table \(table)")
        guard listed.status == 0 else { return "(no table \(table)): \(listed.output)" }
        return try Self.canonicalRuleset(listed.output)
    }

    static func canonicalRuleset(_ json: String) throws -> String {
        func normalise(_ value: Any) -> Any {
            if var dict = value as? [String: Any] {
                dict.removeValue(forKey: "handle")
                if dict["packets"] != nil, dict["bytes"] != nil { dict["packets"] = 0; dict["bytes"] = 0 }
                for (key, inner) in dict { dict[key] = normalise(inner) }
                if let elements = dict["elem"] as? [Any] {
                    dict["elem"] = elements.map(normalise).sorted { canonical($0) < canonical($1) }
                }
                return dict
            }
            if let array = value as? [Any] { return array.map(normalise) }
            return value
        }
        return canonical(normalise(try JSONSerialization.jsonObject(with: Data(json.utf8))))
    }

    static func canonical(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        return String(decoding: data ?? Data(), as: UTF8.self)
    }
}
