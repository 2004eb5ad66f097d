import CGWFWCompiler
import CGWFWModel
import CGWFWNftables
import Glibc

/// Set elements in the snapshot file's line format: per set a count line, then one `hexkey[<TAB>comment]`
/// line per element, in the order cgwfw writes them. An intent is written straight into one contiguous
/// buffer, so an apply that changes few peers compares bytes instead of lowering 20,000 elements (two heap
/// allocations each) and materialises only the elements whose lines differ.
public enum ElementLines {
    /// What changes in one set, in the intent's set order.
    public struct SetChange: Sendable {
        public var gone: [SetSpec.Element]
        public var added: [SetSpec.Element]
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// The lines of the elements `Lowering.desiredState(intent:target:)` gives, without building them.
    public static func encode(_ intent: RuleIntent) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(intent.sets.reduce(0) { $0 + 16 + $1.elements.count * 80 })
        for set in intent.sets {
            appendDecimal(set.elements.count, to: &out)
            out.append(10)
            appendElements(set, comments: intent.comments, to: &out)
        }
        return out
    }

    private static func appendElements(_ set: PeerSet, comments: Bool, to out: inout [UInt8]) {
        let pairs = set.kind == .pairs
        set.elements.withUnsafeBufferPointer { elements in
            for index in elements.indices {
                appendHex(elements[index].local, to: &out)
                if pairs, let remote = elements[index].remote { appendHex(remote, to: &out) }
                if comments {
                    out.append(9)
                    appendComment(elements[index], to: &out)
                }
                out.append(10)
            }
        }
    }

    /// The lines of lowered sets (what the snapshot of a full apply holds).
    public static func encode(_ sets: [SetSpec]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(sets.reduce(0) { $0 + 16 + $1.elements.count * 80 })
        for set in sets {
            appendDecimal(set.elements.count, to: &out)
            out.append(10)
            for element in set.elements {
                for byte in element.key { out.append(hexDigits[Int(byte >> 4)]); out.append(hexDigits[Int(byte & 15)]) }
                if let comment = element.comment {
                    out.append(9)
                    out += comment.utf8
                }
                out.append(10)
            }
        }
        return out
    }

    /// The element changes from `old` lines to `new` lines of `sets` (same sets, same order), or nil when
    /// the lines do not have the expected shape or are not strictly sorted by key (then the caller takes
    /// the general path, which handles any order).
    public static func changes(from old: UnsafeBufferPointer<UInt8>, to new: UnsafeBufferPointer<UInt8>,
                               sets: [SetSpec]) -> [SetChange]? {
        var result: [SetChange] = []
        result.reserveCapacity(sets.count)
        var oldReader = LineReader(bytes: old), newReader = LineReader(bytes: new)
        for _ in sets {
            guard let oldCount = oldReader.count(), let newCount = newReader.count() else { return nil }
            var change = SetChange(gone: [], added: [])
            var i = 0, j = 0
            var oldLine = oldCount > 0 ? oldReader.next() : nil, newLine = newCount > 0 ? newReader.next() : nil
            var previousOldKey: Range<Int>?, previousNewKey: Range<Int>?
            while i < oldCount || j < newCount {
                if i < oldCount && oldLine == nil || j < newCount && newLine == nil { return nil }
                if let a = oldLine, let b = newLine, a.count == b.count,
                   memcmp(old.baseAddress! + a.lowerBound, new.baseAddress! + b.lowerBound, a.count) == 0 {
                    // The common case: the same element.
                    let oldKey = keyRange(a, in: old), newKey = keyRange(b, in: new)
                    if let previous = previousOldKey, compare(old, previous, old, oldKey) >= 0 { return nil }
                    if let previous = previousNewKey, compare(new, previous, new, newKey) >= 0 { return nil }
                    previousOldKey = oldKey
                    previousNewKey = newKey
                    i += 1; j += 1
                    oldLine = i < oldCount ? oldReader.next() : nil
                    newLine = j < newCount ? newReader.next() : nil
                    continue
                }
                let oldKey = oldLine.map { keyRange($0, in: old) }, newKey = newLine.map { keyRange($0, in: new) }
                if let oldKey, let previous = previousOldKey, compare(old, previous, old, oldKey) >= 0 { return nil }
                if let newKey, let previous = previousNewKey, compare(new, previous, new, newKey) >= 0 { return nil }
                let order = newKey == nil ? -1 : oldKey == nil ? 1 : compare(old, oldKey!, new, newKey!)
                if order <= 0 {
                    change.gone.append(element(oldLine!, in: old))
                    previousOldKey = oldKey
                    i += 1
                    oldLine = i < oldCount ? oldReader.next() : nil
                }
                if order >= 0 {
                    change.added.append(element(newLine!, in: new))
                    previousNewKey = newKey
                    j += 1
                    newLine = j < newCount ? newReader.next() : nil
                }
            }
            result.append(change)
        }
        guard oldReader.atEnd, newReader.atEnd else { return nil }
        return result
    }

    // MARK: - Writing

    private static let tunnelWord = Array(" tunnel ".utf8)

    private static func appendDecimal(_ value: Int, to out: inout [UInt8]) {
        if (0..<10).contains(value) {
            out.append(48 + UInt8(value))
        } else {
            out += String(value).utf8
        }
    }

    private static func appendHex(_ address: IPAddress, to out: inout [UInt8]) {
        func byte(_ value: UInt8) {
            out.append(hexDigits[Int(value >> 4)])
            out.append(hexDigits[Int(value & 15)])
        }
        switch address {
        case let .v4(value):
            for index in 0..<4 { byte(UInt8(truncatingIfNeeded: value >> UInt32(24 - 8 * index))) }
        case let .v6(high, low):
            for index in 0..<8 { byte(UInt8(truncatingIfNeeded: high >> UInt64(56 - 8 * index))) }
            for index in 0..<8 { byte(UInt8(truncatingIfNeeded: low >> UInt64(56 - 8 * index))) }
        }
    }

    /// The element comment exactly as `Lowering` stores it (`Lowering.elementComment`), written without building a String.
    private static func appendComment(_ element: PeerSet.Element, to out: inout [UInt8]) {
        guard element.origins.count == 1 else {
            out += Lowering.elementComment(element).utf8
            return
        }
        let start = out.count
        // The usual name is plain ASCII, already what nftString returns: copied as it is.
        let plain = element.origins[0].connection.utf8.withContiguousStorageIfAvailable { name -> Bool in
            out.append(contentsOf: name)
            return name.allSatisfy { $0 >= 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        } ?? false
        out += tunnelWord
        appendDecimal(element.origins[0].tunnel, to: &out)
        if !plain || out.count - start > NftString.commentLimit {
            out.removeSubrange(start...)
            out += Lowering.elementComment(element).utf8
        }
    }

    // MARK: - Reading

    private struct LineReader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        var atEnd: Bool { position >= bytes.count }

        mutating func next() -> Range<Int>? {
            guard position < bytes.count else { return nil }
            let start = position
            if let end = memchr(bytes.baseAddress! + start, 10, bytes.count - start) {
                position = bytes.baseAddress!.distance(to: end.assumingMemoryBound(to: UInt8.self))
            } else {
                position = bytes.count
            }
            defer { position += 1 }
            return start..<position
        }

        mutating func count() -> Int? {
            guard let line = next() else { return nil }
            return Int(String(decoding: bytes[line], as: UTF8.self))
        }
    }

    private static func keyRange(_ line: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var end = line.lowerBound
        while end < line.upperBound && bytes[end] != 9 { end += 1 }
        return line.lowerBound..<end
    }

    /// Hex keys compare as their bytes do (`Planner.compareKeys`): digits sort below `a`–`f` in ASCII.
    private static func compare(_ x: UnsafeBufferPointer<UInt8>, _ a: Range<Int>,
                                _ y: UnsafeBufferPointer<UInt8>, _ b: Range<Int>) -> Int {
        let common = min(a.count, b.count)
        if common > 0 {
            let result = memcmp(x.baseAddress! + a.lowerBound, y.baseAddress! + b.lowerBound, common)
            if result != 0 { return Int(result) }
        }
        return a.count - b.count
    }

    private static func element(_ line: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> SetSpec.Element {
        let key = keyRange(line, in: bytes)
        func nibble(_ c: UInt8) -> UInt8 { c >= 97 ? c &- 87 : c &- 48 }
        var keyBytes: [UInt8] = []
        keyBytes.reserveCapacity(key.count / 2)
        var index = key.lowerBound
        while index + 1 < key.upperBound {
            keyBytes.append(nibble(bytes[index]) << 4 | nibble(bytes[index + 1]))
            index += 2
        }
        let comment = key.upperBound < line.upperBound
            ? String(decoding: bytes[(key.upperBound + 1)..<line.upperBound], as: UTF8.self) : nil
        return SetSpec.Element(key: keyBytes, comment: comment)
    }
}
