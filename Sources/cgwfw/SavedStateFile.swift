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
    return try loadThroughNamespace(path, table: table, mode: mode)
}

private func loadThroughNamespace(_ path: String, table: TableRef, mode: OwnershipMode) throws -> SavedState {
    let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    var show = [me, "show", "--json"]
    if case let .attach(prefix) = mode {
        show += ["--attach", table.description, "--table", String(prefix.dropLast())]
    } else {
        show += ["--table", table.name]
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
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
