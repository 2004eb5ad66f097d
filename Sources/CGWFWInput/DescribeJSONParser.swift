import CGWFWModel
import Foundation

/// `aws ec2 describe-vpn-connections` output (`VpnConnections[]`) and `create-vpn-connection` output (one
/// `VpnConnection`). Each connection carries its CustomerGatewayConfiguration XML as a string; that XML is
/// read by `XMLConfigParser`, and `Options` adds what only the API knows (acceleration, tunnel options).
enum DescribeJSONParser {
    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(source.text.utf8))
        } catch {
            diagnostics.error("invalid JSON: \(jsonErrorText(error))", at: endPositionIfTruncated(source))
            return ParsedFile()
        }
        let spans = JSONSpans(source)
        let items: [[String: Any]]
        let itemSpans: [JSONSpans.Span]
        let wholeFile = JSONSpans.Span(firstLine: 1, lastLine: source.lines.count)
        if let list = object as? [Any] {
            // `--query VpnConnections`: the bare array.
            items = list.compactMap { $0 as? [String: Any] }
            itemSpans = spans.topLevelArrayObjects
        } else if let top = object as? [String: Any], let list = top["VpnConnections"] as? [Any] {
            items = list.compactMap { $0 as? [String: Any] }
            itemSpans = spans.objects(inArrayUnder: "VpnConnections")
        } else if let top = object as? [String: Any], let single = top["VpnConnection"] as? [String: Any] {
            items = [single]
            itemSpans = spans.objects(under: "VpnConnection")
        } else if let top = object as? [String: Any], top["VpnConnectionId"] != nil {
            // `--query 'VpnConnections[0]'`: one bare connection.
            items = [top]
            itemSpans = [wholeFile]
        } else {
            diagnostics.error("JSON has neither VpnConnections (describe-vpn-connections) nor VpnConnection "
                              + "(create-vpn-connection)", at: SourcePosition(line: 1))
            return ParsedFile()
        }

        var parsed = ParsedFile()
        for (index, item) in items.enumerated() {
            let span = index < itemSpans.count ? itemSpans[index] : wholeFile
            let id = (item["VpnConnectionId"] as? String).flatMap(awsID)
            let state = (item["State"] as? String)?.lowercased() ?? ""
            if state == "deleted" || state == "deleting" {
                parsed.skipped.append(SkippedConnection(id: id, source: source.name, reason: "state is \(state)"))
                continue
            }
            guard let xml = item["CustomerGatewayConfiguration"] as? String, !xml.trimmed.isEmpty else {
                parsed.skipped.append(SkippedConnection(id: id, source: source.name,
                                                        reason: "no CustomerGatewayConfiguration in the JSON"))
                continue
            }
            let keyPosition = spans.position(of: "\"CustomerGatewayConfiguration\"", in: span)
                ?? SourcePosition(line: span.firstLine)
            let relocate = { (inner: SourcePosition) -> SourcePosition in
                SourcePosition(line: keyPosition.line, column: keyPosition.column,
                               context: "line \(inner.line), column \(inner.column) of its CustomerGatewayConfiguration XML")
            }
            guard var connection = XMLConfigParser.parse(xml, diagnostics: &diagnostics, relocate: relocate) else {
                continue
            }
            connection.format = .describeJSON
            connection.position = SourcePosition(line: span.firstLine)
            connection.id = id ?? connection.id
            connection.customerGatewayID = (item["CustomerGatewayId"] as? String).flatMap(awsID)
                ?? connection.customerGatewayID
            connection.gatewayID = (item["VpnGatewayId"] as? String).flatMap(awsID)
                ?? (item["TransitGatewayId"] as? String).flatMap(awsID) ?? connection.gatewayID
            let options = item["Options"] as? [String: Any]
            connection.accelerated = options?["EnableAcceleration"] as? Bool
            let tunnelOptions = (options?["TunnelOptions"] as? [Any])?.compactMap { $0 as? [String: Any] } ?? []
            for index in connection.tunnels.indices {
                var tunnel = connection.tunnels[index]
                if let address = tunnel.vpnGatewayAddress?.text, !address.isEmpty,
                   let line = spans.position(of: "\"\(address)\"", in: span) {
                    tunnel.position = line
                } else {
                    tunnel.position = keyPosition
                }
                let matching = tunnelOptions.first { ($0["OutsideIpAddress"] as? String) == tunnel.vpnGatewayAddress?.text }
                    ?? (tunnelOptions.count == connection.tunnels.count ? tunnelOptions[index] : nil)
                if let matching { apply(matching, to: &tunnel) }
                connection.tunnels[index] = tunnel
            }
            parsed.connections.append(connection)
        }
        if items.isEmpty {
            diagnostics.warning("the JSON lists no VPN connections", at: SourcePosition(line: 1))
        }
        return parsed
    }

    /// The tunnel options the API reports override the XML sample values. `PreSharedKey` is never read.
    private static func apply(_ options: [String: Any], to tunnel: inout RawTunnel) {
        func values(_ key: String) -> [String] {
            guard let list = options[key] as? [Any] else { return [] }
            return list.compactMap { item in
                if let entry = item as? [String: Any] { return (entry["Value"]).map { "\($0)" } }
                return item as? String
            }
        }
        let phase1Integrity = values("Phase1IntegrityAlgorithms")
        let phase2Integrity = values("Phase2IntegrityAlgorithms")
        let phase1Encryption = values("Phase1EncryptionAlgorithms")
        let phase2Encryption = values("Phase2EncryptionAlgorithms")
        if !phase1Integrity.isEmpty { tunnel.ikeIntegrity = phase1Integrity }
        if !phase2Integrity.isEmpty { tunnel.ipsecIntegrity = phase2Integrity }
        if !phase1Encryption.isEmpty { tunnel.ikeEncryption = phase1Encryption }
        if !phase2Encryption.isEmpty { tunnel.ipsecEncryption = phase2Encryption }
        let versions = values("IkeVersions").compactMap { IKEVersion(rawValue: $0.lowercased()) }
        if versions.count == 1 { tunnel.ikeVersion = versions[0] }
        if tunnel.insideCIDR == nil, let cidr = options["TunnelInsideCidr"] as? String { tunnel.insideCIDR = cidr }
    }

    private static func jsonErrorText(_ error: Error) -> String {
        let nsError = error as NSError
        let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String ?? nsError.localizedDescription
        return String(detail.prefix(200))
    }

    /// A JSON file whose brackets never close was cut short: point at its end.
    private static func endPositionIfTruncated(_ source: SourceText) -> SourcePosition {
        var depth = 0
        var inString = false
        var escaped = false
        for byte in source.text.utf8 {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true }
                else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        guard depth > 0 || inString else { return SourcePosition(line: 1) }
        let lastLine = max(1, source.lines.count)
        return SourcePosition(line: lastLine, column: (source.lines.last?.count ?? 0) + 1,
                              context: "truncated: \(depth) bracket(s) never closed")
    }
}

/// Line ranges of the JSON objects that hold connections, found by one byte scan (JSONSerialization keeps
/// no positions), so diagnostics and tunnels can name real lines.
struct JSONSpans {
    struct Span {
        var firstLine: Int
        var lastLine: Int
    }

    private let source: SourceText
    /// Objects that are elements of an array which is the value of a top-level key.
    private var arrayElements: [String: [Span]] = [:]
    /// Objects that are elements of a top-level array.
    private(set) var topLevelArrayObjects: [Span] = []
    /// Objects that are the value of a top-level key.
    private var objectValues: [String: [Span]] = [:]

    init(_ source: SourceText) {
        self.source = source
        enum Container { case object, array }
        var stack: [(container: Container, key: String?, firstLine: Int)] = []
        var line = 1
        var inString = false
        var escaped = false
        var stringBytes: [UInt8] = []
        var lastTopLevelString: String?
        var topLevelKey: String?
        for byte in source.text.utf8 {
            if byte == 0x0A { line += 1 }
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                    if stack.count == 1 { lastTopLevelString = String(decoding: stringBytes, as: UTF8.self) }
                } else if stack.count == 1 && stringBytes.count < 64 {
                    stringBytes.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                stringBytes.removeAll(keepingCapacity: true)
            case UInt8(ascii: ":") where stack.count == 1:
                topLevelKey = lastTopLevelString
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let container: Container = byte == UInt8(ascii: "{") ? .object : .array
                stack.append((container, stack.count == 1 ? topLevelKey : nil, line))
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard let closed = stack.popLast() else { continue }
                if closed.container == .object, stack.count == 1, stack[0].container == .array {
                    topLevelArrayObjects.append(Span(firstLine: closed.firstLine, lastLine: line))
                } else if closed.container == .object, stack.count == 1, let key = closed.key {
                    objectValues[key, default: []].append(Span(firstLine: closed.firstLine, lastLine: line))
                } else if closed.container == .object, stack.count == 2, stack[1].container == .array,
                          let key = stack[1].key {
                    arrayElements[key, default: []].append(Span(firstLine: closed.firstLine, lastLine: line))
                }
            default:
                break
            }
        }
    }

    func objects(inArrayUnder key: String) -> [Span] { arrayElements[key] ?? [] }
    func objects(under key: String) -> [Span] { objectValues[key] ?? [] }

    /// First line of `span` containing `needle`, with the column where it starts.
    func position(of needle: String, in span: Span) -> SourcePosition? {
        let first = max(1, span.firstLine)
        let last = min(source.lines.count, span.lastLine)
        guard first <= last else { return nil }
        for number in first...last {
            let line = source.lines[number - 1]
            if let range = line.range(of: needle) {
                return SourcePosition(line: number, column: SourceText.column(of: range.lowerBound, in: line))
            }
        }
        return nil
    }
}
