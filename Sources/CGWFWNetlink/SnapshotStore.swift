import CGWFWModel
import CGWFWNftables
import Foundation
import Glibc

/// The last apply's snapshot of cgwfw's objects, under /run/cgwfw (tmpfs: gone at reboot). The engine
/// trusts it only while the kernel's generation and network namespace are unchanged; the boot id guards
/// against a restored /run. Format: boot id, `cookie generation`, the state without set elements as JSON
/// (sorted keys), then per set a count line and `hexkey[<TAB>comment]` lines (JSON for 20,000 elements costs
/// ~20 ms each way; comments never hold tabs or newlines, the nft string cleaning replaces them).
public enum SnapshotStore {
    /// The state without set elements that an intent lowers to, with its JSON as the file stores it. While
    /// the file holds the same JSON, decoding it would give this state back, so it is not decoded (~4 ms).
    struct Skeleton {
        var state: DesiredState
        var json: [UInt8]

        init?(intent: RuleIntent, target: ApplyTarget) {
            var bare = intent
            for index in bare.sets.indices { bare.sets[index].elements = [] }
            state = Lowering.desiredState(intent: bare, target: target)
            guard let json = try? SnapshotStore.encoder.encode(state) else { return nil }
            self.json = Array(json)
        }
    }

    private static func name(_ table: TableRef) -> String { "snapshot-\(table.family.rawValue)-\(table.name)" }
    private static var bootID: String { CommitConfirmStore.bootID }
    private static let encoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// The file's parts, when it was written in this boot and network namespace.
    struct File {
        var bytes: [UInt8]
        var netnsCookie: UInt64
        var generation: UInt32
        /// The skeleton JSON line, without its newline.
        var json: Range<Int>
        /// The element lines (`ElementLines`) after it.
        var elements: Range<Int>

        /// - Parameter namespace: the network namespace cookie of this run; a snapshot of another namespace
        ///   is of no use to the engine.
        init?(_ table: TableRef, namespace: UInt64?) {
            guard !bootID.isEmpty, let bytes = (try? StateDirectory.runtime.read(name(table))) ?? nil else { return nil }
            var position = 0
            /// The next line as a range of `bytes`.
            func next() -> Range<Int>? {
                guard position < bytes.count else { return nil }
                let start = position
                while position < bytes.count && bytes[position] != 10 { position += 1 }
                defer { position += 1 }
                return start..<position
            }
            func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
            guard let boot = next(), text(boot) == bootID, let header = next() else { return nil }
            let fields = text(header).split(separator: " ")
            guard fields.count == 2, let cookie = UInt64(fields[0]), cookie == namespace,
                  let generation = UInt32(fields[1]), let json = next() else { return nil }
            self.bytes = bytes
            netnsCookie = cookie
            self.generation = generation
            self.json = json
            elements = min(position, bytes.count)..<bytes.count
        }
    }

    static func load(_ table: TableRef, expected: Skeleton?, namespace: UInt64?) -> OwnedSnapshot? {
        guard let file = File(table, namespace: namespace) else { return nil }
        return file.bytes.withUnsafeBufferPointer { bytes -> OwnedSnapshot? in
            var position = file.elements.lowerBound
            /// The next line as a range of `bytes`.
            func next() -> Range<Int>? {
                guard position < bytes.count else { return nil }
                let start = position
                while position < bytes.count && bytes[position] != 10 { position += 1 }
                defer { position += 1 }
                return start..<position
            }
            func text(_ range: Range<Int>) -> String { String(decoding: bytes[range], as: UTF8.self) }
            var state: DesiredState
            if let expected, bytes[file.json].elementsEqual(expected.json) {
                state = expected.state
            } else {
                guard let decoded = try? JSONDecoder().decode(DesiredState.self, from: Data(bytes[file.json])) else { return nil }
                state = decoded
            }
            func nibble(_ c: UInt8) -> UInt8 { c >= 97 ? c &- 87 : c &- 48 }
            for index in state.sets.indices {
                guard let countLine = next(), let count = Int(text(countLine)) else { return nil }
                var elements: [SetSpec.Element] = []
                elements.reserveCapacity(count)
                for _ in 0..<count {
                    guard let line = next() else { return nil }
                    var end = line.lowerBound
                    while end < line.upperBound && bytes[end] != 9 { end += 1 }
                    let key = [UInt8](unsafeUninitializedCapacity: (end - line.lowerBound) / 2) { key, length in
                        var i = line.lowerBound
                        while i + 1 < end {
                            key[length] = nibble(bytes[i]) << 4 | nibble(bytes[i + 1])
                            length += 1
                            i += 2
                        }
                    }
                    let comment = end < line.upperBound ? text((end + 1)..<line.upperBound) : nil
                    elements.append(SetSpec.Element(key: key, comment: comment))
                }
                state.sets[index].elements = elements
            }
            return OwnedSnapshot(netnsCookie: file.netnsCookie, generation: file.generation, state: state)
        }
    }

    static func save(_ snapshot: OwnedSnapshot?, _ table: TableRef, known: Skeleton?) {
        var skeleton = snapshot?.state
        for index in (skeleton?.sets.indices ?? [].indices) { skeleton?.sets[index].elements = [] }
        let json: [UInt8]? = if let known, let skeleton, known.state == skeleton { known.json }
            else { skeleton.flatMap { try? encoder.encode($0) }.map(Array.init) }
        guard let snapshot, let json else {
            StateDirectory.runtime.remove(name(table))
            return
        }
        write(table, netnsCookie: snapshot.netnsCookie, generation: snapshot.generation, json: json,
              elements: ElementLines.encode(snapshot.state.sets))
    }

    /// Writes the file (atomically: a temporary file renamed over it, in the runtime state directory).
    static func write(_ table: TableRef, netnsCookie: UInt64, generation: UInt32, json: [UInt8], elements: [UInt8]) {
        guard !bootID.isEmpty else {
            StateDirectory.runtime.remove(name(table))
            return
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(json.count + elements.count + 64)
        bytes += "\(bootID)\n\(netnsCookie) \(generation)\n".utf8
        bytes += json
        bytes.append(10)
        bytes += elements
        // A snapshot that cannot be written only costs the next apply its fast path.
        if (try? StateDirectory.runtime.write(name(table), bytes)) == nil { StateDirectory.runtime.remove(name(table)) }
    }
}

/// apply (or with `dryRun`, diff) with the snapshot of the last run; saves the new one.
public func applyWithSnapshot(_ engine: Engine, intent: RuleIntent, target: ApplyTarget, dryRun: Bool) throws(NetlinkError) -> ApplyOutcome {
    let table = target.table(for: intent)
    var start = Date()
    // The element-line path needs no diff text and the file of this namespace (standalone mode only).
    let file = engine.renderText || target.attach != nil
        ? nil : SnapshotStore.File(table, namespace: engine.networkNamespaceCookie())
    let reading = Date().timeIntervalSince(start)
    start = Date()
    let skeleton = SnapshotStore.Skeleton(intent: intent, target: target)
    let skeletonTime = Date().timeIntervalSince(start)
    start = Date()
    // Only while the file's rules, chains and set definitions are the intent's.
    let sameSkeleton = file.flatMap { file in skeleton.map { file.bytes[file.json].elementsEqual($0.json) } } ?? false
    let lines = sameSkeleton ? ElementLines.encode(intent) : nil
    let encoding = Date().timeIntervalSince(start)
    if let file, let skeleton, let lines,
       let outcome = try applyElementChanges(engine, intent: intent, target: target, file: file, skeleton: skeleton,
                                             lines: lines, dryRun: dryRun) {
        engine.recordTiming("snapshot-read", seconds: reading)
        engine.recordTiming("snapshot-skeleton", seconds: skeletonTime)
        engine.recordTiming("element-lines", seconds: encoding)
        return outcome
    }
    start = Date()
    let snapshot = SnapshotStore.load(table, expected: skeleton, namespace: engine.networkNamespaceCookie())
    let loading = Date().timeIntervalSince(start)
    let outcome = try engine.apply(intent: intent, target: target, dryRun: dryRun, snapshot: snapshot)
    engine.recordTiming("snapshot-skeleton", seconds: skeletonTime)
    if lines != nil { engine.recordTiming("element-lines", seconds: encoding) }
    engine.recordTiming("snapshot-load", seconds: reading + loading)
    if !dryRun {
        start = Date()
        SnapshotStore.save(outcome.snapshot, table, known: skeleton)
        engine.recordTiming("snapshot-save", seconds: Date().timeIntervalSince(start))
    }
    return outcome
}

/// The fast path when the snapshot's skeleton is the intent's (only peers may differ): compares the intent's
/// element `lines` with the file's and commits only the differing elements. Nil when it does not apply (then
/// nothing was written).
private func applyElementChanges(_ engine: Engine, intent: RuleIntent, target: ApplyTarget, file: SnapshotStore.File,
                                 skeleton: SnapshotStore.Skeleton, lines: [UInt8], dryRun: Bool) throws(NetlinkError) -> ApplyOutcome? {
    var start = Date()
    let changes = file.bytes.withUnsafeBufferPointer { old in
        lines.withUnsafeBufferPointer { new in
            ElementLines.changes(from: UnsafeBufferPointer(rebasing: old[file.elements]), to: new, sets: skeleton.state.sets)
        }
    }
    let comparing = Date().timeIntervalSince(start)
    guard let changes else { return nil }
    let known = OwnedSnapshot(netnsCookie: file.netnsCookie, generation: file.generation, state: skeleton.state)
    guard let outcome = try engine.applyElementChanges(intent: intent, target: target, known: known,
                                                       changes: changes, dryRun: dryRun) else { return nil }
    engine.recordTiming("element-diff", seconds: comparing)
    if !dryRun && outcome.report.changed {
        start = Date()
        SnapshotStore.write(target.table(for: intent), netnsCookie: file.netnsCookie, generation: outcome.generation,
                            json: skeleton.json, elements: lines)
        engine.recordTiming("snapshot-save", seconds: Date().timeIntervalSince(start))
    }
    return outcome
}
