import CGWFWModel
import CGWFWNftables
import Foundation

/// Reads `diff --against FILE`: a saved `cgwfw show --json` (its `state`), or a saved `nft -j list ruleset`,
/// which nft itself loads into a throwaway user and network namespace where `cgwfw show --json` reads it
/// back with the same reader as on the gateway. Unreadable exits 66, not a saved state 65.
public enum SavedStateFile {
    /// Why the file gave no state: the message (naming the file) and the exit status it calls for.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public let exitCode: SysExit
    }

    public struct Loaded: Sendable {
        public var state: SavedState
        /// What the reader assumed on the way, for standard error.
        public var notes: [String]
    }

    /// `cgwfw` is the binary that runs `show --json` inside the namespace (for an `nft -j` file).
    public static func load(_ path: String, table: TableRef, mode: OwnershipMode, cgwfw: String) throws(Failure) -> Loaded {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "\(path): cannot read the saved state", exitCode: .noInput)
        }
        struct Probe: Decodable {
            var state: SavedState?
            var nftables: [AnyJSON]?
        }
        struct AnyJSON: Decodable { init(from decoder: Decoder) throws {} }
        let probe: Probe
        do {
            probe = try JSONDecoder().decode(Probe.self, from: data)
        } catch {
            throw Failure(description: "\(path): not a saved `cgwfw show --json` nor `nft -j list ruleset`: \(error.localizedDescription)",
                          exitCode: .dataError)
        }
        if let state = probe.state { return Loaded(state: state, notes: []) }
        guard probe.nftables != nil else {
            throw Failure(description: "\(path): JSON without `state` (cgwfw show --json) or `nftables` (nft -j list ruleset)",
                          exitCode: .dataError)
        }
        var loaded = Loaded(state: try loadThroughNamespace(path, table: table, mode: mode, cgwfw: cgwfw), notes: [])
        if restoreMarkersNftJSONDrops(&loaded.state, json: data) {
            loaded.notes.append("\(path): nft -j writes no table or chain comments; cgwfw's ownership marker is taken from its sets")
        }
        return loaded
    }

    /// nft 1.0.6 writes no `comment` for tables and chains in `nft -j list ruleset`, and drops the comment of
    /// sets when it loads such a file, so cgwfw's ownership marker would be lost on the way. The sets' markers
    /// are taken from the file; when it has no table or chain comment at all and every owned set is marked
    /// there, the table and chains are taken as cgwfw's too (true: a note for standard error). Anything else stays
    /// unmarked, and apply's ownership check refuses it as it would on the gateway.
    private static func restoreMarkersNftJSONDrops(_ state: inout SavedState, json: Data) -> Bool {
        guard let top = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
              let objects = top["nftables"] as? [[String: Any]] else { return false }
        let markedSets = Set(objects.compactMap { object -> String? in
            guard let set = object["set"] as? [String: Any], set["table"] as? String == state.table.name,
                  set["family"] as? String == state.table.family.rawValue, Ownership.isMarked(set["comment"] as? String) else { return nil }
            return set["name"] as? String
        })
        for index in state.sets.indices where markedSets.contains(state.sets[index].name) {
            state.sets[index].comment = Ownership.marker
        }
        let commentsWritten = objects.contains { object in
            ["table", "chain"].contains { (object[$0] as? [String: Any])?["comment"] != nil }
        }
        guard !commentsWritten, !state.sets.isEmpty, state.sets.allSatisfy({ Ownership.isMarked($0.comment) }) else { return false }
        if !state.mode.isAttach && state.tableExists { state.tableComment = Ownership.marker }
        for index in state.chains.indices where state.chains[index].comment == nil { state.chains[index].comment = Ownership.marker }
        return true
    }

    private static func loadThroughNamespace(_ path: String, table: TableRef, mode: OwnershipMode,
                                             cgwfw: String) throws(Failure) -> SavedState {
        var show = [cgwfw, "show", "--json"]
        if case let .attach(prefix) = mode {
            show += ["--attach", table.description, "--table", String(prefix.dropLast())]
        } else {
            show += ["--table", table.name]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        // Foundation's Process changes into the current directory first, which an unprivileged user may not
        // be allowed to enter (a checkout in a 0700 directory); the child needs no particular directory.
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        // nft reads the file inside the namespace; the owned objects come back as `show --json` prints them.
        process.arguments = ["--user", "--map-root-user", "--net", "--", "/bin/sh", "-c",
                             "nft -j -f \"$1\" && shift && exec \"$@\"", "sh", path] + show
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        do { try process.run() } catch {
            throw Failure(description: "\(path): cannot run unshare to load an nft -j ruleset (\(error)); save `cgwfw show --json` instead",
                          exitCode: .osError)
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(path): nft could not load it in a throwaway namespace (save `cgwfw show --json` instead): "
                              + String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines),
                          exitCode: .dataError)
        }
        struct Shown: Decodable { var state: SavedState }
        do {
            return try JSONDecoder().decode(Shown.self, from: out).state
        } catch {
            throw Failure(description: "\(path): reading the loaded ruleset back failed: \(error)", exitCode: .software)
        }
    }
}
