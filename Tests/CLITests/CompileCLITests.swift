import XCTest
import Foundation

/// `cgwfw compile` and `cgwfw profiles` as an operator runs them.
final class CompileCLITests: XCTestCase {
    static let fixtures = CLIRunner.repoRoot.appendingPathComponent("Tests/CGWFWCompilerTests/Fixtures").path

    func scratch() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-compile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testDefaultProfileWritesAnNftScriptAndExplainsNATTraversal() throws {
        let result = try CLIRunner.run(["compile", Self.fixtures])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.hasPrefix("#!/usr/sbin/nft -f\n"))
        XCTAssertTrue(result.stdout.contains("table inet cgwfw {"))
        XCTAssertTrue(result.stderr.contains("vpn-0c0c0c0c0c0c0c003: NAT-T (UDP 4500) open for tunnels 1, 2: the config enables NAT-T"),
                      result.stderr)
        XCTAssertTrue(result.stderr.contains("vpn-0c0a0a0a0a0a0a001: NAT-T (UDP 4500) closed"), result.stderr)
        XCTAssertFalse(result.stdout.contains("made.up.fixture.key"))
        XCTAssertFalse(result.stderr.contains("made.up.fixture.key"))
    }

    func testEveryTargetAndProfileFlagCombination() throws {
        for (arguments, marker) in [
            (["--target", "iptables"], "*filter"), (["--target", "ip6tables"], "ip6tables-restore"),
            (["--target", "pf", "--profile", "freebsd-pf"], "scrub out on enc0"),
            (["--profile", "openbsd-pf"], "match out on enc0"), (["--target", "json"], "\"pairs_ipv4\""),
            (["--profile", "linux-gateway", "--wan-interface", "eth0"], "iifname \"eth0\""),
            (["--strict", "--table", "vpnfw"], "table inet vpnfw"),
            (["--tunnel-interface", "vti0", "--tunnel-interface", "vti1"], "oifname { \"vti0\", \"vti1\" }"),
            (["--nat-traversal", "off"], "set natt_ipv4 {\n\t\ttype ipv4_addr . ipv4_addr\n\t\tcomment \"managed by cgwfw\"\n\t}"),
        ] {
            let result = try CLIRunner.run(["compile"] + arguments + [Self.fixtures])
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains(marker), "\(arguments) output lacks \(marker)")
        }
        let iptables = try CLIRunner.run(["compile", "--target", "iptables", Self.fixtures])
        XCTAssertTrue(iptables.stderr.contains("warning: iptables has no target that clears the DF bit"), iptables.stderr)
    }

    func testLocalAddressOpensNATTraversalAndSaysWhy() throws {
        let file = CLIRunner.repoRoot.appendingPathComponent("Tests/CGWFWCompilerTests/Fixtures/gw1-vpn-a.xml").path
        let result = try CLIRunner.run(["compile", "--target", "json", "--local-address", "10.0.0.5", file])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("differs from the config's customer gateway address 198.51.100.7: behind NAT"),
                      result.stderr)
        XCTAssertTrue(result.stdout.contains("\"10.0.0.5\""))
    }

    func testCheckSaysWhetherCompileOpensUDP4500AndWhy() throws {
        let result = try CLIRunner.run(["check", Self.fixtures])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("UDP 4500 rule       opened by compile (nat_traversal auto): the config enables NAT-T"))
        XCTAssertTrue(result.stdout.contains("UDP 4500 rule       not opened by compile (nat_traversal auto): not accelerated"))
    }

    func testOutputFileIsWrittenAtomicallyAndLeftAloneOnError() throws {
        let dir = try scratch()
        let output = dir.appendingPathComponent("cgwfw.nft")
        var result = try CLIRunner.run(["compile", "-o", output.path, Self.fixtures])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stdout, "")
        let written = try String(contentsOf: output, encoding: .utf8)
        XCTAssertTrue(written.contains("table inet cgwfw {"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["cgwfw.nft"], "no temporary left behind")

        let broken = dir.appendingPathComponent("broken.txt")
        try "Amazon Web Services\nIPSec Tunnel #1\n  - Customer Gateway : 999.1.2.3\n".write(to: broken, atomically: true, encoding: .utf8)
        result = try CLIRunner.run(["compile", "-o", output.path, broken.path])
        XCTAssertEqual(result.status, 65, result.stderr)
        XCTAssertEqual(try String(contentsOf: output, encoding: .utf8), written, "a failed compile changed the output file")
        XCTAssertEqual(result.stdout, "")

        result = try CLIRunner.run(["compile", "-o", "/nonexistent-dir/x.nft", Self.fixtures])
        XCTAssertEqual(result.status, 73, result.stderr)
    }

    func testProfileErrorsNameFileLineAndKey() throws {
        let dir = try scratch()
        let profile = dir.appendingPathComponent("mine.yaml")
        try "target: nftables\nplacment: host\nstrict: sometimes\n".write(to: profile, atomically: true, encoding: .utf8)
        let result = try CLIRunner.run(["compile", "--profile", profile.path, Self.fixtures])
        XCTAssertEqual(result.status, 65)
        XCTAssertTrue(result.stderr.contains("\(profile.path):2:1: error: unknown key 'placment'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\(profile.path):3:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("'strict'"), result.stderr)
        XCTAssertEqual(result.stdout, "")
    }

    func testUsageErrorsExit64() throws {
        for arguments in [["--profile", "no-such-profile"], ["--placement", "roof"], ["--target", "ipfw"],
                          ["--nat-traversal", "maybe"], ["--table", "fwd; drop"], ["--wan-interface", "a b"]] {
            let result = try CLIRunner.run(["compile"] + arguments + [Self.fixtures])
            XCTAssertEqual(result.status, 64, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout, "")
        }
        let keyword = try CLIRunner.run(["compile", "--table", "fwd", Self.fixtures])
        XCTAssertEqual(keyword.status, 65, keyword.stderr)
        XCTAssertTrue(keyword.stderr.contains("nft keyword"))
    }

    func testProfilesListsBuiltInsAndIgnoresTheEnvironment() throws {
        let result = try CLIRunner.run(["profiles"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let names = result.stdout.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        XCTAssertEqual(names, ["freebsd-pf", "linux-gateway", "linux-host", "linux-host-iptables", "openbsd-pf"])
        XCTAssertTrue(result.stdout.contains("(default)"))

        // The variable older versions read must not steer a root process to other profiles.
        let dir = try scratch()
        try "description: my own default\n".write(to: dir.appendingPathComponent("linux-host.yaml"), atomically: true, encoding: .utf8)
        try "description: site profile\nstrict: true\n".write(to: dir.appendingPathComponent("site.yaml"), atomically: true, encoding: .utf8)
        let steered = try CLIRunner.run(["profiles"], environment: ["CGWFW_PROFILES_DIR": dir.path])
        XCTAssertEqual(steered.stdout, result.stdout)
        let byName = try CLIRunner.run(["compile", "--profile", "site", Self.fixtures], environment: ["CGWFW_PROFILES_DIR": dir.path])
        XCTAssertEqual(byName.status, 64, byName.stderr)
        XCTAssertTrue(byName.stderr.contains("no profile named 'site'"), byName.stderr)
        let byPath = try CLIRunner.run(["compile", "--profile", dir.appendingPathComponent("site.yaml").path, Self.fixtures])
        XCTAssertEqual(byPath.status, 0, byPath.stderr)
        XCTAssertTrue(byPath.stdout.contains("set locals_ipv4"))
    }

    func testVersionIsTheOneConstant() throws {
        let result = try CLIRunner.run(["--version"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let source = try String(contentsOf: CLIRunner.repoRoot.appendingPathComponent("Sources/cgwfw/Version.swift"), encoding: .utf8)
        XCTAssertTrue(source.contains("let cgwfwVersion = \"\(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))\""),
                      result.stdout)
    }
}
