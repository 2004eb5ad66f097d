import Foundation
import XCTest

/// Issue 14: ordinary operator mistakes fail loudly (no kernel needed for these).
final class OperatorMistakeTests: XCTestCase {
    private var scratch: URL!
    private var example: String { CLIRunner.repoRoot.appendingPathComponent("Examples/generic-example.txt").path }

    override func setUpWithError() throws {
        _ = try CLIRunner.requireBinary()
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-guard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() {
        if let scratch { try? FileManager.default.removeItem(at: scratch) }
    }

    private func directory(_ name: String) throws -> URL {
        let url = scratch.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The example with its first AWS endpoint moved: the same VPN id, other tunnels (a stale copy).
    private func staleCopy() throws -> String {
        try String(contentsOfFile: example, encoding: .utf8).replacingOccurrences(of: "192.0.2.10", with: "192.0.2.99")
    }

    private func vpnGatewayAddresses(_ checkJSON: String) throws -> [String] {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(checkJSON.utf8)) as? [String: Any])
        let connections = try XCTUnwrap(root["connections"] as? [[String: Any]])
        return connections.flatMap { ($0["tunnels"] as? [[String: Any]] ?? []).compactMap { $0["vpn_gateway_address"] as? String } }
    }

    // MARK: - empty input

    func testCheckOfAnEmptyDirectoryIsAnError() throws {
        let empty = try directory("connections")
        let run = try CLIRunner.run(["check", empty.path])
        XCTAssertEqual(run.status, 65, run.stderr)
        XCTAssertTrue(run.stderr.contains("no VPN connection in \(empty.path)"), run.stderr)
    }

    func testApplyAndDiffOfAnEmptyDirectoryStopBeforeTheKernel() throws {
        // Refused while reading the input, before netlink is opened: the same without privilege.
        let empty = try directory("connections")
        for command in ["apply", "diff"] {
            let run = try CLIRunner.run([command, empty.path])
            XCTAssertEqual(run.status, 65, "\(command): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains("no VPN connection in \(empty.path)"), run.stderr)
            XCTAssertTrue(run.stderr.contains("use `cgwfw remove` to remove cgwfw's rules"), run.stderr)
        }
    }

    // MARK: - directories

    func testDirectoryReadsOnlyTheCurrentFiles() throws {
        let connections = try directory("connections")
        try FileManager.default.copyItem(atPath: example, toPath: connections.appendingPathComponent("vpn.txt").path)
        let leftovers = ["vpn.txt~", "vpn.txt.bak", "vpn.orig", "vpn.rej", "vpn.swp", "#vpn.txt#", ".vpn.txt.swx",
                         "vpn.txt.dpkg-old", "vpn.txt.dpkg-new", "vpn.txt.dpkg-dist", "vpn.txt.dpkg-bak",
                         "vpn.txt.rpmnew", "vpn.txt.rpmsave", "vpn.txt.ucf-old"]
        for name in leftovers {
            try staleCopy().write(to: connections.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(at: connections.appendingPathComponent("old"), withIntermediateDirectories: true)
        try staleCopy().write(to: connections.appendingPathComponent("old/vpn.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(mkfifo(connections.appendingPathComponent("pipe").path, 0o600), 0)

        let run = try CLIRunner.run(["check", "--json", connections.path], timeout: 20)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try vpnGatewayAddresses(run.stdout), ["192.0.2.10", "192.0.2.20"])
        let leftoverNotes = run.stderr.split(separator: "\n").filter { $0.contains("leftover") }
        XCTAssertEqual(leftoverNotes.count, 1, run.stderr)
        for name in leftovers { XCTAssertTrue(leftoverNotes[0].contains(name), "\(name) not named: \(run.stderr)") }
        XCTAssertTrue(run.stderr.contains("skipped subdirectories (not read recursively): old/"), run.stderr)
        XCTAssertTrue(run.stderr.contains("pipe (a FIFO)"), run.stderr)
    }

    func testAFIFOGivenDirectlyIsRefusedWithoutBlocking() throws {
        let fifo = scratch.appendingPathComponent("vpn.txt")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let run = try CLIRunner.run(["check", fifo.path], timeout: 10)
        XCTAssertEqual(run.status, 66, run.stderr)
        XCTAssertTrue(run.stderr.contains("\(fifo.path): cannot read: a FIFO, not a regular file"), run.stderr)
    }

    // MARK: - one connection id, two tunnel sets

    func testOneConnectionWithTwoTunnelSetsIsAnError() throws {
        let stale = scratch.appendingPathComponent("vpn-old.txt")
        try staleCopy().write(to: stale, atomically: true, encoding: .utf8)
        let run = try CLIRunner.run(["check", example, stale.path])
        XCTAssertEqual(run.status, 65, run.stderr)
        let line = run.stderr.split(separator: "\n").first { $0.contains("error:") }.map(String.init) ?? ""
        XCTAssertTrue(line.hasPrefix("\(stale.path):14: error: vpn-0a1b2c3d4e5f67890 is also in \(example):14 "),
                      run.stderr)
        XCTAssertTrue(line.contains("192.0.2.99") && line.contains("192.0.2.10"), line)
    }

    func testTheSameDownloadSavedTwiceMergesWithANote() throws {
        let copy = scratch.appendingPathComponent("vpn (1).txt")
        try FileManager.default.copyItem(atPath: example, toPath: copy.path)
        let run = try CLIRunner.run(["check", "--json", "-v", example, copy.path])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try vpnGatewayAddresses(run.stdout), ["192.0.2.10", "192.0.2.20"])
        XCTAssertTrue(run.stderr.contains("merged into one"), run.stderr)
    }

    // MARK: - commands and options that do not fit

    func testKernelCommandsRefuseProfilesThatAreNotNftables() throws {
        for (profile, fits) in [("linux-host-iptables", "iptables-restore --noflush"), ("openbsd-pf", "pfctl -a cgwfw")] {
            for command in [["apply", example], ["diff", example], ["remove"], ["show"]] {
                let run = try CLIRunner.run([command[0], "--profile", profile] + command.dropFirst())
                XCTAssertEqual(run.status, 64, "\(command) \(profile): \(run.stderr)")
                XCTAssertTrue(run.stderr.contains("drives the kernel's nftables") && run.stderr.contains(fits), run.stderr)
            }
        }
    }

    func testOptionsWithNoEffectAreRefused() throws {
        let cases: [([String], String)] = [
            (["compile", "--wan-interface", "eth0", example], "--wan-interface has no effect with host placement"),
            (["apply", "--wan-interface", "eth0", example], "--wan-interface has no effect with host placement"),
            (["compile", "--placement", "gateway", "--tunnel-interface", "vti0", example],
             "--tunnel-interface has no effect with gateway placement"),
            (["show", "--strict"], "--strict has no effect on `cgwfw show`"),
            (["remove", "--nat-traversal", "on"], "--nat-traversal has no effect on `cgwfw remove`"),
            (["compile", "--target", "iptables", "--attach", "inet filter", example],
             "--attach has no effect on the iptables target"),
            (["compile", "--attach", "ip filter", example], "cgwfw attaches into inet tables only"),
            (["apply", "--attach", "ip filter", example], "cgwfw attaches into inet tables only"),
            (["compile", "--remove", example], "--remove is for the iptables and ip6tables targets, not nftables"),
        ]
        for (arguments, message) in cases {
            let run = try CLIRunner.run(arguments)
            XCTAssertEqual(run.status, 64, "\(arguments): \(run.stderr)")
            XCTAssertTrue(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
        // The same options where they do have an effect are accepted.
        let fits = try CLIRunner.run(["compile", "--placement", "gateway", "--wan-interface", "eth0", example])
        XCTAssertEqual(fits.status, 0, fits.stderr)
    }

    // MARK: - output files

    /// cgwfw compile under `/bin/sh -c 'umask MASK; exec …'`, in `directory`.
    private func compile(umask mask: String, in directory: URL, _ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let binary = try CLIRunner.requireBinary()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "umask \(mask); exec \"$0\" \"$@\" 2>/dev/null", binary.path, "compile"] + arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) ?? -1
    }

    func testDashIsStandardOutput() throws {
        let run = try compile(umask: "022", in: scratch, ["-o", "-", example])
        XCTAssertEqual(run.status, 0)
        XCTAssertTrue(run.stdout.contains("table inet cgwfw"), run.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.appendingPathComponent("-").path))
    }

    func testReplacingKeepsModeAndOwnerAndANewFileFollowsTheUmask() throws {
        let existing = scratch.appendingPathComponent("cgwfw.nft")
        try "old\n".write(to: existing, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(existing.path, 0o600), 0)
        let owner: uid_t = geteuid() == 0 ? 65534 : geteuid()
        if geteuid() == 0 { XCTAssertEqual(chown(existing.path, owner, 65534), 0) }
        XCTAssertEqual(try compile(umask: "022", in: scratch, ["-o", existing.path, example]).status, 0)
        XCTAssertEqual(try mode(existing), 0o600)
        var status = stat()
        XCTAssertEqual(stat(existing.path, &status), 0)
        XCTAssertEqual(status.st_uid, owner)
        XCTAssertTrue(try String(contentsOf: existing, encoding: .utf8).contains("table inet cgwfw"))

        let relaxed = scratch.appendingPathComponent("new-022.nft"), strict = scratch.appendingPathComponent("new-077.nft")
        XCTAssertEqual(try compile(umask: "002", in: scratch, ["-o", "new-022.nft", example]).status, 0)
        XCTAssertEqual(try compile(umask: "077", in: scratch, ["-o", strict.lastPathComponent, example]).status, 0)
        XCTAssertEqual(try mode(relaxed), 0o644, "a new file is 0644, not wider, under umask 002")
        XCTAssertEqual(try mode(strict), 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "temporary files left behind")
    }

    // MARK: - diagnostics at scale

    func testTheSameNoteForManyConnectionsPrintsOnceUnlessVerbose() throws {
        let connections = try directory("connections")
        let text = try String(contentsOfFile: example, encoding: .utf8)
        for index in 0..<6 {
            try text.replacingOccurrences(of: "vpn-0a1b2c3d4e5f67890", with: "vpn-0a1b2c3d4e5f6789\(index)")
                .replacingOccurrences(of: "192.0.2.10", with: "192.0.2.1\(index)")
                .replacingOccurrences(of: "192.0.2.20", with: "192.0.2.2\(index)")
                .write(to: connections.appendingPathComponent("vpn-\(index).txt"), atomically: true, encoding: .utf8)
        }
        func natNotes(_ stderr: String) -> [Substring] { stderr.split(separator: "\n").filter { $0.contains("NAT-T (UDP 4500)") } }

        let summary = try CLIRunner.run(["compile", connections.path])
        XCTAssertEqual(summary.status, 0, summary.stderr)
        let notes = natNotes(summary.stderr)
        XCTAssertEqual(notes.count, 1, summary.stderr)
        XCTAssertTrue(notes.first?.contains(": note: vpn-0a1b2c3d4e5f67890: NAT-T (UDP 4500) closed") == true, summary.stderr)
        XCTAssertTrue(notes.first?.hasSuffix("[and 5 more: vpn-0a1b2c3d4e5f67891, vpn-0a1b2c3d4e5f67892, "
                                             + "vpn-0a1b2c3d4e5f67893, …; -v prints each]") == true, summary.stderr)

        let verbose = try CLIRunner.run(["compile", "-v", connections.path])
        XCTAssertEqual(natNotes(verbose.stderr).count, 6, verbose.stderr)
        XCTAssertTrue(verbose.stderr.contains("vpn-0a1b2c3d4e5f67895: NAT-T"), verbose.stderr)

        let quiet = try CLIRunner.run(["compile", "-q", connections.path])
        XCTAssertEqual(quiet.status, 0)
        XCTAssertFalse(quiet.stderr.contains("note:"), quiet.stderr)
        XCTAssertEqual(quiet.stdout, summary.stdout)

        // Machine output keeps every note.
        let json = try CLIRunner.run(["check", "--json", connections.path])
        XCTAssertEqual(json.stdout.components(separatedBy: "NAT-T").count - 1, 0, "check has no NAT-T notes")
        XCTAssertEqual(natNotes(try CLIRunner.run(["check", connections.path]).stderr).count, 0)
    }

    // MARK: - many positional arguments

    /// Long runs of arguments are folded before swift-argument-parser sees them (it is quadratic in them);
    /// the files must come back complete and in order, with options between and after them still parsed.
    func testManyArgumentsKeepTheirOrderAndTheOptionsAroundThem() throws {
        let text = try String(contentsOfFile: example, encoding: .utf8)
        var files: [String] = []
        for index in 0..<30 {
            let file = scratch.appendingPathComponent(String(format: "vpn-%02d.txt", 29 - index)).path
            try text.replacingOccurrences(of: "vpn-0a1b2c3d4e5f67890", with: String(format: "vpn-0a1b2c3d4e5f678%02d", index))
                .replacingOccurrences(of: "192.0.2.10", with: "192.0.2.\(100 + index)")
                .replacingOccurrences(of: "192.0.2.20", with: "192.0.2.\(200 + index)")
                .write(toFile: file, atomically: true, encoding: .utf8)
            files.append(file)
        }
        let arguments = ["check", "--json"] + files[0..<12] + ["--local-address", "203.0.113.5"] + files[12..<20]
            + ["--"] + files[20...]
        let run = try CLIRunner.run(arguments)
        XCTAssertEqual(run.status, 0, run.stderr)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let connections = try XCTUnwrap(root["connections"] as? [[String: Any]])
        XCTAssertEqual(connections.compactMap { $0["source"] as? String }, files)
        let locals = Set(connections.flatMap { ($0["tunnels"] as? [[String: Any]] ?? []).compactMap { $0["customer_gateway_address"] as? String } })
        XCTAssertEqual(locals, ["203.0.113.5"], "--local-address after a run of files was not parsed")
    }
}
