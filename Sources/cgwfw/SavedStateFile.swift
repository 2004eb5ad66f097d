import CGWFWModel
import CGWFWNetlink
import CGWFWNftables
import Foundation

/// Reads `diff --against FILE`: a saved `cgwfw show --json` (its `state`), or a saved `nft -j list ruleset`,
/// which nft itself loads into a throwaway user and network namespace where `cgwfw show --json` reads it
/// back with the same reader as on the gateway. Unreadable exits 66, not a saved state 65.
func loadSavedState(_ path: String, table: TableRef, mode: OwnershipMode) throws -> SavedState {
    guard let data = FileManager.default.contents(atPath: path) else {
        printError("cgwfw: \(path): cannot read the saved state")
        throw SysExit.noInput.exit
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
        printError("cgwfw: \(path): not a saved `cgwfw show --json` nor `nft -j list ruleset`: \(error.localizedDescription)")
        throw SysExit.dataError.exit
    }
    if let state = probe.state { return state }
    guard probe.nftables != nil else {
        printError("cgwfw: \(path): JSON without `state` (cgwfw show --json) or `nftables` (nft -j list ruleset)")
        throw SysExit.dataError.exit
    }
    var state = try loadThroughNamespace(path, table: table, mode: mode)
    restoreMarkersNftJSONDrops(&state, json: data, path: path)
    return state
}

/// nft 1.0.6 writes no `comment` for tables and chains in `nft -j list ruleset`, and drops the comment of
/// sets when it loads such a file, so cgwfw's ownership marker would be lost on the way. The sets' markers
/// are taken from the file; when it has no table or chain comment at all and every owned set is marked
/// there, the table and chains are taken as cgwfw's too (said on standard error). Anything else stays
/// unmarked, and apply's ownership check refuses it as it would on the gateway.
private func restoreMarkersNftJSONDrops(_ state: inout SavedState, json: Data, path: String) {
    guard let top = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
          let objects = top["nftables"] as? [[String: Any]] else { return }
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
    guard !commentsWritten, !state.sets.isEmpty, state.sets.allSatisfy({ Ownership.isMarked($0.comment) }) else { return }
    if !state.mode.isAttach && state.tableExists { state.tableComment = Ownership.marker }
    for index in state.chains.indices where state.chains[index].comment == nil { state.chains[index].comment = Ownership.marker }
    printError("cgwfw: note: \(path): nft -j writes no table or chain comments; cgwfw's ownership marker is taken from its sets")
}

private func loadThroughNamespace(_ path: String, table: TableRef, mode: OwnershipMode) throws -> SavedState {
    // readlink(2) of /proc/self/exe: resolving the path further would need access to every directory of it,
    // and a path left as /proc/self/exe would name the shell below.
    let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var show = [me, "show", "--json"]
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
        printError("cgwfw: \(path): cannot run unshare to load an nft -j ruleset (\(error)); save `cgwfw show --json` instead")
        throw SysExit.osError.exit
    }
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        printError("cgwfw: \(path): nft could not load it in a throwaway namespace (save `cgwfw show --json` instead): "
                   + String(decoding: err, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        throw SysExit.dataError.exit
    }
    struct Shown: Decodable { var state: SavedState }
    do {
        return try JSONDecoder().decode(Shown.self, from: out).state
    } catch {
        printError("cgwfw: \(path): reading the loaded ruleset back failed: \(error)")
        throw SysExit.software.exit
    }
}
