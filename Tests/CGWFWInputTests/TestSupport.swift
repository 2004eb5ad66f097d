import CGWFWModel
import Foundation
import XCTest
@testable import CGWFWInput

/// Where this test target's own fixtures (documentation addresses only) live.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// The shared real-world corpus next to the repository, or nil when this checkout has none.
let corpusDirectory: URL? = {
    let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/aws-configs")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
}()

func requireCorpus() throws -> URL {
    guard let corpusDirectory else {
        print("skipping: ../shared/corpus/aws-configs is not present next to the repository")
        throw XCTSkip("../shared/corpus/aws-configs is not present next to the repository")
    }
    return corpusDirectory
}

func fixture(_ name: String) -> String { fixturesDirectory.appendingPathComponent(name).path }

func loadFixture(_ name: String, format: InputFormat? = nil, localAddress: String? = nil,
                 file: StaticString = #filePath, line: UInt = #line) throws -> ParseResult {
    try InputLoader.load(paths: [fixture(name)], format: format, localAddress: localAddress.flatMap { IPAddress($0) })
}

/// Parses text given inline, named `name` in diagnostics.
func loadText(_ text: String, name: String = "inline.txt", format: InputFormat? = nil,
              localAddress: String? = nil) -> ParseResult {
    InputLoader.load(contents: [(name, Array(text.utf8))], format: format,
                     localAddress: localAddress.flatMap { IPAddress($0) })
}

func loadBytes(_ bytes: [UInt8], name: String = "inline.bin") -> ParseResult {
    InputLoader.load(contents: [(name, bytes)])
}

extension ParseResult {
    var errorMessages: [String] { diagnostics.errors.map(\.message) }
    var tunnels: [Tunnel] { connections.flatMap(\.tunnels) }
    func diagnostics(_ severity: Diagnostic.Severity) -> [Diagnostic] { diagnostics.all.filter { $0.severity == severity } }
}

/// A minimal Generic download with the given outside addresses, for diagnostics tests.
func genericText(customerGateway: [String], aws: [String], mss: String = "1379 bytes",
                 integrity: String = "sha1", id: String = "vpn-0123456789abcdef0") -> String {
    var text = """
    Amazon Web Services
    Virtual Private Cloud

    VPN Connection Configuration
    ================================================================================
    Your VPN Connection ID                   : \(id)
    Your Virtual Private Gateway ID          : vgw-0123456789abcdef0
    Your Customer Gateway ID                 : cgw-0123456789abcdef0

    """
    for (index, (customer, endpoint)) in zip(customerGateway, aws).enumerated() {
        text += """
        IPSec Tunnel #\(index + 1)
        ================================================================================
        #1: Internet Key Exchange Configuration
          - IKE version              : IKEv1
          - Pre-Shared Key           : inline-made-up-key-\(index + 1)
          - Authentication Algorithm : \(integrity)
        #2: IPSec Configuration
          - Authentication Algorithm : hmac-\(integrity)-96
          - TCP MSS Adjustment       : \(mss)
          - Clear Don't Fragment Bit : enabled
        #3: Tunnel Interface Configuration
        Outside IP Addresses:
          - Customer Gateway         : \(customer)
          - Virtual Private Gateway  : \(endpoint)
        Inside IP Addresses
          - Customer Gateway         : 169.254.1\(index).2/30
          - Virtual Private Gateway  : 169.254.1\(index).1/30
          - Tunnel interface MTU     : 1436 bytes

        """
    }
    return text
}

/// 1-based line and column of the `occurrence`-th appearance of `needle` in `text`, found independently of
/// the parser so position assertions do not trust the code under test.
func position(of needle: String, in text: String, occurrence: Int = 1) -> (line: Int, column: Int)? {
    var seen = 0
    for (index, line) in text.components(separatedBy: "\n").enumerated() {
        var searchStart = line.startIndex
        while let range = line.range(of: needle, range: searchStart..<line.endIndex) {
            seen += 1
            if seen == occurrence { return (index + 1, line.distance(from: line.startIndex, to: range.lowerBound) + 1) }
            searchStart = range.upperBound
        }
    }
    return nil
}
