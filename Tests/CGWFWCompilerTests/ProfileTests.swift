import XCTest
import CGWFWModel
@testable import CGWFWCompiler

final class ProfileTests: XCTestCase {
    /// The repository's Profiles/ directory, found from this file's path.
    static let profilesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Profiles").path

    func testBuiltInProfilesLoadWithTheirDocumentedRoles() throws {
        let directory = Self.profilesDirectory
        func load(_ name: String) throws -> Profile {
            try ProfileLoader.load(path: directory + "/" + name + ".yaml", name: name)
        }
        let host = try load("linux-host")
        XCTAssertEqual(host.target, .nftables)
        XCTAssertEqual(host.placement, .host)
        XCTAssertEqual(host.tunnelSelection, .ipsecPolicy)
        XCTAssertEqual(host.tcpMSS, .auto)
        XCTAssertFalse(host.strict)
        let gateway = try load("linux-gateway")
        XCTAssertEqual(gateway.placement, .gateway)
        XCTAssertTrue(gateway.strict)
        XCTAssertEqual(gateway.tcpMSS, .off)
        XCTAssertEqual(gateway.clearDF, .off)
        XCTAssertEqual(try load("linux-host-iptables").target, .iptables)
        XCTAssertEqual(try load("openbsd-pf").pfDialect, .openbsd)
        let freebsd = try load("freebsd-pf")
        XCTAssertEqual(freebsd.pfDialect, .freebsd)
        XCTAssertEqual(freebsd.tunnelInterfaces, ["enc0"])
        for name in ["linux-host", "linux-gateway", "linux-host-iptables", "openbsd-pf", "freebsd-pf"] {
            XCTAssertFalse(try load(name).description.isEmpty, "\(name) needs a description")
        }
    }

    func testEveryKeyIsWrittenOutInTheDefaultProfile() throws {
        let text = try String(contentsOfFile: Self.profilesDirectory + "/linux-host.yaml", encoding: .utf8)
        for (key, _) in Profile.keys {
            XCTAssertTrue(text.contains("\n\(key):"), "linux-host.yaml lacks \(key)")
        }
    }

    func testUnknownKeysAndBadValuesNameFileLineAndKey() {
        let yaml = "description: x\ntarget: nft\nfoo: 1\nstrict: maybe\ntcp_mss: 99999\nclear_df: off\n"
        do {
            _ = try ProfileLoader.parse(yaml: yaml, name: "bad", file: "bad.yaml")
            XCTFail("bad profile accepted")
        } catch {
            XCTAssertEqual(error.exit, .dataError)
            let messages = error.diagnostics.all.map(\.description)
            XCTAssertEqual(messages.count, 4, "\(messages)")
            XCTAssertTrue(messages.contains { $0.hasPrefix("bad.yaml:2:") && $0.contains("'nft'") && $0.contains("'target'") }, "\(messages)")
            XCTAssertTrue(messages.contains { $0.hasPrefix("bad.yaml:3:") && $0.contains("unknown key 'foo'") }, "\(messages)")
            XCTAssertTrue(messages.contains { $0.hasPrefix("bad.yaml:4:") && $0.contains("'strict'") }, "\(messages)")
            XCTAssertTrue(messages.contains { $0.hasPrefix("bad.yaml:5:") && $0.contains("'99999'") }, "\(messages)")
        }
    }

    func testSyntaxErrorsAndNonMappingsAreDiagnosed() {
        for yaml in ["target: [nftables\n", "- a\n- b\n"] {
            XCTAssertThrowsError(try ProfileLoader.parse(yaml: yaml, name: "x", file: "x.yaml")) { error in
                let diagnostic = (error as! ProfileError).diagnostics.all.first
                XCTAssertEqual(diagnostic?.file, "x.yaml")
                XCTAssertNotNil(diagnostic?.line)
            }
        }
    }

    func testAnAliasBombIsRefusedInMillisecondsAndSoIsAnyAliasOrAnchor() {
        var yaml = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for name in ["b", "c", "d", "e", "f", "g", "h", "i"] {
            yaml += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
            previous = name
        }
        yaml += "? *\(previous)\n: x\n"
        let start = Date()
        XCTAssertThrowsError(try ProfileLoader.parse(yaml: yaml, name: "bomb", file: "bomb.yaml")) { error in
            let first = (error as? ProfileError)?.diagnostics.errors.first
            XCTAssertEqual(first?.line, 1)
            XCTAssertTrue(first?.message.contains("aliases") == true, "\(String(describing: first))")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        XCTAssertThrowsError(try ProfileLoader.parse(yaml: "strict: &s true\ncounters: *s\n", name: "x", file: "x.yaml"))
        XCTAssertThrowsError(try ProfileLoader.parse(yaml: String(repeating: "# padding\n", count: 8000), name: "x", file: "x.yaml"))
        // Asterisks inside values are no aliases.
        XCTAssertNoThrow(try ProfileLoader.parse(yaml: "description: own CGWFW-* chains, \"*quoted\" # *comment\n"
                                                  + "tunnel_interfaces: [vti*, \"ipsec*\"]\ntunnel_selection: interfaces\n",
                                                  name: "x", file: "x.yaml"))
    }

    /// Found by `make fuzz` (profile target): 2 KB of nested explicit keys (`? `, lines ending in CR) kept
    /// Yams' duplicate-key check busy for over a minute (`cgwfw compile --profile FILE` killed at 60 s).
    func testNestedExplicitKeysAreRefusedInMilliseconds() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Regressions/profile-nested-explicit-keys.yaml")
        let yaml = String(decoding: try Data(contentsOf: file), as: UTF8.self)
        let start = Date()
        XCTAssertThrowsError(try ProfileLoader.parse(yaml: yaml, name: "slow", file: "slow.yaml")) { error in
            let first = (error as? ProfileError)?.diagnostics.errors.first
            XCTAssertTrue(first?.message.contains("explicit YAML keys") == true, "\(String(describing: first))")
            XCTAssertNotNil(first?.line)
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1)
        for (yaml, line, column) in [("strict: true\n? [a]\n: b\n", 2, 1), ("a:\r  - ? x\r", 2, 5),
                                     ("tunnel_interfaces: [[[vti0]]]\n", 1, 22), ("x: 1\r*a: 2\n", 2, 1)] {
            XCTAssertThrowsError(try ProfileLoader.parse(yaml: yaml, name: "x", file: "x.yaml"), yaml) { error in
                let first = (error as? ProfileError)?.diagnostics.errors.first
                XCTAssertEqual(first.map { [$0.line, $0.column] }, [line, column], "\(yaml.debugDescription): \(String(describing: first))")
            }
        }
        // Question marks, apostrophes and brackets inside words are no indicators.
        XCTAssertNoThrow(try ProfileLoader.parse(yaml: "description: what? it's [fine] {really}\r\nstrict: true\n",
                                                  name: "x", file: "x.yaml"))
    }

    func testTriStateKeysAcceptBareOnOffAndNumbers() throws {
        let profile = try ProfileLoader.parse(yaml: "nat_traversal: on\nclear_df: off\ntcp_mss: 1300\n", name: "p", file: "p.yaml")
        XCTAssertEqual(profile.natTraversal, .on)
        XCTAssertEqual(profile.clearDF, .off)
        XCTAssertEqual(profile.tcpMSS, .fixed(1300))
    }

    func testCrossKeyValidation() {
        XCTAssertThrowsError(try ProfileLoader.parse(yaml: "tunnel_selection: interfaces\n", name: "p", file: "p.yaml"))
        XCTAssertThrowsError(try ProfileLoader.parse(yaml: "attach: filter\n", name: "p", file: "p.yaml"))
        XCTAssertNoThrow(try ProfileLoader.parse(yaml: "attach: inet filter\nattach_chains: {input: INPUT}\n", name: "p", file: "p.yaml"))
    }

    /// BuiltInProfiles.swift is generated from Profiles/*.yaml (`make profiles-source`); a stale copy fails here.
    func testBuiltInProfilesAreExactlyTheFilesInProfiles() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.profilesDirectory)
            .filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }.sorted()
        XCTAssertEqual(ProfileLoader.builtInNames, files,
                       "run `make profiles-source`")
        for (name, yaml) in BuiltInProfiles.sources {
            let text = try String(contentsOfFile: Self.profilesDirectory + "/\(name).yaml", encoding: .utf8)
            XCTAssertEqual(yaml, text, "\(name): BuiltInProfiles.swift differs from Profiles/; run `make profiles-source`")
        }
    }

    func testNamesResolveToTheOperatorsFileFirstThenTheBuiltIn() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let missing = directory.appendingPathComponent("absent").path
        XCTAssertEqual(try ProfileLoader.load(name: "linux-gateway", operatorDirectory: missing).placement, .gateway)
        XCTAssertEqual(try ProfileLoader.available(operatorDirectory: missing).map(\.name), ProfileLoader.builtInNames)

        try "description: site gateway\nplacement: host\n".write(to: directory.appendingPathComponent("linux-gateway.yaml"),
                                                               atomically: true, encoding: .utf8)
        try "description: site\nstrict: true\n".write(to: directory.appendingPathComponent("site.yaml"),
                                                     atomically: true, encoding: .utf8)
        let shadowed = try ProfileLoader.load(nameOrPath: "linux-gateway", operatorDirectory: directory.path)
        XCTAssertEqual(shadowed.placement, .host)
        XCTAssertEqual(shadowed.description, "site gateway")
        XCTAssertTrue(try ProfileLoader.load(name: "site", operatorDirectory: directory.path).strict)
        let names = try ProfileLoader.available(operatorDirectory: directory.path).map(\.name)
        XCTAssertEqual(names, (ProfileLoader.builtInNames + ["site"]).sorted())

        XCTAssertThrowsError(try ProfileLoader.load(name: "nosuch", operatorDirectory: directory.path)) { error in
            let error = error as! ProfileError
            XCTAssertEqual(error.exit, .usage)
            XCTAssertTrue(error.description.contains("no profile named 'nosuch'"), error.description)
            XCTAssertTrue(error.description.contains("site"), error.description)
        }
        // A name is never a path: it cannot leave the directory.
        XCTAssertThrowsError(try ProfileLoader.load(name: "..", operatorDirectory: directory.path))
    }

    func testAnInvalidOperatorProfileIsReportedWithItsFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cgwfw-profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("broken.yaml").path
        try "nosuchkey: 1\n".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ProfileLoader.available(operatorDirectory: directory.path)) { error in
            let diagnostic = (error as! ProfileError).diagnostics.all.first
            XCTAssertEqual(diagnostic?.file, path)
            XCTAssertEqual(diagnostic?.line, 1)
        }
    }

    /// cgwfw-profile(5) documents exactly the keys the loader accepts (each `.It Cm KEY :` entry of KEYS).
    func testManualPageListsEveryKeyAndNoOther() throws {
        let page = URL(fileURLWithPath: Self.profilesDirectory).deletingLastPathComponent()
            .appendingPathComponent("packaging/man/cgwfw-profile.5")
        let text = try String(contentsOf: page, encoding: .utf8)
        let documented = text.split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            guard words.count >= 4, words[0] == ".It", words[1] == "Cm", words[3] == ":" else { return nil }
            return String(words[2])
        }
        XCTAssertEqual(documented, Profile.keys.map(\.key), "packaging/man/cgwfw-profile.5 and Profile.keys differ")
        // ... and the loader knows each of them (a bad value is fine here, an unknown key is not).
        for key in documented {
            do {
                _ = try ProfileLoader.parse(yaml: "\(key): [x]\n", name: "p", file: "p.yaml")
            } catch {
                XCTAssertFalse(error.description.contains("unknown key"), error.description)
            }
        }
    }
}
