import Glibc

/// A small, strict XML reader for the CustomerGatewayConfiguration document.
///
/// Why not Foundation's XMLParser: this one keeps exact line and column of every element and value, refuses
/// DTDs and entity definitions outright (no entity-expansion games), bounds nesting depth and element count,
/// and is fast enough for tens of thousands of connections. It covers what the AWS document uses: elements,
/// attributes, text, the five predefined entities and character references, comments, CDATA, the XML
/// declaration. Anything else is a clear error with a position.
struct XMLNode {
    /// The document this element belongs to; elements are records in it, not separate allocations.
    let document: XMLTree
    let index: Int

    private var record: XMLTree.Element { document.elements[index] }

    var name: String { String(decoding: document.bytes[record.name], as: UTF8.self) }
    var attributes: [String: String] {
        let attributesIndex = record.attributesIndex
        return attributesIndex < 0 ? [:] : document.attributeSets[attributesIndex]
    }
    var children: [XMLNode] {
        var result: [XMLNode] = []
        var child = record.firstChild
        while child >= 0 {
            result.append(XMLNode(document: document, index: child))
            child = document.elements[child].nextSibling
        }
        return result
    }
    /// The text of a leaf element, entities decoded; empty for an element with children.
    var text: String {
        switch record.value {
        case .none: return ""
        case .raw(let range): return String(decoding: document.bytes[range], as: UTF8.self)
        case .decoded(let decodedIndex): return document.decodedValues[decodedIndex]
        }
    }
    /// Position of `<name`.
    var position: SourcePosition { SourcePosition(line: record.line, column: record.column) }
    /// Position of the first character after the start tag, where the element's text begins.
    var textPosition: SourcePosition { SourcePosition(line: record.textLine, column: record.textColumn) }

    func child(_ name: String) -> XMLNode? {
        var child = record.firstChild
        while child >= 0 {
            if document.element(child, isNamed: name) { return XMLNode(document: document, index: child) }
            child = document.elements[child].nextSibling
        }
        return nil
    }
    func children(_ name: String) -> [XMLNode] {
        var result: [XMLNode] = []
        var child = record.firstChild
        while child >= 0 {
            if document.element(child, isNamed: name) { result.append(XMLNode(document: document, index: child)) }
            child = document.elements[child].nextSibling
        }
        return result
    }
    func path(_ names: String...) -> XMLNode? {
        var node: XMLNode? = self
        for name in names { node = node?.child(name) }
        return node
    }
    var trimmedText: String {
        guard case .raw(var range) = record.value else { return String(text.trimmed) }
        // ASCII blanks are cut on bytes; `trimmed` still handles any other whitespace at the ends.
        let bytes = document.bytes
        func isASCIIBlank(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        while !range.isEmpty, isASCIIBlank(bytes[range.lowerBound]) { range = (range.lowerBound + 1)..<range.upperBound }
        while !range.isEmpty, isASCIIBlank(bytes[range.upperBound - 1]) { range = range.lowerBound..<(range.upperBound - 1) }
        let value = String(decoding: bytes[range], as: UTF8.self)
        // Ends that are ASCII (and not blank, as cut above) leave nothing for `trimmed` to do.
        if range.isEmpty || bytes[range.lowerBound] < 0x80 && bytes[range.upperBound - 1] < 0x80 { return value }
        return String(value.trimmed)
    }

    /// The text when it is one run of printable ASCII without blanks (the usual value): it needs no trimming
    /// and starts right at `textPosition`. Nil otherwise.
    var plainText: String? {
        guard case .raw(let range) = record.value, !range.isEmpty,
              document.bytes[range].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return String(decoding: document.bytes[range], as: UTF8.self)
    }
}

/// A parsed document: its bytes and every element as a record in one array (no String or array per element;
/// values become Strings only when they are read).
final class XMLTree {
    enum Value {
        case none
        /// One run of text without entities: the document's bytes are the value.
        case raw(Range<Int>)
        /// Text that needed decoding (entities, or pieces split by comments and CDATA): `decodedValues[i]`.
        case decoded(Int)
    }
    struct Element {
        var name: Range<Int>
        var line: Int
        var column: Int
        var textLine = 0
        var textColumn = 0
        var firstChild = -1
        var nextSibling = -1
        var attributesIndex = -1
        var value = Value.none
    }

    let bytes: [UInt8]
    let elements: [Element]
    let decodedValues: [String]
    let attributeSets: [[String: String]]

    fileprivate init(bytes: [UInt8], elements: [Element], decodedValues: [String], attributeSets: [[String: String]]) {
        self.bytes = bytes
        self.elements = elements
        self.decodedValues = decodedValues
        self.attributeSets = attributeSets
    }

    func element(_ index: Int, isNamed name: String) -> Bool {
        let range = elements[index].name
        var name = name
        return name.withUTF8 { wanted in
            wanted.count == range.count && (range.isEmpty || bytes.withUnsafeBufferPointer { all in
                memcmp(all.baseAddress! + range.lowerBound, wanted.baseAddress!, range.count) == 0
            })
        }
    }
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
    /// What becomes the `XMLTree`, built here in plain values (no class access per element).
    private var document = (elements: [XMLTree.Element](), decodedValues: [String](), attributeSets: [[String: String]]())
    private var offset = 0
    private var line = 1
    private var lineStart = 0
    private var elementCount = 0

    private init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    /// Parses a whole document and returns its root element.
    static func parse(_ text: String) throws(XMLSyntaxError) -> XMLNode {
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBufferPointer { buffer -> Result<XMLNode, XMLSyntaxError> in
            var reader = MiniXML(buffer)
            do throws(XMLSyntaxError) {
                let root = try reader.parseDocument()
                let tree = XMLTree(bytes: bytes, elements: reader.document.elements,
                                   decodedValues: reader.document.decodedValues, attributeSets: reader.document.attributeSets)
                return .success(XMLNode(document: tree, index: root))
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
        while !atEnd {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: advance()
            default: return
            }
        }
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

    private mutating func parseDocument() throws(XMLSyntaxError) -> Int {
        try skipMisc()
        guard !atEnd else { throw fail("no XML element found (empty document)") }
        guard bytes[offset] == UInt8(ascii: "<") else { throw fail("not XML: text before the first element") }
        let root = try element(depth: 1)
        try skipMisc()
        guard atEnd else { throw fail("unexpected content after the root element </\(nameText(root))>") }
        return root
    }

    private func nameText(_ element: Int) -> String {
        String(decoding: bytes[document.elements[element].name], as: UTF8.self)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: ":") || byte >= 0x80
    }

    /// Moves to the next "<" (or the end), counting lines on the way.
    private mutating func skipToMarkup() {
        var index = offset
        var line = self.line
        var lineStart = self.lineStart
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") { break }
            if byte == 0x0A {
                line += 1
                lineStart = index + 1
            }
            index += 1
        }
        offset = index
        self.line = line
        self.lineStart = lineStart
    }

    private mutating func nameRange() throws(XMLSyntaxError) -> Range<Int> {
        let start = offset
        // Name bytes are never line breaks: no line to count.
        let end = min(bytes.count, start + 256)
        while offset < end, MiniXML.isNameByte(bytes[offset]) { offset += 1 }
        guard offset > start else {
            if atEnd { throw fail("truncated XML: the input ends inside a tag") }
            throw fail("expected an element or attribute name")
        }
        return start..<offset
    }

    private mutating func name() throws(XMLSyntaxError) -> String {
        String(decoding: bytes[try nameRange()], as: UTF8.self)
    }

    private func bytesEqual(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && memcmp(bytes.baseAddress! + a.lowerBound, bytes.baseAddress! + b.lowerBound, a.count) == 0
    }

    /// Parses one element and its subtree into `document`; returns its index there.
    private mutating func element(depth: Int) throws(XMLSyntaxError) -> Int {
        let start = position
        guard depth <= MiniXML.maxDepth else { throw fail("elements nested deeper than \(MiniXML.maxDepth) levels") }
        elementCount += 1
        guard elementCount <= MiniXML.maxElements else { throw fail("more than \(MiniXML.maxElements) elements") }
        advance()  // "<"
        let tagRange = try nameRange()
        let tagName = { [bytes] in String(decoding: bytes[tagRange], as: UTF8.self) }
        let index = document.elements.count
        document.elements.append(XMLTree.Element(name: tagRange, line: start.line, column: start.column))
        var attributes: [String: String] = [:]
        func setTextPosition(_ at: SourcePosition) {
            document.elements[index].textLine = at.line
            document.elements[index].textColumn = at.column
            if !attributes.isEmpty {
                document.elements[index].attributesIndex = document.attributeSets.count
                document.attributeSets.append(attributes)
            }
        }
        while true {
            skipWhitespace()
            guard !atEnd else { throw fail("truncated XML: the input ends inside <\(tagName())>", at: start) }
            if peek("/>") {
                skip("/>")
                setTextPosition(position)
                return index
            }
            if bytes[offset] == UInt8(ascii: ">") {
                advance()
                break
            }
            let attribute = try name()
            skipWhitespace()
            guard !atEnd, bytes[offset] == UInt8(ascii: "=") else {
                throw fail(atEnd ? "truncated XML: the input ends inside <\(tagName())>" : "expected '=' after \(attribute)")
            }
            advance()
            skipWhitespace()
            guard !atEnd, bytes[offset] == UInt8(ascii: "\"") || bytes[offset] == UInt8(ascii: "'") else {
                throw fail(atEnd ? "truncated XML: the input ends inside <\(tagName())>"
                                 : "expected a quoted value for \(attribute)")
            }
            let quote = bytes[offset]
            advance()
            let valueStart = offset
            while !atEnd, bytes[offset] != quote { advance() }
            guard !atEnd else { throw fail("truncated XML: the input ends inside <\(tagName())>", at: start) }
            attributes[attribute] = try decodeEntities(bytes[valueStart..<offset])
            advance()
        }
        setTextPosition(position)

        // A leaf's value is almost always one run of bytes: keep its range, and copy only when a comment or
        // CDATA section splits it into pieces.
        var textRun: Range<Int>?
        var pieces: [UInt8]?
        var lastChild = -1
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
                throw fail("truncated XML: the input ends inside <\(tagName())> opened at line \(start.line)")
            }
            if bytes[offset] != UInt8(ascii: "<") {
                let runStart = offset
                skipToMarkup()
                if lastChild < 0 { addText(runStart..<offset) }
                continue
            }
            // What follows "<" decides: a closing tag, other markup, or a child element.
            let next = offset + 1 < bytes.count ? bytes[offset + 1] : 0
            if next == UInt8(ascii: "/") {
                let closing = position
                skip("</")
                let closingRange = try nameRange()
                let closingName = { [bytes] in String(decoding: bytes[closingRange], as: UTF8.self) }
                skipWhitespace()
                guard !atEnd else { throw fail("truncated XML: the input ends inside </\(closingName())>", at: closing) }
                guard bytes[offset] == UInt8(ascii: ">") else { throw fail("expected '>' to close </\(closingName())>") }
                advance()
                guard bytesEqual(closingRange, tagRange) else {
                    throw fail("</\(closingName())> does not close <\(tagName())> opened at line \(start.line)", at: closing)
                }
                // Only leaves carry values; the whitespace between child elements is not worth a String.
                if lastChild < 0 {
                    if let pieces {
                        document.elements[index].value = .decoded(document.decodedValues.count)
                        document.decodedValues.append(try decodeEntities(pieces))
                    } else if let textRun {
                        if bytes[textRun].contains(UInt8(ascii: "&")) {
                            document.elements[index].value = .decoded(document.decodedValues.count)
                            document.decodedValues.append(try decodeEntities(bytes[textRun]))
                        } else {
                            document.elements[index].value = .raw(textRun)
                        }
                    }
                }
                return index
            } else if next == UInt8(ascii: "!") || next == UInt8(ascii: "?") {
                if peek("<!--") {
                    try skipPast("-->", what: "the comment")
                } else if peek("<![CDATA[") {
                    skip("<![CDATA[")
                    let cdataStart = offset
                    try skipPast("]]>", what: "the CDATA section")
                    addText(cdataStart..<(offset - 3))
                } else {
                    throw fail("unexpected markup inside <\(tagName())>")
                }
            } else {
                let child = try element(depth: depth + 1)
                if lastChild < 0 {
                    document.elements[index].firstChild = child
                } else {
                    document.elements[lastChild].nextSibling = child
                }
                lastChild = child
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
