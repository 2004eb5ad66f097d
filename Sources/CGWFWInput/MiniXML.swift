/// A small, strict XML reader for the CustomerGatewayConfiguration document.
///
/// Why not Foundation's XMLParser: this one keeps exact line and column of every element and value, refuses
/// DTDs and entity definitions outright (no entity-expansion games), bounds nesting depth and element count,
/// and is fast enough for tens of thousands of connections. It covers what the AWS document uses: elements,
/// attributes, text, the five predefined entities and character references, comments, CDATA, the XML
/// declaration. Anything else is a clear error with a position.
struct XMLNode {
    var name: String
    var attributes: [String: String]
    var children: [XMLNode] = []
    var text: String = ""
    /// Position of `<name`.
    var position: SourcePosition
    /// Position of the first character after the start tag, where the element's text begins.
    var textPosition: SourcePosition

    func child(_ name: String) -> XMLNode? { children.first { $0.name == name } }
    func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
    func path(_ names: String...) -> XMLNode? {
        var node: XMLNode? = self
        for name in names { node = node?.child(name) }
        return node
    }
    var trimmedText: String { String(text.trimmed) }
}

struct XMLSyntaxError: Error {
    var message: String
    var position: SourcePosition
}

struct MiniXML {
    static let maxDepth = 32
    static let maxElements = 200_000

    /// The document's UTF-8, borrowed for the duration of `parse` (no copy, no bounds checks in release).
    private let bytes: UnsafeBufferPointer<UInt8>
    private var offset = 0
    private var line = 1
    private var lineStart = 0
    private var elementCount = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses a whole document and returns its root element.
    static func parse(_ text: String) throws(XMLSyntaxError) -> XMLNode {
        var text = text
        let result = text.withUTF8 { buffer -> Result<XMLNode, XMLSyntaxError> in
            var reader = MiniXML(buffer)
            do throws(XMLSyntaxError) {
                return .success(try reader.document())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private var position: SourcePosition { SourcePosition(line: line, column: offset - lineStart + 1) }
    private var atEnd: Bool { offset >= bytes.count }

    private func fail(_ message: String, at position: SourcePosition? = nil) -> XMLSyntaxError {
        XMLSyntaxError(message: message, position: position ?? self.position)
    }

    private mutating func advance() {
        if bytes[offset] == 0x0A {
            line += 1
            lineStart = offset + 1
        }
        offset += 1
    }

    private func peek(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard offset + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { bytes[offset..<offset + count].elementsEqual($0) }
    }

    private mutating func skip(_ literal: StaticString) {
        for _ in 0..<literal.utf8CodeUnitCount { advance() }
    }

    /// Moves past `terminator`; fails with `what` at the start when the input ends first.
    private mutating func skipPast(_ terminator: StaticString, what: String) throws(XMLSyntaxError) {
        let start = position
        while !atEnd {
            if peek(terminator) {
                skip(terminator)
                return
            }
            advance()
        }
        throw fail("truncated XML: \(what) is never closed", at: start)
    }

    private mutating func skipWhitespace() {
        while !atEnd, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[offset]) { advance() }
    }

    /// Skips the prolog or epilog items: whitespace, comments, processing instructions.
    private mutating func skipMisc() throws(XMLSyntaxError) {
        while true {
            skipWhitespace()
            if peek("<?") {
                try skipPast("?>", what: "the processing instruction")
            } else if peek("<!--") {
                try skipPast("-->", what: "the comment")
            } else if peek("<!") {
                throw fail("DTDs and entity declarations are not accepted in a VPN configuration")
            } else {
                return
            }
        }
    }

    private mutating func document() throws(XMLSyntaxError) -> XMLNode {
        try skipMisc()
        guard !atEnd else { throw fail("no XML element found (empty document)") }
        guard bytes[offset] == UInt8(ascii: "<") else { throw fail("not XML: text before the first element") }
        let root = try element(depth: 1)
        try skipMisc()
        guard atEnd else { throw fail("unexpected content after the root element </\(root.name)>") }
        return root
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: ":") || byte >= 0x80
    }

    private mutating func nameRange() throws(XMLSyntaxError) -> Range<Int> {
        let start = offset
        while !atEnd, MiniXML.isNameByte(bytes[offset]), offset - start < 256 { advance() }
        guard offset > start else {
            if atEnd { throw fail("truncated XML: the input ends inside a tag") }
            throw fail("expected an element or attribute name")
        }
        return start..<offset
    }

    private mutating func name() throws(XMLSyntaxError) -> String {
        String(decoding: bytes[try nameRange()], as: UTF8.self)
    }

    private mutating func element(depth: Int) throws(XMLSyntaxError) -> XMLNode {
        let start = position
        guard depth <= MiniXML.maxDepth else { throw fail("elements nested deeper than \(MiniXML.maxDepth) levels") }
        elementCount += 1
        guard elementCount <= MiniXML.maxElements else { throw fail("more than \(MiniXML.maxElements) elements") }
        advance()  // "<"
        let tagName = try name()
        var attributes: [String: String] = [:]
        while true {
            skipWhitespace()
            guard !atEnd else { throw fail("truncated XML: the input ends inside <\(tagName)>", at: start) }
            if peek("/>") {
                skip("/>")
                return XMLNode(name: tagName, attributes: attributes, position: start, textPosition: position)
            }
            if bytes[offset] == UInt8(ascii: ">") {
                advance()
                break
            }
            let attribute = try name()
            skipWhitespace()
            guard !atEnd, bytes[offset] == UInt8(ascii: "=") else {
                throw fail(atEnd ? "truncated XML: the input ends inside <\(tagName)>" : "expected '=' after \(attribute)")
            }
            advance()
            skipWhitespace()
            guard !atEnd, bytes[offset] == UInt8(ascii: "\"") || bytes[offset] == UInt8(ascii: "'") else {
                throw fail(atEnd ? "truncated XML: the input ends inside <\(tagName)>"
                                 : "expected a quoted value for \(attribute)")
            }
            let quote = bytes[offset]
            advance()
            let valueStart = offset
            while !atEnd, bytes[offset] != quote { advance() }
            guard !atEnd else { throw fail("truncated XML: the input ends inside <\(tagName)>", at: start) }
            attributes[attribute] = try decodeEntities(bytes[valueStart..<offset])
            advance()
        }

        var node = XMLNode(name: tagName, attributes: attributes, position: start, textPosition: position)
        // A leaf's value is almost always one run of bytes: keep its range, and copy only when a comment or
        // CDATA section splits it into pieces.
        var textRun: Range<Int>?
        var pieces: [UInt8]?
        func addText(_ run: Range<Int>) {
            if var joined = pieces {
                joined.append(contentsOf: bytes[run])
                pieces = joined
            } else if let first = textRun {
                pieces = Array(bytes[first]) + Array(bytes[run])
            } else {
                textRun = run
            }
        }
        while true {
            guard !atEnd else {
                throw fail("truncated XML: the input ends inside <\(tagName)> opened at line \(start.line)")
            }
            if bytes[offset] != UInt8(ascii: "<") {
                let runStart = offset
                while !atEnd, bytes[offset] != UInt8(ascii: "<") { advance() }
                if node.children.isEmpty { addText(runStart..<offset) }
            } else if peek("</") {
                let closing = position
                skip("</")
                let closingRange = try nameRange()
                let document = bytes
                let closingName = { String(decoding: document[closingRange], as: UTF8.self) }
                skipWhitespace()
                guard !atEnd else { throw fail("truncated XML: the input ends inside </\(closingName())>", at: closing) }
                guard bytes[offset] == UInt8(ascii: ">") else { throw fail("expected '>' to close </\(closingName())>") }
                advance()
                guard bytes[closingRange].elementsEqual(tagName.utf8) else {
                    throw fail("</\(closingName())> does not close <\(tagName)> opened at line \(start.line)", at: closing)
                }
                // Only leaves carry values; the whitespace between child elements is not worth a String.
                if node.children.isEmpty {
                    if let pieces {
                        node.text = try decodeEntities(pieces)
                    } else if let textRun {
                        node.text = try decodeEntities(bytes[textRun])
                    }
                }
                return node
            } else if peek("<!--") {
                try skipPast("-->", what: "the comment")
            } else if peek("<![CDATA[") {
                skip("<![CDATA[")
                let cdataStart = offset
                try skipPast("]]>", what: "the CDATA section")
                addText(cdataStart..<(offset - 3))
            } else if peek("<!") || peek("<?") {
                throw fail("unexpected markup inside <\(tagName)>")
            } else {
                node.children.append(try element(depth: depth + 1))
                textRun = nil
                pieces = nil
            }
        }
    }

    private func decodeEntities(_ raw: some Collection<UInt8>) throws(XMLSyntaxError) -> String {
        let string = String(decoding: raw, as: UTF8.self)
        guard raw.contains(UInt8(ascii: "&")) else { return string }
        var out = ""
        var rest = Substring(string)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semicolon = rest[amp...].prefix(12).firstIndex(of: ";") else {
                throw fail("an '&' that starts no entity")
            }
            let entity = rest[rest.index(after: amp)..<semicolon]
            switch entity {
            case "lt": out += "<"
            case "gt": out += ">"
            case "amp": out += "&"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                let scalar: Unicode.Scalar?
                if entity.hasPrefix("#x") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init)
                } else {
                    scalar = nil
                }
                guard let scalar else { throw fail("unknown entity &\(entity);") }
                out.unicodeScalars.append(scalar)
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return out + rest
    }
}
