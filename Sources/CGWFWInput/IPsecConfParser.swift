import CGWFWModel
import Foundation

/// ipsec.conf-style downloads (Openswan, Libreswan, strongSwan): one `conn` block per tunnel with the AWS
/// endpoint in `right=` and the customer gateway in `left=` (when it is an address) or `leftid=`, plus the
/// `ipsec.secrets` lines, which are skipped unread. These downloads carry no MSS or DF settings.
enum IPsecConfParser {
    private struct Block {
        var name: String
        var position: SourcePosition
        var values: [String: Located] = [:]
    }

    static func parse(_ source: SourceText, diagnostics: inout FileDiagnostics) -> ParsedFile {
        var connection = RawConnection(format: .ipsecConf, position: SourcePosition(line: 1), carriesMSSAndDF: false)
        var blocks: [Block] = []
        var defaults: [String: Located] = [:]
        var setup: [String: Located] = [:]
        var current: Block?

        func close() {
            guard let block = current else { return }
            switch block.name {
            case "%default": defaults.merge(block.values) { $1 }
            case "config setup": setup.merge(block.values) { $1 }
            default: blocks.append(block)
            }
            current = nil
        }

        var secrets: Set<String> = []
        var linkMTUs: [String: Int] = [:]
        for (number, line) in source.inspectableLines() {
            let content = line.trimmed
            // The route-based strongSwan download leaves `leftupdown=` (whose -ll/-lr name the inside
            // addresses) commented out: still the download's statement of the inside address.
            if content.hasPrefix("#leftupdown="), current != nil, current!.values["leftupdown"] == nil {
                let value = content.dropFirst("#leftupdown=".count).unquoted
                current!.values["leftupdown"] = Located(text: String(value), position: SourcePosition(
                    line: number, column: SourceText.column(of: value.startIndex, in: line)))
                continue
            }
            if content.isEmpty || content.hasPrefix("#") { continue }
            // `sudo ip link set Tunnel1 up mtu 1419` (route-based steps): the MTU of the conn of that name.
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let link = words.firstIndex(of: "link"), link + 5 < words.count, words[link + 1] == "set",
               words[link + 3] == "up", words[link + 4] == "mtu", let mtu = leadingInteger(words[link + 5]) {
                linkMTUs[String(words[link + 2])] = linkMTUs[String(words[link + 2])] ?? mtu
            }
            // An ipsec.secrets line, `198.51.100.7 192.0.2.10 : PSK "…"`: the key is kept only to be redacted.
            if let psk = content.range(of: "PSK ") {
                let key = content[psk.upperBound...].unquoted
                if !key.isEmpty { secrets.insert(String(key)) }
                continue
            }
            // A download pasted into Markdown loses the indentation of its conn bodies: a bare `key=value`
            // line still belongs to the open block.
            let indented = line.first?.isWhitespace == true || (current != nil && isSetting(content))
            if !indented {
                close()
                if words.count == 2, words[0] == "conn" {
                    current = Block(name: String(words[1]), position: SourcePosition(line: number))
                } else if words.count == 2, words[0] == "config", words[1] == "setup" {
                    current = Block(name: "config setup", position: SourcePosition(line: number))
                } else if let (label, value, _) = GenericParser.labelAndValue(content) {
                    switch label {
                    case "your vpn connection id": connection.id = awsID(value)
                    case "your virtual private gateway id", "your transit gateway id":
                        connection.gatewayID = awsID(value) ?? connection.gatewayID
                    case "your customer gateway id": connection.customerGatewayID = awsID(value)
                    default: break
                    }
                }
                continue
            }
            guard current != nil, let equals = content.firstIndex(of: "=") else { continue }
            let key = content[..<equals].trimmed.lowercased()
            let rawValue = content[content.index(after: equals)...]
            let value = rawValue.unquoted
            let column = SourceText.column(of: value.startIndex, in: line)
            current!.values[key] = Located(text: String(value), position: SourcePosition(line: number, column: column))
        }
        close()

        for block in blocks {
            let values = defaults.merging(block.values) { $1 }
            guard let right = values["right"] else { continue }
            var tunnel = RawTunnel(number: connection.tunnels.count + 1, position: block.position)
            tunnel.vpnGatewayAddress = right
            if let left = values["left"], IPAddress(left.text) != nil {
                tunnel.customerGatewayAddress = left
            } else if let leftID = values["leftid"] {
                tunnel.customerGatewayAddress = leftID
            } else {
                tunnel.customerGatewayAddress = values["left"]
            }
            let ike = proposals(values["ike"]?.text)
            tunnel.ikeEncryption = ike.encryption
            tunnel.ikeIntegrity = ike.integrity
            let esp = proposals((values["phase2alg"] ?? values["esp"])?.text)
            tunnel.ipsecEncryption = esp.encryption
            tunnel.ipsecIntegrity = esp.integrity
            tunnel.ikeVersion = ikeVersion(values)
            tunnel.dpdIntervalSeconds = values["dpddelay"].flatMap { leadingInteger($0.text) }
            tunnel.natTraversal = natTraversal(values, setup: setup)
            if let updown = values["leftupdown"]?.text {
                tunnel.insideCIDR = option("-ll", in: updown)
            }
            tunnel.mtu = linkMTUs[block.name]
            connection.tunnels.append(tunnel)
        }
        connection.positionAtFirstTunnel()
        return ParsedFile(connections: [connection], secrets: secrets)
    }

    /// `leftid=198.51.100.7`: an ipsec.conf setting (a word of letters, digits, `_` or `-`, then `=`).
    private static func isSetting(_ content: Substring) -> Bool {
        guard let equals = content.firstIndex(of: "="), equals > content.startIndex else { return false }
        return content[..<equals].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    /// "aes128-sha1;modp1024,aes256-sha2_512" → encryption [aes128, aes256], integrity [sha1, sha2_512].
    static func proposals(_ text: String?) -> (encryption: [String], integrity: [String]) {
        var encryption: [String] = []
        var integrity: [String] = []
        for proposal in (text ?? "").split(separator: ",") {
            for token in proposal.split(whereSeparator: { $0 == "-" || $0 == ";" }).map({ $0.lowercased() }) {
                if token.hasPrefix("modp") || token.hasPrefix("ecp") || token.hasPrefix("curve") || token.hasPrefix("x25519") {
                    continue
                }
                if token.hasPrefix("sha") || token.hasPrefix("md5") || token.hasPrefix("aesxcbc")
                    || token.hasPrefix("prf") {
                    integrity.append(token)
                } else if !token.hasSuffix("!") {
                    encryption.append(token)
                }
            }
        }
        return (encryption, integrity)
    }

    private static func ikeVersion(_ values: [String: Located]) -> IKEVersion? {
        switch values["keyexchange"]?.text.lowercased() {
        case "ikev1": return .ikev1
        case "ikev2": return .ikev2
        default: break
        }
        switch values["ikev2"]?.text.lowercased() {
        case "insist", "yes": return .ikev2
        case "no", "never": return .ikev1
        default: return nil
        }
    }

    private static func natTraversal(_ values: [String: Located], setup: [String: Located]) -> Bool? {
        if values["forceencaps"]?.text.lowercased() == "yes" || values["encapsulation"]?.text.lowercased() == "yes" {
            return true
        }
        switch setup["nat_traversal"]?.text.lowercased() {
        case "yes": return true
        case "no": return false
        default: return nil
        }
    }

    /// The word after `flag` in an updown command line ("… -ll 169.254.1.2/30 …").
    private static func option(_ flag: String, in command: String) -> String? {
        let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\"" })
        guard let index = words.firstIndex(where: { $0 == flag }), index + 1 < words.count else { return nil }
        return String(words[index + 1])
    }
}
