import ArgumentParser
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what `cgwfw apply` would change in the kernel (same as apply --dry-run).",
        discussion: """
        Reads cgwfw's objects over netlink and prints a review: one line per peer pair (set element) and per rule added (+) or removed (-), naming connection and tunnel; colour only on a terminal. --json prints the apply report with the owned table before and after as nft text.

        Examples:
          cgwfw diff vpn-0e69d9ffe151c77f1.txt
          cgwfw diff --json --attach "inet filter" /etc/cgwfw/connections/
          cgwfw diff vpn.txt || echo "apply would change the firewall"

        Exit status: 0 the kernel already matches, 1 apply would change something, 64/65/66/70/71/77 as apply.
        """
    )

    @Flag(help: "Print the report as JSON (changed, table, added, removed, diff {before, after}, warnings).")
    var json = false

    @Flag(help: "As apply --adopt would: take over a table (or chains and sets) of cgwfw's names that cgwfw did not create: they are replaced.")
    var adopt = false

    @Flag(help: "Compare even when the input holds no VPN connection (apply would remove every peer).")
    var allowEmpty = false

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var input: ConfigInputOptions
    @OptionGroup var state: StateOptions

    func run() throws {
        var (intent, target) = try compileIntent(profileOptions: profileOptions, input: input, command: .diff,
                                                 allowEmpty: allowEmpty)
        target.adopt = adopt
        var report = try withEngine(renderText: json) { engine throws(NetlinkError) in
            try applyWithSnapshot(engine, intent: intent, target: target, dryRun: true).report
        }
        report.warnings += confirmStatusWarnings()
        try printReport(report, json: json, verb: "would change")
        if report.changed { throw SysExit.changesPending.exit }
    }
}
