import Foundation
import XCTest

/// What `compile` prints and what `apply` writes are the same kernel state, over a generated matrix:
/// every nftables profile × placement × strict × NAT-T × the interface lists that placement uses × IPv4,
/// IPv6 and several connections. For each case `nft -f` of `cgwfw compile` (one namespace) and
/// `cgwfw apply` (another) must leave identical `nft -j list table` output (handles and counters aside),
/// and `cgwfw diff` over what `nft -f` loaded must report nothing to change (exit 0).
final class ParityMatrixTests: XCTestCase {
    struct Case: CustomStringConvertible {
        var flags: [String]
        var inputs: [String]
        /// Attach mode: cgwfw's objects inside the operator's `inet filter` (compile --attach / apply --attach).
        var attach = false
        var description: String { (flags + inputs.map { ($0 as NSString).lastPathComponent }).joined(separator: " ") }
        /// The interface names and wildcards the flags give.
        var interfaces: [String] {
            zip(flags, flags.dropFirst()).filter { ["--tunnel-interface", "--wan-interface"].contains($0.0) }.map(\.1)
        }
    }

    static let fixtures = CLIRunner.repoRoot.appendingPathComponent("Tests/CGWFWCompilerTests/Fixtures")

    static var cases: [Case] {
        let inputSets: [[String]] = [
            ["gw1-vpn-a.xml"],                                     // IPv4, one connection
            ["gw3-vpn-ipv6.xml"],                                  // IPv6 peers
            ["gw1-vpn-a.xml", "gw1-vpn-b.xml", "gw2-vpn-c.xml", "gw3-vpn-ipv6.xml"],  // several, both families
        ].map { $0.map { fixtures.appendingPathComponent($0).path } }
        let hostInterfaces: [[String]] = [
            [],
            ["--tunnel-interface", "vti0"],
            ["--tunnel-interface", "vti*"],
            ["--tunnel-interface", "vti*", "--tunnel-interface", "ipsec0", "--tunnel-interface", "xfrm*"],
        ]
        let gatewayInterfaces: [[String]] = [[], ["--wan-interface", "eth0"], ["--wan-interface", "wan*"]]
        var result: [Case] = []
        for profile in ["linux-host", "linux-gateway"] {
            for placement in ["host", "gateway"] {
                for strict in ["--strict", "--no-strict"] {
                    for natT in ["on", "off"] {
                        // Tunnel interfaces matter only where MSS/DF rules exist (linux-gateway has tcp_mss off).
                        let interfaceLists = placement == "gateway" ? gatewayInterfaces
                            : profile == "linux-host" ? hostInterfaces : [[]]
                        for interfaces in interfaceLists {
                            for inputs in inputSets {
                                let flags = ["--profile", profile, "--placement", placement, strict, "--nat-traversal", natT]
                                result.append(Case(flags: flags + interfaces, inputs: inputs))
                            }
                        }
                    }
                }
            }
        }
        // Attach mode, into a default-drop `inet filter`: each profile in its own placement, several connections.
        for (profile, placement) in [("linux-host", "host"), ("linux-gateway", "gateway")] {
            for strict in ["--strict", "--no-strict"] {
                for natT in ["on", "off"] {
                    for interfaces in placement == "host" ? hostInterfaces : gatewayInterfaces {
                        let flags = ["--profile", profile, "--placement", placement, strict, "--nat-traversal", natT,
                                     "--attach", "inet filter"]
                        result.append(Case(flags: flags + interfaces, inputs: inputSets[2], attach: true))
                    }
                }
            }
        }
        return result
    }

    /// The operator's firewall attach mode goes into (Debian's nftables.conf shape, default drop).
    static let operatorTable = """
    table inet filter {
    \tchain input { type filter hook input priority filter; policy drop; tcp dport 22 accept; }
    \tchain forward { type filter hook forward priority filter; policy drop; }
    \tchain output { type filter hook output priority filter; policy accept; }
    }

    """

    func testCompiledTextAndApplyLeaveTheSameKernelStateAndDiffSeesNothing() throws {
        try KernelNamespace.requireRoot()
        let viaNft = try KernelNamespace(), viaNetlink = try KernelNamespace()
        defer { viaNft.destroy(); viaNetlink.destroy() }
        let script = viaNft.scratch.appendingPathComponent("compiled.nft")
        let operatorScript = viaNft.scratch.appendingPathComponent("operator.nft")
        try Self.operatorTable.write(to: operatorScript, atomically: true, encoding: .utf8)
        var failures = 0
        let cases = Self.cases
        for testCase in cases {
            viaNft.flush()
            viaNetlink.flush()
            let table = testCase.attach ? "inet filter" : "inet cgwfw"
            if testCase.attach {
                for namespace in [viaNft, viaNetlink] { namespace.shell("nft -f \(operatorScript.path)") }
            }
            let compiled = try CLIRunner.run(["compile", "--target", "nftables"] + testCase.flags + testCase.inputs)
            guard compiled.status == 0 else {
                XCTFail("\(testCase): compile exited \(compiled.status): \(compiled.stderr)"); failures += 1; continue
            }
            try compiled.stdout.write(to: script, atomically: true, encoding: .utf8)
            let loaded = viaNft.shell("nft -f \(script.path)")
            guard loaded.status == 0 else { XCTFail("\(testCase): nft -f refused the text: \(loaded.output)"); failures += 1; continue }
            let applied = try viaNetlink.cgwfw(["apply"] + testCase.flags + testCase.inputs)
            guard applied.status == 0 else {
                XCTFail("\(testCase): apply exited \(applied.status): \(applied.stderr)"); failures += 1; continue
            }
            let fromText = try viaNft.tableJSON(table), fromApply = try viaNetlink.tableJSON(table)
            if fromText != fromApply {
                XCTFail("\(testCase): nft -f and apply differ\n--- nft -f\n\(viaNft.shell("nft list table \(table)").output)"
                        + "\n--- apply\n\(viaNetlink.shell("nft list table \(table)").output)")
                failures += 1
                continue
            }
            // Both paths print and write one model, so they could agree on a wrong lowering: also check that
            // the kernel holds each interface as the operator wrote it (nft lists a literal asterisk as `\*`).
            for name in testCase.interfaces where !fromApply.contains("\"\(name)\"") || fromApply.contains("\\\\*") {
                XCTFail("\(testCase): the kernel does not match interface \(name) as given:\n\(viaNetlink.shell("nft list table \(table)").output)")
                failures += 1
            }
            let diff = try viaNft.cgwfw(["diff"] + testCase.flags + testCase.inputs)
            if diff.status != 0 {
                XCTFail("\(testCase): diff after nft -f exited \(diff.status):\n\(diff.stdout)\(diff.stderr)")
                failures += 1
            }
            if failures > 5 { XCTFail("more than 5 failing cases: stopping"); return }
        }
        print("parity matrix: \(cases.count) cases, \(failures) failed")
    }
}
