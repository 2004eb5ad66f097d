import XCTest
import CGWFWModel
@testable import CGWFWCompiler

/// There is no pfctl on Linux, so the pf output is parsed by a small recursive-descent checker written from the
/// GRAMMAR sections of pf.conf(5) (OpenBSD and FreeBSD), restricted to the productions cgwfw emits:
///
///     line       = table-rule | pf-rule | anchor-rule
///     anchor-rule = "anchor" string | "scrub-anchor" string (FreeBSD; a scrub-class statement)
///     ifspec     = interface-name | interface-group | "{" ifspec [ [ "," ] ifspec ]… "}"   (no wildcards)
///     table-rule = "table" "<" string ">" "{" [ tableaddr [ [ "," ] tableaddr ]… ] "}"
///     pf-rule    = action [ "in" | "out" ] [ "quick" ] [ "on" ifspec ] [ af ] [ protospec ] hosts [ filteropts ]
///     action     = "pass" | "block" [ "drop" ] | "match" (OpenBSD) | "scrub" (FreeBSD)
///     hosts      = "all" | "from" ( "any" | address | "<" string ">" ) [ port ] "to" ( … ) [ port ]
///     port       = "port" number
///     filteropt  = "label" string | "scrub" "(" scrubopt [ [ "," ] scrubopt ]… ")"   (OpenBSD)
///                | "label" string | "no-df" | "max-mss" number                       (FreeBSD)
///     scrubopt   = "no-df" | "max-mss" number
///
/// and FreeBSD's statement order (tables, then scrub rules, then filter rules; `set require-order`).
struct PFChecker {
    struct Rule {
        var action: String
        var direction: String?
        var quick = false
        var interface: String?
        var family: String?
        var proto: String?
        var from: String?
        var fromPort: Int?
        var to: String?
        var toPort: Int?
        var label: String?
        var scrub: [String] = []
    }

    struct Failure: Error, CustomStringConvertible {
        var line: Int
        var message: String
        var description: String { "line \(line): \(message)" }
    }

    let dialect: Profile.PFDialect
    var tables: [String: [IPAddress]] = [:]
    var rules: [Rule] = []
    var anchors: [String] = []
    var scrubAnchors: [String] = []

    init(_ text: String, dialect: Profile.PFDialect) throws {
        self.dialect = dialect
        var sawFilterRule = false
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            var tokens = try Self.tokenize(String(line), line: index + 1)
            if tokens.isEmpty { continue }
            if tokens[0] == "table" {
                try parseTable(&tokens, line: index + 1)
                continue
            }
            if tokens[0] == "anchor" || tokens[0] == "scrub-anchor" {
                guard tokens.count == 2, tokens[1].hasPrefix("\""), tokens[1].hasSuffix("\"") else {
                    throw Failure(line: index + 1, message: "\(tokens[0]) needs one quoted name")
                }
                if tokens[0] == "scrub-anchor" {
                    guard dialect == .freebsd else { throw Failure(line: index + 1, message: "scrub-anchor is FreeBSD's") }
                    if sawFilterRule { throw Failure(line: index + 1, message: "scrub-anchor after a filter rule") }
                    scrubAnchors.append(String(tokens[1].dropFirst().dropLast()))
                } else {
                    sawFilterRule = true
                    anchors.append(String(tokens[1].dropFirst().dropLast()))
                }
                continue
            }
            let rule = try parseRule(&tokens, line: index + 1)
            if rule.action == "scrub" && sawFilterRule {
                throw Failure(line: index + 1, message: "scrub rule after a filter rule (FreeBSD requires normalisation first)")
            }
            if rule.action != "scrub" { sawFilterRule = true }
            rules.append(rule)
        }
    }

    static func tokenize(_ line: String, line number: Int) throws -> [String] {
        var tokens: [String] = []
        var current = ""
        var iterator = line.makeIterator()
        while let character = iterator.next() {
            if character == "\"" {
                var quoted = "\""
                while let next = iterator.next(), next != "\"" { quoted.append(next) }
                tokens.append(quoted + "\"")
            } else if "{}()<>,".contains(character) {
                if !current.isEmpty { tokens.append(current); current = "" }
                tokens.append(String(character))
            } else if character == " " || character == "\t" {
                if !current.isEmpty { tokens.append(current); current = "" }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    mutating func parseTable(_ tokens: inout [String], line: Int) throws {
        var stream = Stream(tokens: tokens, line: line)
        try stream.expect("table")
        try stream.expect("<")
        let name = try stream.word()
        try stream.expect(">")
        guard name.count <= 31, name.first?.isLetter == true else { throw Failure(line: line, message: "bad table name \(name)") }
        try stream.expect("{")
        var addresses: [IPAddress] = []
        while stream.peek != "}" {
            let word = try stream.word()
            guard let address = IPAddress(word) else { throw Failure(line: line, message: "not an address: \(word)") }
            addresses.append(address)
            if stream.peek == "," { _ = try stream.word() }
        }
        try stream.expect("}")
        try stream.end()
        guard tables[name] == nil else { throw Failure(line: line, message: "table <\(name)> defined twice") }
        tables[name] = addresses
    }

    func parseRule(_ tokens: inout [String], line: Int) throws -> Rule {
        var stream = Stream(tokens: tokens, line: line)
        let action = try stream.word()
        let allowed: Set<String> = dialect == .openbsd ? ["pass", "block", "match"] : ["pass", "block", "scrub"]
        guard allowed.contains(action) else { throw Failure(line: line, message: "action \(action) is not in the \(dialect) grammar") }
        var rule = Rule(action: action)
        if action == "block", stream.peek == "drop" { _ = try stream.word(); rule.action = "block drop" }
        if stream.peek == "in" || stream.peek == "out" { rule.direction = try stream.word() }
        if stream.peek == "quick" { _ = try stream.word(); rule.quick = true }
        if stream.peek == "on" {
            _ = try stream.word()
            func interfaceName() throws -> String {
                let name = try stream.word()
                guard name.range(of: "^[a-z][a-z0-9_.]*$", options: .regularExpression) != nil else {
                    throw Failure(line: line, message: "bad interface name \(name) (pf has no wildcards)")
                }
                return name
            }
            if stream.peek == "{" {
                _ = try stream.word()
                var names: [String] = []
                while stream.peek != "}" {
                    names.append(try interfaceName())
                    if stream.peek == "," { _ = try stream.word() }
                }
                try stream.expect("}")
                rule.interface = names.joined(separator: ",")
            } else {
                rule.interface = try interfaceName()
            }
        }
        if stream.peek == "inet" || stream.peek == "inet6" { rule.family = try stream.word() }
        if stream.peek == "proto" {
            _ = try stream.word()
            let proto = try stream.word()
            guard ["udp", "tcp", "esp"].contains(proto) else { throw Failure(line: line, message: "unexpected proto \(proto)") }
            rule.proto = proto
        }
        // hosts (required by FreeBSD's pf-rule production; cgwfw always writes it)
        if stream.peek == "all" {
            _ = try stream.word()
        } else {
            try stream.expect("from")
            rule.from = try host(&stream, family: rule.family)
            rule.fromPort = try port(&stream, proto: rule.proto)
            try stream.expect("to")
            rule.to = try host(&stream, family: rule.family)
            rule.toPort = try port(&stream, proto: rule.proto)
        }
        while let option = stream.peek {
            _ = try stream.word()
            switch (option, dialect) {
            case ("label", _):
                let text = try stream.word()
                guard text.hasPrefix("\""), text.count - 2 <= 63 else { throw Failure(line: line, message: "bad label \(text)") }
                rule.label = String(text.dropFirst().dropLast())
            case ("scrub", .openbsd):
                try stream.expect("(")
                while stream.peek != ")" {
                    rule.scrub.append(try scrubOption(&stream))
                    if stream.peek == "," { _ = try stream.word() }
                }
                try stream.expect(")")
            case ("no-df", .freebsd), ("max-mss", .freebsd):
                stream.push(option)
                rule.scrub.append(try scrubOption(&stream))
            default:
                throw Failure(line: line, message: "option \(option) is not in the \(dialect) grammar for cgwfw's rules")
            }
        }
        if rule.action == "scrub" || rule.action == "match" {
            guard !rule.scrub.isEmpty else {
                throw Failure(line: line, message: "\(rule.action) rule without scrub options")
            }
        } else if !rule.scrub.isEmpty {
            throw Failure(line: line, message: "scrub options on a \(rule.action) rule")
        }
        return rule
    }

    func host(_ stream: inout Stream, family: String?) throws -> String {
        let word = try stream.word()
        if word == "any" { return word }
        if word == "<" {
            let name = try stream.word()
            try stream.expect(">")
            guard tables[name] != nil else { throw Failure(line: stream.line, message: "table <\(name)> used before it is defined") }
            return "<\(name)>"
        }
        guard let address = IPAddress(word) else { throw Failure(line: stream.line, message: "not a host: \(word)") }
        guard family == nil || (family == "inet") == (address.family == .ipv4) else {
            throw Failure(line: stream.line, message: "\(word) does not belong to address family \(family!)")
        }
        return word
    }

    func port(_ stream: inout Stream, proto: String?) throws -> Int? {
        guard stream.peek == "port" else { return nil }
        _ = try stream.word()
        guard proto == "udp" || proto == "tcp" else { throw Failure(line: stream.line, message: "port without udp/tcp") }
        let word = try stream.word()
        guard let number = Int(word), (1...65535).contains(number) else { throw Failure(line: stream.line, message: "bad port \(word)") }
        return number
    }

    func scrubOption(_ stream: inout Stream) throws -> String {
        let word = try stream.word()
        switch word {
        case "no-df": return word
        case "max-mss":
            let value = try stream.word()
            guard let mss = Int(value), (1...65535).contains(mss) else { throw Failure(line: stream.line, message: "bad max-mss \(value)") }
            return "max-mss \(mss)"
        default: throw Failure(line: stream.line, message: "unexpected scrub option \(word)")
        }
    }

    struct Stream {
        var tokens: [String]
        var line: Int
        var peek: String? { tokens.first }
        mutating func word() throws -> String {
            guard !tokens.isEmpty else { throw Failure(line: line, message: "unexpected end of line") }
            return tokens.removeFirst()
        }
        mutating func expect(_ word: String) throws {
            let got = try self.word()
            guard got == word else { throw Failure(line: line, message: "expected '\(word)', found '\(got)'") }
        }
        mutating func push(_ word: String) { tokens.insert(word, at: 0) }
        func end() throws {
            guard tokens.isEmpty else { throw Failure(line: line, message: "trailing tokens \(tokens)") }
        }
    }

    /// The first `quick` rule that matches, like pf (rules without quick are not emitted by cgwfw for filtering).
    func verdict(direction: String, family: IPAddress.Family, proto: String, source: IPAddress, sourcePort: Int?,
                 destination: IPAddress, destinationPort: Int?) -> String? {
        func matches(_ spec: String?, _ address: IPAddress) -> Bool {
            guard let spec else { return true }
            if spec == "any" { return true }
            if spec.hasPrefix("<") { return tables[String(spec.dropFirst().dropLast())]?.contains(address) ?? false }
            return IPAddress(spec) == address
        }
        for rule in rules where rule.action == "pass" || rule.action == "block drop" {
            if let d = rule.direction, d != direction { continue }
            if let f = rule.family, f != (family == .ipv4 ? "inet" : "inet6") { continue }
            if let p = rule.proto, p != proto { continue }
            guard matches(rule.from, source), matches(rule.to, destination) else { continue }
            if let p = rule.fromPort, p != sourcePort { continue }
            if let p = rule.toPort, p != destinationPort { continue }
            if rule.quick { return rule.action }
        }
        return nil
    }
}

final class PFBackendTests: XCTestCase {
    func render(_ profileName: String, strict: Bool = false, connections: [Connection] = Fixtures.all) throws -> (String, Diagnostics) {
        var profile = try Fixtures.profile(profileName)
        profile.strict = strict
        let intent = IntentBuilder.build(connections: connections, profile: profile).intent
        return PFBackend.render(intent, dialect: profile.pfDialect)
    }

    func assertAWSTable(_ checker: PFChecker, strict: Bool, connections: [Connection] = Fixtures.all,
                        natTraversal: (Connection) -> Bool = { $0.id == "vpn-0ccc3333" },
                        file: StaticString = #filePath, line: UInt = #line) {
        for connection in connections {
            for tunnel in connection.tunnels {
                let c = tunnel.customerGatewayAddress, v = tunnel.vpnGatewayAddress, family = c.family
                for (proto, port) in [("udp", 500), ("esp", 0)] {
                    let p: Int? = port == 0 ? nil : port
                    XCTAssertEqual(checker.verdict(direction: "in", family: family, proto: proto, source: v, sourcePort: p,
                                                   destination: c, destinationPort: p), "pass", "\(proto) \(v) → \(c)",
                                   file: file, line: line)
                    XCTAssertEqual(checker.verdict(direction: "out", family: family, proto: proto, source: c, sourcePort: p,
                                                   destination: v, destinationPort: p), "pass", "\(proto) \(c) → \(v)",
                                   file: file, line: line)
                }
                let natT = checker.verdict(direction: "in", family: family, proto: "udp", source: v, sourcePort: 4500,
                                           destination: c, destinationPort: 4500)
                XCTAssertEqual(natT, natTraversal(connection) ? "pass" : (strict ? "block drop" : nil),
                               "NAT-T \(v) → \(c)", file: file, line: line)
                let rogue = family == .ipv4 ? IPAddress("203.0.113.99")! : IPAddress("2001:db8:ffff::99")!
                XCTAssertEqual(checker.verdict(direction: "in", family: family, proto: "udp", source: rogue, sourcePort: 500,
                                               destination: c, destinationPort: 500), strict ? "block drop" : nil,
                               file: file, line: line)
                XCTAssertEqual(checker.verdict(direction: "in", family: family, proto: "esp", source: rogue, sourcePort: nil,
                                               destination: c, destinationPort: nil), strict ? "block drop" : nil,
                               file: file, line: line)
            }
        }
    }

    func testOpenBSDDialectFollowsTheGrammar() throws {
        for strict in [false, true] {
            let (text, diagnostics) = try render("openbsd-pf", strict: strict)
            XCTAssertFalse(diagnostics.hasErrors)
            let checker = try PFChecker(text, dialect: .openbsd)
            assertAWSTable(checker, strict: strict)
            let matches = checker.rules.filter { $0.action == "match" }
            XCTAssertEqual(matches.map(\.scrub), [["max-mss 1359", "no-df"], ["max-mss 1359"], ["max-mss 1339"], ["max-mss 1339"]])
            XCTAssertTrue(matches.allSatisfy { $0.interface == "enc0" })
            XCTAssertEqual(matches.map { $0.direction ?? "" }, ["out", "in", "out", "in"])
            // One table per customer gateway address (and per NAT-T set): 198.51.100.7, .8, 2001:db8:1::7, NAT-T .8.
            XCTAssertEqual(checker.tables.count, 4)
            XCTAssertEqual(checker.tables.values.map(\.count).sorted(), [2, 2, 2, 4])
        }
    }

    func testFreeBSDDialectPutsScrubBeforeFilterRules() throws {
        for strict in [false, true] {
            let (text, _) = try render("freebsd-pf", strict: strict)
            let checker = try PFChecker(text, dialect: .freebsd)
            assertAWSTable(checker, strict: strict)
            XCTAssertEqual(checker.rules.prefix { $0.action == "scrub" }.map(\.scrub),
                           [["max-mss 1359", "no-df"], ["max-mss 1359"], ["max-mss 1339"], ["max-mss 1339"]])
            XCTAssertThrowsError(try PFChecker(text, dialect: .openbsd), "OpenBSD has no scrub action")
        }
        let (openbsd, _) = try render("openbsd-pf")
        XCTAssertThrowsError(try PFChecker(openbsd, dialect: .freebsd), "FreeBSD's grammar here has no scrub (…) option")
    }

    func testCheckerRejectsWhatPFRejects() {
        let bad = [
            "pass in quick inet proto udp from <nope> port 500 to 198.51.100.7 port 500",  // undefined table
            "pass in quick inet proto udp to 198.51.100.7 port 500",                        // hosts without from
            "pass in quick inet proto esp from 192.0.2.10 port 500 to 198.51.100.7",       // port on esp
            "pass in quick inet proto udp from 2001:db8::1 to 198.51.100.7",                // wrong family
            "match out on enc0 inet all scrub (max-mss)",                                   // missing number
            "table <t> { 192.0.2.300 }",
        ]
        for line in bad {
            XCTAssertThrowsError(try PFChecker(line, dialect: .openbsd), line)
        }
        XCTAssertThrowsError(try PFChecker("pass quick all\nscrub in all no-df", dialect: .freebsd))
    }

    func testHeaderSaysHowToLoadAndTheAnchorLine() throws {
        let (text, _) = try render("openbsd-pf")
        XCTAssertTrue(text.contains("# Load (replaces the anchor's rules and tables, nothing else): pfctl -a cgwfw -f FILE"))
        XCTAssertTrue(text.contains("#   anchor \"cgwfw\""))
    }

    /// The pf.conf lines the header asks for, as a pf.conf of their own.
    static func pfConfLines(_ text: String) -> String {
        text.split(separator: "\n").filter { $0.hasPrefix("#   ") && $0.contains("anchor \"") }
            .map { String($0.dropFirst(4)) }.joined(separator: "\n")
    }

    func testFreeBSDHeaderSaysHowScrubReachesPFConf() throws {
        let (text, _) = try render("freebsd-pf")
        let pfConf = Self.pfConfLines(text)
        let checker = try PFChecker(pfConf, dialect: .freebsd)
        XCTAssertEqual(checker.scrubAnchors, ["cgwfw"], pfConf)
        XCTAssertEqual(checker.anchors, ["cgwfw"], pfConf)
        // The checker keeps FreeBSD's order: a scrub-anchor after the filter anchor is refused.
        XCTAssertThrowsError(try PFChecker("anchor \"cgwfw\"\nscrub-anchor \"cgwfw\"", dialect: .freebsd))
        let (openbsd, _) = try render("openbsd-pf")
        XCTAssertEqual(try PFChecker(Self.pfConfLines(openbsd), dialect: .openbsd).anchors, ["cgwfw"])
        XCTAssertFalse(openbsd.contains("scrub-anchor"), "OpenBSD's match … scrub rules are filter rules")
    }

    func testInterfaceWildcardsBecomeGroupsOrAreRefused() throws {
        for dialect in [Profile.PFDialect.openbsd, .freebsd] {
            var profile = try Fixtures.profile(dialect == .openbsd ? "openbsd-pf" : "freebsd-pf")
            profile.tunnelSelection = .interfaces
            profile.tunnelInterfaces = ["vti*", "enc0"]
            let intent = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent
            let (text, diagnostics) = PFBackend.render(intent, dialect: dialect)
            XCTAssertFalse(diagnostics.hasErrors, "\(diagnostics.all)")
            XCTAssertFalse(text.contains("*"), text)
            let checker = try PFChecker(text, dialect: dialect)
            let normalisation = checker.rules.filter { $0.action == "match" || $0.action == "scrub" }
            XCTAssertFalse(normalisation.isEmpty)
            XCTAssertTrue(normalisation.allSatisfy { $0.interface == "vti,enc0" }, "\(normalisation.map(\.interface))")
            XCTAssertEqual(diagnostics.all.filter { $0.message.contains("pf interface group 'vti'") }.count, 1)
        }
        var gateway = try Fixtures.profile("openbsd-pf")
        gateway.placement = .gateway
        gateway.wanInterface = "em*"
        let (wanText, _) = PFBackend.render(IntentBuilder.build(connections: Fixtures.all, profile: gateway).intent, dialect: .openbsd)
        XCTAssertTrue(try PFChecker(wanText, dialect: .openbsd).rules.allSatisfy { $0.interface == "em" })

        var refused = try Fixtures.profile("openbsd-pf")
        refused.tunnelInterfaces = ["vti1*"]
        let (_, diagnostics) = PFBackend.render(IntentBuilder.build(connections: Fixtures.all, profile: refused).intent,
                                                dialect: .openbsd)
        XCTAssertTrue(diagnostics.errors.contains { $0.message.contains("'vti1*': pf does not match interface wildcards") },
                      "\(diagnostics.all)")
    }

    func testGatewayPlacementHasNoDirectionWithoutWAN() throws {
        var profile = try Fixtures.profile("openbsd-pf")
        profile.placement = .gateway
        let intent = IntentBuilder.build(connections: Fixtures.all, profile: profile).intent
        let (text, _) = PFBackend.render(intent, dialect: .openbsd)
        let checker = try PFChecker(text, dialect: .openbsd)
        XCTAssertTrue(checker.rules.allSatisfy { $0.direction == nil && $0.quick })
        XCTAssertFalse(checker.rules.contains { $0.action == "match" })
        assertAWSTable(checker, strict: false)
    }
}
