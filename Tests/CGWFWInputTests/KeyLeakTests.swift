import CGWFWModel
import Foundation
import XCTest
@testable import CGWFWInput

/// Pre-shared keys never leave the input stage, in any format: not in the model, not in a diagnostic, not even
/// when a file's own key is pasted where an address belongs (the message then says `<redacted>`). The keys
/// are found here with this test's own patterns, one per vendor syntax, independent of the parsers.
final class KeyLeakTests: XCTestCase {
    private static let keyPatterns = [
        #"Pre-Shared Key\s*:[ \t]*(\S+)"#,                  // Generic text, pfSense and FortiGate GUI steps
        #"<pre_shared_key>([^<]+)<\\?/pre_shared_key>"#,    // XML, and the XML inside describe JSON
        #""PreSharedKey"\s*:\s*"([^"]+)""#,                 // describe JSON TunnelOptions
        #"PSK\s+"([^"]+)""#,                                // ipsec.secrets lines
        #"pre-shared-secret\s+'([^']+)'"#,                  // VyOS
        #"pre-shared-key\s+(?:address\s+\S+\s+key\s+|ascii-text\s+|key\s+|)"?([^\s"]+)"#,  // Cisco, ASA, JunOS, PAN-OS
        #"set psksecret\s+(\S+)"#,                          // FortiGate CLI
    ]

    static func keys(in text: String) throws -> Set<String> {
        var keys: Set<String> = []
        for pattern in keyPatterns {
            let regex = try NSRegularExpression(pattern: pattern)
            for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                guard let range = Range(match.range(at: 1), in: text) else { continue }
                let key = String(text[range])
                // Labels and redactions are not keys; real keys are 8 to 64 characters.
                if key.count >= 8 && !["pre-shared-keys", "address"].contains(key) && !key.hasPrefix("<") { keys.insert(key) }
            }
        }
        return keys
    }

    /// Everything the input stage hands on, as text: diagnostics and the encoded model.
    private func output(_ result: ParseResult) throws -> String {
        String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
            + result.diagnostics.all.map(\.description).joined(separator: "\n")
    }

    private func assertNoKey(_ keys: Set<String>, in result: ParseResult, _ label: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        let text = try output(result)
        for key in keys where text.contains(key) {
            XCTFail("\(label): a pre-shared key (\(key.count) characters) is in the output", file: file, line: line)
        }
    }

    /// Each file as it is, and with its first AWS address replaced everywhere by one of its own keys.
    private func checkPastedKey(name: String, text: String) throws {
        let keys = try Self.keys(in: text)
        let plain = loadText(text, name: name)
        let replaced = loadText(text, name: name, localAddress: "203.0.113.9")
        try assertNoKey(keys, in: plain, name)
        try assertNoKey(keys, in: replaced, name)
        guard let key = keys.sorted().first, let tunnel = replaced.tunnels.first else { return }
        if let customerGateway = tunnel.configCustomerGatewayAddress, IPAddress(customerGateway) != nil {
            // Over the customer gateway address, completed by --local-address: the key must not reach the model.
            let pasted = loadText(text.replacingOccurrences(of: customerGateway, with: key), name: name,
                                  localAddress: "203.0.113.9")
            try assertNoKey(keys, in: pasted, "\(name) with a key pasted over \(customerGateway)")
        }
        let aws = "\(tunnel.vpnGatewayAddress)"
        let pasted = text.replacingOccurrences(of: aws, with: key)
        XCTAssertNotEqual(pasted, text, name)
        for result in [loadText(pasted, name: name), loadText(pasted, name: name, localAddress: "203.0.113.9")] {
            XCTAssertTrue(result.diagnostics.hasErrors, "\(name): a key where the AWS address was must be an error")
            try assertNoKey(keys, in: result, "\(name) with a key pasted over \(aws)")
            XCTAssertTrue(result.diagnostics.all.contains { $0.message.contains("<redacted>") }, "\(name): \(result.errorMessages)")
        }
    }

    func testOwnFixturesOfEveryFormat() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: fixturesDirectory.path).sorted()
        var formats: Set<InputFormat> = []
        for name in names {
            let text = try String(contentsOfFile: fixture(name), encoding: .utf8)
            guard !(try Self.keys(in: text)).isEmpty else { continue }
            if let format = loadText(text, localAddress: "203.0.113.9").connections.first?.format { formats.insert(format) }
            try checkPastedKey(name: name, text: text)
        }
        XCTAssertEqual(formats, Set(InputFormat.allCases), "a fixture with keys for every format")
    }

    func testCorpusFilesOfEveryFormat() throws {
        let corpus = try requireCorpus()
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).filter { $0 != "SOURCES.md" }.sorted()
        var keyCount = 0
        for name in names {
            let text = String(decoding: try Data(contentsOf: corpus.appendingPathComponent(name)), as: UTF8.self)
            let keys = try Self.keys(in: text)
            keyCount += keys.count
            // Files without keys: the redacted ones (blank or "<REDACTED_FOR_SECURITY>") and the XML fragment.
            if keys.isEmpty {
                XCTAssertTrue(name.contains("redacted") || name.contains("fragment"), "\(name): no key found by the patterns")
            }
            try checkPastedKey(name: name, text: text)
        }
        XCTAssertGreaterThanOrEqual(keyCount, 40)
    }
}
