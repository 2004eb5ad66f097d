import CGWFWModel

/// Where a value was found: 1-based line and column. `context` says where inside an embedded document
/// (the XML string of a describe-vpn-connections JSON) the value really sits.
struct SourcePosition: Hashable, Sendable {
    var line: Int
    var column: Int
    var context: String?

    init(line: Int, column: Int = 1, context: String? = nil) {
        self.line = line
        self.column = column
        self.context = context
    }
}

/// A piece of text from the input together with its position.
struct Located: Hashable, Sendable {
    var text: String
    var position: SourcePosition
}

/// Diagnostics for one input file, with its name filled in.
struct FileDiagnostics {
    let file: String
    var diagnostics = Diagnostics()

    mutating func error(_ message: String, at position: SourcePosition? = nil) {
        emit(.error, message, at: position)
    }
    mutating func warning(_ message: String, at position: SourcePosition? = nil) {
        emit(.warning, message, at: position)
    }
    mutating func note(_ message: String, at position: SourcePosition? = nil) {
        emit(.note, message, at: position)
    }

    /// Replaces every occurrence of a secret in the messages so far with `<redacted>` (also the first 60
    /// characters of a longer one, which is what `quoted` shows of it).
    mutating func redact(_ secrets: Set<String>) {
        // "<REDACTED_FOR_SECURITY>" stands where a key was (AWS keys cannot contain "<"): it stays readable.
        let needles = secrets.filter { $0.count >= FileDiagnostics.shortestRedactedSecret && !$0.hasPrefix("<") }
            .flatMap { $0.count > 60 ? [$0, String($0.prefix(60))] : [$0] }
        guard !needles.isEmpty else { return }
        let matcher = SecretMatcher(needles)
        var changed = false
        let redacted = diagnostics.all.map { diagnostic in
            guard let message = matcher.redacting(diagnostic.message) else { return diagnostic }
            changed = true
            var copy = diagnostic
            copy.message = message
            return copy
        }
        if changed { diagnostics = Diagnostics(redacted) }
    }

    /// Shorter "keys" are not real ones (AWS requires 8 to 64 characters) and would garble every message.
    static let shortestRedactedSecret = 4

    private mutating func emit(_ severity: Diagnostic.Severity, _ message: String, at position: SourcePosition?) {
        var text = message
        if let context = position?.context { text += " (\(context))" }
        diagnostics.emit(Diagnostic(severity, text, file: file, line: position?.line, column: position?.column))
    }
}

/// The decoded text of one input split into lines. Line endings (LF, CRLF, CR) are removed; a UTF-8 byte
/// order mark is dropped. Invalid UTF-8 becomes U+FFFD, so any bytes at all can be inspected safely.
final class SourceText {
    /// Lines longer than this are never searched for labels or keywords: no real AWS config has them,
    /// and bounding the work per line keeps hostile input (one 8 MB line) fast.
    static let maxInspectedLineLength = 4096

    let name: String
    let text: String
    /// True when the bytes contain NUL or many invalid UTF-8 sequences: not a text file.
    let looksBinary: Bool
    /// Number of LF bytes, counted before anything is split.
    let lineBreaks: Int

    init(name: String, bytes: [UInt8]) {
        self.name = name
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        text = String(decoding: body, as: UTF8.self)
        var nulCount = 0
        var lineBreakCount = 0
        body.withUnsafeBufferPointer { body in
            for byte in body {
                nulCount &+= byte == 0 ? 1 : 0
                lineBreakCount &+= byte == 0x0A ? 1 : 0
            }
        }
        lineBreaks = lineBreakCount
        // Each invalid byte turned into U+FFFD (3 bytes), so growth measures how much was not UTF-8.
        let invalidBytes = max(0, text.utf8.count - body.count) / 2
        looksBinary = nulCount > 0 || (body.count > 0 && invalidBytes * 20 > body.count)
    }

    /// The lines, split on first use (XML and JSON inputs mostly never need them).
    lazy var lines: [Substring] = {
        // Split on bytes, not Characters: grapheme breaking over an 8 MB line is needlessly slow.
        var split: [Substring] = []
        let utf8 = text.utf8
        var lineStart = utf8.startIndex
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == 0x0A || byte == 0x0D {
                split.append(text[lineStart..<index])
                var next = utf8.index(after: index)
                if byte == 0x0D, next < utf8.endIndex, utf8[next] == 0x0A { next = utf8.index(after: next) }
                index = next
                lineStart = next
            } else {
                index = utf8.index(after: index)
            }
        }
        if lineStart < utf8.endIndex { split.append(text[lineStart...]) }
        return split
    }()

    var isBlank: Bool { text.utf8.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D } }

    /// Lines short enough to inspect, with 1-based numbers.
    func inspectableLines() -> some Sequence<(number: Int, line: Substring)> {
        lines.enumerated().lazy
            .filter { $0.element.utf8.count <= SourceText.maxInspectedLineLength }
            .map { (number: $0.offset + 1, line: $0.element) }
    }

    /// 1-based column of `index` within `line` (characters, a TAB counts as one).
    static func column(of index: Substring.Index, in line: Substring) -> Int {
        line.distance(from: line.startIndex, to: index) + 1
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, TABs and other whitespace.
    var trimmed: Substring {
        // Scalars, not Characters: the same answer for whitespace, without grapheme breaking.
        let s = Substring(self)
        let scalars = s.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isBlank }) else { return s[s.endIndex...] }
        let last = scalars.lastIndex(where: { !$0.isBlank })!
        return s[first...last]
    }

    /// Lowercased with every run of spaces/TABs collapsed to one space: "Virtual Private  Gateway\tASN" →
    /// "virtual private gateway asn".
    var normalizedLabel: String {
        trimmed.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
    }

    /// Drops one pair of matching single or double quotes.
    var unquoted: Substring {
        let s = trimmed
        if s.count >= 2, let first = s.first, first == "'" || first == "\"", s.last == first {
            return s.dropFirst().dropLast()
        }
        return s
    }
}

/// Offending text for a message: in quotes, cut short so a hostile input cannot flood the terminal.
func quoted(_ text: some StringProtocol, limit: Int = 60) -> String {
    text.count > limit ? "'\(text.prefix(limit))…'" : "'\(text)'"
}

extension Unicode.Scalar {
    /// Whitespace, with a fast answer for ASCII.
    var isBlank: Bool {
        if isASCII { return value == 0x20 || (0x09...0x0D).contains(value) }
        return properties.isWhitespace
    }
}

/// Finds any of many secrets in a message in one pass over its bytes: the secrets are indexed by their first
/// four bytes and then by length, so 20,000 keys of a large describe JSON (or keys sharing a prefix) cost a
/// few hash lookups per byte of the message. UTF-8 is self-synchronising, so a byte match of valid UTF-8 is
/// a match of whole characters.
private struct SecretMatcher {
    /// First four bytes → (length, secrets of that length), longest first so a key containing another is
    /// replaced whole.
    private var byPrefix: [UInt32: [(length: Int, secrets: Set<ArraySlice<UInt8>>)]] = [:]

    init(_ secrets: [String]) {
        var grouped: [UInt32: [Int: Set<ArraySlice<UInt8>>]] = [:]
        for secret in secrets {
            let bytes = Array(secret.utf8)
            guard bytes.count >= 4 else { continue }
            grouped[Self.prefix(bytes, at: 0), default: [:]][bytes.count, default: []].insert(bytes[...])
        }
        byPrefix = grouped.mapValues { lengths in lengths.map { ($0.key, $0.value) }.sorted { $0.length > $1.length } }
    }

    private static func prefix(_ bytes: [UInt8], at index: Int) -> UInt32 {
        UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8 | UInt32(bytes[index + 3])
    }

    /// The message with every secret replaced by `<redacted>`, or nil when it contains none.
    func redacting(_ message: String) -> String? {
        let bytes = Array(message.utf8)
        var output: [UInt8] = []
        var index = 0
        var changed = false
        while index < bytes.count {
            if index + 4 <= bytes.count, let lengths = byPrefix[Self.prefix(bytes, at: index)],
               let match = lengths.first(where: { index + $0.length <= bytes.count
                                                  && $0.secrets.contains(bytes[index..<(index + $0.length)]) }) {
                output += Array("<redacted>".utf8)
                index += match.length
                changed = true
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return changed ? String(decoding: output, as: UTF8.self) : nil
    }
}
