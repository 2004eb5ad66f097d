import ArgumentParser
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables

struct RemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove exactly what cgwfw owns from the kernel (idempotent).",
        discussion: """
        Standalone: deletes the table cgwfw owns (`inet cgwfw`, or --table). Attach mode (--attach or the profile's attach): deletes only cgwfw's tagged jump rules and its `cgwfw-` chains and sets; the rest of that table stays byte-identical. Running it again changes nothing and exits 0.

        Examples:
          cgwfw remove --dry-run
          cgwfw remove
          cgwfw remove --json --attach "inet filter"
        """
    )

    @Flag(help: "Say what would be removed; write nothing; exit like `cgwfw diff` (0 nothing to do, 1 changes).")
    var dryRun = false

    @Flag(help: "Print the report as JSON (changed, table, added, removed, diff {before, after}, warnings).")
    var json = false

    @Flag(help: "Also remove a table (or chains and sets) of cgwfw's names that cgwfw did not create.")
    var adopt = false

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var state: StateOptions

    func run() throws {
        let profile = try profileOptions.resolve(for: .remove)
        let target = try applyTarget(profile)
        let table = target.attach ?? TableRef(family: .inet, name: profile.table)
        let mode: OwnershipMode = target.attach == nil ? .standalone : .attach(prefix: "\(profile.table)-")
        let report = try withEngine(renderText: json) { engine throws(NetlinkError) in try engine.remove(table: table, mode: mode, dryRun: dryRun, adopt: adopt) }
        try printReport(report, json: json, verb: dryRun ? "would remove" : "removed")
        if dryRun && report.changed { throw SysExit.changesPending.exit }
    }
}
