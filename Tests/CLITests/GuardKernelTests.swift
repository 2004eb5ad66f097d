import Foundation
import XCTest

/// Issue 14 cases that need the kernel: each in its own throwaway network namespace named `guard…`.
final class GuardKernelTests: XCTestCase {
    private var namespaces: [String] = []
    private var scratch: URL!
    private var example: String { CLIRunner.repoRoot.appendingPathComponent("Examples/generic-example.txt").path }

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root for network namespaces and nftables (geteuid() != 0)") }
        _ = try CLIRunner.requireBinary()
        guard shell("command -v nft && command -v ip").status == 0 else { throw XCTSkip("nft or ip (iproute2) not installed") }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        // Readable by the unprivileged user of the confirm test.
        chmod(scratch.path, 0o755)
    }

    override func tearDown() {
        for ns in namespaces { _ = shell("ip netns pids \(ns) | xargs -r kill; ip netns del \(ns)") }
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    @discardableResult
    func shell(_ command: String) -> (status: Int32, output: String) { KernelNamespace.run(command) }

    func makeNamespace() -> String {
        let name = "guard\(UInt32.random(in: 0..<UInt32.max))"
        XCTAssertEqual(shell("ip netns add \(name) && ip -n \(name) link set lo up").status, 0)
        namespaces.append(name)
        return name
    }

    /// cgwfw ARGS inside `ns` (optionally behind `wrapper`, e.g. setpriv), commit-confirm files in scratch.
    func cgwfw(_ ns: String, _ arguments: [String], wrapper: [String] = [], runDirectory: String? = nil) throws -> CLIResult {
        let binary = try CLIRunner.requireBinary()
        let out = scratch.appendingPathComponent("out-\(UUID().uuidString)")
        let err = scratch.appendingPathComponent("err-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = ["netns", "exec", ns] + wrapper + [binary.path]
            + CLIRunner.withStateDir(arguments, runDirectory ?? scratch.appendingPathComponent("state-\(ns)").path)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        let start = Date()
        try process.run()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                         stderr: try String(contentsOf: err, encoding: .utf8), seconds: Date().timeIntervalSince(start))
    }

    // MARK: - exit codes

    func testDryRunsExitLikeDiff() throws {
        let ns = makeNamespace()
        let wouldApply = try cgwfw(ns, ["apply", "--dry-run", example])
        XCTAssertEqual(wouldApply.status, 1, "changes pending: \(wouldApply.stderr)")
        XCTAssertEqual(try cgwfw(ns, ["diff", example]).status, 1)
        let nothingToRemove = try cgwfw(ns, ["remove", "--dry-run"])
        XCTAssertEqual(nothingToRemove.status, 0, nothingToRemove.stderr)

        XCTAssertEqual(try cgwfw(ns, ["apply", example]).status, 0)
        XCTAssertEqual(try cgwfw(ns, ["apply", "--dry-run", example]).status, 0, "nothing to do")
        XCTAssertEqual(try cgwfw(ns, ["diff", example]).status, 0)
        XCTAssertEqual(try cgwfw(ns, ["remove", "--dry-run"]).status, 1, "removal pending")
        XCTAssertTrue(shell("ip netns exec \(ns) nft list table inet cgwfw").status == 0, "a dry run removed the table")
    }

    func testConfirmWithoutPrivilegeExits77AndCreatesNothing() throws {
        let ns = makeNamespace()
        let runDirectory = scratch.appendingPathComponent("run-unprivileged").path
        let nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        // A copy nobody can read (CI clones into a 0700 directory), so apply gets as far as the kernel.
        let readable = scratch.appendingPathComponent("example-for-nobody.txt")
        try FileManager.default.copyItem(atPath: example, toPath: readable.path)
        chmod(scratch.path, 0o755)
        chmod(readable.path, 0o644)
        let confirm = try cgwfw(ns, ["confirm"], wrapper: nobody, runDirectory: runDirectory)
        let apply = try cgwfw(ns, ["apply", readable.path], wrapper: nobody, runDirectory: runDirectory)
        XCTAssertEqual(confirm.status, 77, confirm.stderr)
        XCTAssertEqual(apply.status, 77, apply.stderr)
        let sameMessage = "operation not permitted: cgwfw needs CAP_NET_ADMIN (run as root or grant the capability)"
        XCTAssertTrue(confirm.stderr.contains(sameMessage) && apply.stderr.contains(sameMessage),
                      "confirm: \(confirm.stderr)\napply: \(apply.stderr)")
        XCTAssertFalse(confirm.stderr.contains("NSCocoaErrorDomain"), confirm.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDirectory), "an unprivileged confirm created its state")

        let privileged = try cgwfw(ns, ["confirm"], runDirectory: runDirectory)
        XCTAssertEqual(privileged.status, 0, privileged.stderr)
        XCTAssertTrue(privileged.stdout.contains("nothing pending"), privileged.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: runDirectory), "confirm with nothing pending created its state")
    }

    // MARK: - living next to another firewall (docs/coexistence.md)

    /// Two namespaces on a veth: `gateway` holds the customer gateway 198.51.100.7, `aws` the AWS endpoint
    /// 192.0.2.10 of the example and a stranger 192.0.2.99.
    func makeGatewayAndAWS() -> (gateway: String, aws: String) {
        let gateway = makeNamespace(), aws = makeNamespace()
        let setup = shell("""
            set -e
            ip -n \(gateway) link add vg type veth peer name va netns \(aws)
            ip -n \(gateway) addr add 198.51.100.7/24 dev vg; ip -n \(gateway) link set vg up
            ip -n \(gateway) route add 192.0.2.0/24 dev vg
            ip -n \(aws) addr add 192.0.2.10/24 dev va; ip -n \(aws) addr add 192.0.2.99/24 dev va; ip -n \(aws) link set va up
            ip -n \(aws) route add 198.51.100.0/24 dev va
            """)
        XCTAssertEqual(setup.status, 0, setup.output)
        return (gateway, aws)
    }

    /// Whether one IKE packet (UDP 500 → 500) from `source` in `aws` reaches a socket on the gateway.
    func ikeProbeArrives(_ pair: (gateway: String, aws: String), from source: String = "192.0.2.10") -> Bool {
        // The sender waits until the receiver's socket is bound, however slow the machine is.
        let ready = scratch.appendingPathComponent("ready-\(UUID().uuidString)").path
        let result = shell("""
            ip netns exec \(pair.gateway) python3 -c '
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("198.51.100.7", 500)); s.settimeout(1.5)
            open("\(ready)", "w").close()
            try:
                print("received", s.recvfrom(64)[0].decode())
            except socket.timeout:
                print("nothing")' &
            for _ in $(seq 200); do [ -e \(ready) ] && break; sleep 0.05; done
            ip netns exec \(pair.aws) python3 -c '
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("\(source)", 500)); s.sendto(b"probe", ("198.51.100.7", 500))'
            wait
            """)
        return result.output.contains("received probe")
    }

    /// The docs recipe: a Debian-style /etc/nftables.conf (flush ruleset, a default-drop inet filter) that
    /// includes `cgwfw compile --attach "inet filter"` after the table, loaded with nft -f, twice.
    func testNftablesConfRecipeWorksNextToADefaultDropTable() throws {
        let pair = makeGatewayAndAWS()
        let attached = scratch.appendingPathComponent("cgwfw-attach.nft").path
        let standalone = scratch.appendingPathComponent("cgwfw.nft").path
        XCTAssertEqual(try CLIRunner.run(["compile", "-q", "--attach", "inet filter", "-o", attached, example]).status, 0)
        XCTAssertEqual(try CLIRunner.run(["compile", "-q", "-o", standalone, example]).status, 0)
        func conf(including file: String) throws -> String {
            let path = scratch.appendingPathComponent("nftables-\(UUID().uuidString).conf").path
            try """
            #!/usr/sbin/nft -f
            flush ruleset

            table inet filter {
            \tchain input {
            \t\ttype filter hook input priority filter; policy drop;
            \t\tiif "lo" accept
            \t\tct state established,related accept
            \t\ttcp dport 22 accept
            \t}
            \tchain forward {
            \t\ttype filter hook forward priority filter; policy drop;
            \t}
            \tchain output {
            \t\ttype filter hook output priority filter;
            \t}
            }
            include "\(file)"

            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        // The old recipe: cgwfw's own table's accept does not beat the default drop.
        XCTAssertEqual(shell("ip netns exec \(pair.gateway) nft -f \(try conf(including: standalone))").status, 0)
        XCTAssertFalse(ikeProbeArrives(pair), "control: the default-drop table must drop the probe")

        let recipe = try conf(including: attached)
        for _ in 0..<2 {
            let load = shell("ip netns exec \(pair.gateway) nft -f \(recipe)")
            XCTAssertEqual(load.status, 0, load.output)
        }
        XCTAssertTrue(ikeProbeArrives(pair), "IKE from the AWS endpoint must pass the default-drop table")
        XCTAssertFalse(ikeProbeArrives(pair, from: "192.0.2.99"), "IKE from a stranger must still be dropped")
        let input = shell("ip netns exec \(pair.gateway) nft list chain inet filter input").output
        XCTAssertEqual(input.components(separatedBy: "jump cgwfw-input").count - 1, 1, "one jump after two loads:\n\(input)")
        XCTAssertTrue(input.firstRange(of: "jump cgwfw-input")!.lowerBound < input.firstRange(of: "tcp dport 22")!.lowerBound)
        // apply --attach uses the same names: applied over the recipe it replaces cgwfw's objects, not adds to them.
        XCTAssertEqual(try cgwfw(pair.gateway, ["apply", "-q", "--attach", "inet filter", example]).status, 0)
        let after = shell("ip netns exec \(pair.gateway) nft list chain inet filter input").output
        XCTAssertEqual(after.components(separatedBy: "jump cgwfw-input").count - 1, 1, after)
        XCTAssertTrue(ikeProbeArrives(pair))
    }

    /// ufw / Docker: iptables-nft's `ip filter` with INPUT policy DROP. The advice names the iptables target,
    /// and its documented load command makes the probe pass.
    func testIptablesNftFilterTableGetsTheIptablesTarget() throws {
        try XCTSkipUnless(shell("command -v iptables-nft").status == 0, "iptables-nft is not installed")
        let pair = makeGatewayAndAWS()
        XCTAssertEqual(shell("ip netns exec \(pair.gateway) sh -c 'iptables-nft -A INPUT -i lo -j ACCEPT && iptables-nft -P INPUT DROP'").status, 0)
        let applied = try cgwfw(pair.gateway, ["apply", example])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        let advice = applied.stderr.split(separator: "\n").filter { $0.contains("table ip filter chain INPUT") }
        XCTAssertEqual(advice.count, 1, applied.stderr)
        XCTAssertTrue(advice.first?.contains("`cgwfw compile --target iptables -o cgwfw.rules CONFIGS`") == true, applied.stderr)
        XCTAssertFalse(applied.stderr.contains("--attach \"ip filter\""), "apply refuses that; it must not be advised")
        XCTAssertFalse(ikeProbeArrives(pair), "control: iptables' policy drop must drop the probe")

        let rules = scratch.appendingPathComponent("cgwfw.rules").path
        XCTAssertEqual(try CLIRunner.run(["compile", "-q", "--target", "iptables", "-o", rules, example]).status, 0)
        let header = try String(contentsOfFile: rules, encoding: .utf8)
        let command = try XCTUnwrap(header.split(separator: "\n").first { $0.hasPrefix("#   iptables-save ") })
            .dropFirst(4).replacingOccurrences(of: " FILE ", with: " \(rules) ")
            .replacingOccurrences(of: "iptables-save", with: "iptables-nft-save")
            .replacingOccurrences(of: "iptables-restore", with: "iptables-nft-restore")
        let script = scratch.appendingPathComponent("load.sh").path
        try command.write(toFile: script, atomically: true, encoding: .utf8)
        let load = shell("ip netns exec \(pair.gateway) sh -e \(script)")
        XCTAssertEqual(load.status, 0, load.output)
        XCTAssertTrue(ikeProbeArrives(pair), "IKE from the AWS endpoint must pass iptables' INPUT after the load")
        XCTAssertFalse(ikeProbeArrives(pair, from: "192.0.2.99"))
    }

    /// firewalld's table: the advice says not to attach there.
    func testFirewalldTableIsNotAttachedInto() throws {
        let ns = makeNamespace()
        let firewalld = scratch.appendingPathComponent("firewalld.nft").path
        try """
        table inet firewalld {
        \tchain filter_INPUT {
        \t\ttype filter hook input priority filter + 10; policy accept;
        \t\tct state established,related accept
        \t\treject with icmpx admin-prohibited
        \t}
        }

        """.write(toFile: firewalld, atomically: true, encoding: .utf8)
        XCTAssertEqual(shell("ip netns exec \(ns) nft -f \(firewalld)").status, 0)
        let diff = try cgwfw(ns, ["diff", example])
        let advice = diff.stderr.split(separator: "\n").filter { $0.contains("table inet firewalld chain filter_INPUT") }
        XCTAssertEqual(advice.count, 1, diff.stderr)
        XCTAssertTrue(advice.first?.contains("firewalld rebuilds that table on every reload, so do not attach cgwfw there") == true,
                      diff.stderr)
        XCTAssertTrue(advice.first?.contains("firewall-cmd --permanent --add-service=ipsec") == true, diff.stderr)
        XCTAssertFalse(diff.stderr.contains("--attach \"inet firewalld\""), diff.stderr)
    }

    // MARK: - the customer gateway address against the host

    /// A host behind 1:1 NAT: its only address is 10.0.0.5, its default route goes via 10.0.0.1.
    func makeHostBehindNAT() -> String {
        let host = makeNamespace(), router = makeNamespace()
        let setup = shell("""
            set -e
            ip -n \(host) link add v0 type veth peer name v1 netns \(router)
            ip -n \(host) addr add 10.0.0.5/24 dev v0; ip -n \(host) link set v0 up
            ip -n \(router) addr add 10.0.0.1/24 dev v1; ip -n \(router) link set v1 up
            ip -n \(host) route add default via 10.0.0.1
            """)
        XCTAssertEqual(setup.status, 0, setup.output)
        return host
    }

    func testAnAddressOnNoInterfaceIsNamedWithTheHostsAddresses() throws {
        let host = makeHostBehindNAT()
        for arguments in [["diff", example], ["check", "--host", example]] {
            let run = try cgwfw(host, arguments)
            XCTAssertNotEqual(run.status, 65, run.stderr)
            let warning = run.stderr.split(separator: "\n").filter { $0.contains("is on no interface of this host") }
            XCTAssertEqual(warning.count, 1, "\(arguments): \(run.stderr)")
            XCTAssertTrue(warning.first?.contains("customer gateway address 198.51.100.7") == true, run.stderr)
            XCTAssertTrue(warning.first?.contains("(its addresses: 10.0.0.5)") == true, run.stderr)
            XCTAssertTrue(warning.first?.contains("1:1 NAT") == true, run.stderr)
        }
        // Without --host, check says nothing about the host (it may run anywhere).
        XCTAssertFalse(try cgwfw(host, ["check", example]).stderr.contains("no interface of this host"))
        // On the host that has the address, no warning.
        let owner = makeNamespace()
        XCTAssertEqual(shell("ip -n \(owner) link add d0 type veth peer name d1 && ip -n \(owner) addr add 198.51.100.7/24 dev d0").status, 0)
        XCTAssertFalse(try cgwfw(owner, ["check", "--host", example]).stderr.contains("no interface of this host"))
    }

    func testLocalAddressAutoTakesTheRoutedSourceAndOpensNATTraversal() throws {
        let host = makeHostBehindNAT()
        let run = try cgwfw(host, ["compile", "--target", "json", "--local-address", "auto", example])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("--local-address auto: 10.0.0.5, the kernel's source address towards the 2 AWS endpoint(s)"),
                      run.stderr)
        XCTAssertFalse(run.stderr.contains("no interface of this host"), run.stderr)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let sets = try XCTUnwrap(root["sets"] as? [[String: Any]], run.stdout)
        func pairs(_ name: String) -> [String] {
            (sets.first { $0["name"] as? String == name }?["elements"] as? [[String: Any]] ?? [])
                .map { "\($0["local"] ?? "") \($0["remote"] ?? "")" }
        }
        XCTAssertEqual(pairs("pairs_ipv4"), ["10.0.0.5 192.0.2.10", "10.0.0.5 192.0.2.20"], run.stdout)
        XCTAssertEqual(pairs("natt_ipv4"), ["10.0.0.5 192.0.2.10", "10.0.0.5 192.0.2.20"], "NAT-T opens behind NAT")

        // The same from a profile's local_address key.
        let profile = scratch.appendingPathComponent("behind-nat.yaml")
        try (try String(contentsOf: CLIRunner.repoRoot.appendingPathComponent("Profiles/linux-host.yaml"), encoding: .utf8))
            .replacingOccurrences(of: "\nlocal_address: null", with: "\nlocal_address: auto")
            .write(to: profile, atomically: true, encoding: .utf8)
        let fromProfile = try cgwfw(host, ["compile", "--target", "json", "--profile", profile.path, example])
        XCTAssertEqual(fromProfile.status, 0, fromProfile.stderr)
        XCTAssertEqual(fromProfile.stdout, run.stdout)

        let applied = try cgwfw(host, ["apply", "--local-address", "auto", example])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertTrue(shell("ip netns exec \(host) nft list set inet cgwfw natt_ipv4").output.contains("10.0.0.5 . 192.0.2.10"))

        let isolated = makeNamespace()
        let unrouted = try cgwfw(isolated, ["check", "--local-address", "auto", example])
        XCTAssertEqual(unrouted.status, 65, unrouted.stderr)
        XCTAssertTrue(unrouted.stderr.contains("--local-address auto: the kernel has no route to the AWS endpoint(s) 192.0.2.10"),
                      unrouted.stderr)
    }
}
