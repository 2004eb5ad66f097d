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

    func testSearchOrderPrefersEnvironmentThenPrefixThenRepository() {
        let dirs = ProfileLoader.searchDirectories(environment: ["CGWFW_PROFILES_DIR": "/etc/x"],
                                                   executable: "/opt/cg/bin/cgwfw")
        XCTAssertEqual(Array(dirs.prefix(3)), ["/etc/x", "/opt/cg/share/cgwfw/profiles", "/opt/cg/bin/Profiles"])
        XCTAssertTrue(dirs.contains("/opt/Profiles"))
    }
}
