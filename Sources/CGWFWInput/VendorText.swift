import CGWFWModel
import Foundation

/// What the vendor-download parsers share: the comment header with the ids, words with their columns, tunnels
/// keyed by the object that identifies them, and netmasks.
enum VendorText {
    /// Reads a header line ("! Your VPN Connection ID : vpn-…" behind `!`, `#`, `>` or nothing) into the
    /// connection. True when it was one of the id lines.
    @discardableResult
    static func readHeader(_ content: Substring, into connection: inout RawConnection) -> Bool {
        let text = content.drop { $0 == "!" || $0 == "#" || $0 == ">" || $0 == " " || $0 == "\t" }
        guard text.lowercased().hasPrefix("your "), let (label, value, _) = GenericParser.labelAndValue(text) else {
            return false
        }
        switch label {
        case "your vpn connection id": connection.id = awsID(value)
        case "your virtual private gateway id", "your transit gateway id":
            connection.gatewayID = awsID(value) ?? connection.gatewayID
        case "your customer gateway id": connection.customerGatewayID = awsID(value)
        default: return false
        }
        return true
    }

    /// The words of a line, split on spaces and TABs.
    static func words(_ content: Substring) -> [Substring] {
        content.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    /// A word of `line` (a slice of it) with its position, quotes dropped.
    static func located(_ word: Substring, in line: Substring, number: Int) -> Located {
        let value = word.unquoted
        return Located(text: String(value), position: SourcePosition(line: number, column: SourceText.column(of: value.startIndex, in: line)))
    }

    /// The key a `pre-shared-key …` / `psksecret …` command ends with, given the index of the first word after
    /// the keyword: a quoted remainder as a whole (`ascii-text "k e y"`), else the last word (`address X key K`,
    /// `local K`, `0 K`, `ENC K`).
    static func secret(_ words: [Substring], from index: Int) -> String? {
        guard index < words.count, let last = words.last else { return nil }
        let rest = words[index].base[words[index].startIndex..<last.endIndex]
        if let first = rest.first, first == "\"" || first == "'" { return String(rest.unquoted) }
        return String(last.unquoted)
    }

    /// "255.255.255.252" → 30; nil for anything that is not a contiguous IPv4 netmask.
    static func prefixLength(ofMask mask: some StringProtocol) -> Int? {
        guard case .v4(let bits)? = IPAddress(String(mask)) else { return nil }
        let ones = (~bits).leadingZeroBitCount
        return bits << ones == 0 ? ones : nil
    }

    /// "169.254.10.2" + "255.255.255.252" → "169.254.10.2/30"; an address already in CIDR form stays as it is.
    static func insideCIDR(address: some StringProtocol, mask: (some StringProtocol)?) -> String? {
        if address.contains("/") { return String(address) }
        guard IPAddress(String(address)) != nil else { return nil }
        guard let mask else { return String(address) }
        return prefixLength(ofMask: mask).map { "\(address)/\($0)" }
    }

    /// `vpn-0123-0 ! Name must be shorter than 15 chars` → `vpn-0123-0`: FortiGate and GUI steps put `!`
    /// comments after values.
    static func withoutTrailingComment(_ text: Substring) -> Substring {
        guard let bang = text.range(of: " !") ?? text.range(of: "\t!") else { return text }
        return text[..<bang.lowerBound].trimmed
    }

    /// A lettered GUI step, "j. Local-gateway: Select Specify and enter 198.51.100.7" → its label and value
    /// ("local-gateway", "Select Specify and enter 198.51.100.7"); also unlettered "Label : value" lines.
    static func step(_ line: Substring) -> (label: String, value: Substring, column: Int)? {
        var text = line.trimmed
        if let dot = text.firstIndex(of: "."), text.distance(from: text.startIndex, to: dot) <= 2,
           text[..<dot].allSatisfy({ $0.isASCII && $0.isLetter }), text.index(after: dot) < text.endIndex,
           text[text.index(after: dot)].isWhitespace {
            text = text[text.index(after: dot)...]
        }
        guard let (label, value, _) = GenericParser.labelAndValue(text) else { return nil }
        let cleaned = withoutTrailingComment(value)
        return (label, cleaned, SourceText.column(of: cleaned.startIndex, in: line))
    }

    /// "168.61.145.99/30" → "168.61.145.99": PAN-OS lets the outside address carry its interface's mask.
    static func withoutPrefixLength(_ located: Located) -> Located {
        guard let slash = located.text.firstIndex(of: "/"), IPAddress(String(located.text[..<slash])) != nil else {
            return located
        }
        return Located(text: String(located.text[..<slash]), position: located.position)
    }
}

/// The tunnels of a vendor download in the order they first appear, each found again by the name or address
/// that identifies it in that syntax (keyring peer, IKE gateway name, tunnel-group address). Tunnel numbers
/// are that order (1, 2), whatever suffixes the object names carry (-0/-1 or -1/-2).
struct TunnelTable {
    private(set) var tunnels: [RawTunnel] = []
    private var indexByKey: [String: Int] = [:]

    /// The index of the tunnel known as `key`, created at `position` when new.
    mutating func index(for key: String, at position: SourcePosition) -> Int {
        if let index = indexByKey[key] { return index }
        tunnels.append(RawTunnel(number: tunnels.count + 1, position: position))
        indexByKey[key] = tunnels.count - 1
        return tunnels.count - 1
    }

    func index(of key: String) -> Int? { indexByKey[key] }

    /// Makes `key` a second name of the tunnel at `index` (a GUI step names the tunnel after it began).
    mutating func alias(_ key: String, to index: Int) {
        if indexByKey[key] == nil { indexByKey[key] = index }
    }

    subscript(index: Int) -> RawTunnel {
        get { tunnels[index] }
        set { tunnels[index] = newValue }
    }

    /// Keeps the first customer gateway address given for a tunnel; a different address for the same tunnel
    /// later (keyring vs `tunnel source`) is an error naming both lines.
    mutating func setCustomerGateway(_ located: Located, at index: Int, diagnostics: inout FileDiagnostics) {
        guard let first = tunnels[index].customerGatewayAddress else {
            tunnels[index].customerGatewayAddress = located
            return
        }
        if first.text != located.text, IPAddress(first.text) != nil, IPAddress(located.text) != nil {
            diagnostics.error("tunnel \(tunnels[index].number): customer gateway address \(quoted(located.text)) here, but "
                              + "\(quoted(first.text)) on line \(first.position.line); which one is the gateway's?",
                              at: located.position)
        }
    }

    /// Applies `change` to every tunnel (settings a download states once for all of them).
    mutating func updateEach(_ change: (inout RawTunnel) -> Void) {
        for index in tunnels.indices { change(&tunnels[index]) }
    }
}

/// A neighbour of a download's BGP section: its address and, when given, its remote AS.
typealias BGPNeighbor = (address: String, remoteAS: String?)

extension RawTunnel {
    /// The tunnel's BGP peer is the neighbour whose address lies in its inside network.
    mutating func takeBGPNeighbor(from neighbors: [BGPNeighbor]) {
        guard let inside = insideCIDR.flatMap({ InsideNetwork($0) }),
              let neighbor = neighbors.first(where: { inside.contains($0.address) }) else { return }
        bgpNeighbor = neighbor.address
        bgpASN = neighbor.remoteAS
    }
}

extension RawConnection {
    /// A connection is reported where its first tunnel begins; with no tunnel it stays where it was made.
    mutating func positionAtFirstTunnel() {
        if let first = tunnels.first { position = first.position }
    }
}
