import ArgumentParser
import CGWFWCompiler
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables
import Foundation
import Glibc

struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the kernel's cgwfw rules match the AWS VPN configs, in one netlink transaction.",
        discussion: """
        Reads what cgwfw owns over netlink (the table `inet cgwfw`, or with --attach its `cgwfw-` chains, sets and jump rules inside an existing table), compares it with the compiled rules by meaning, and commits one transaction: nothing when they already match ("unchanged"), only set elements when only peers changed (rules and counters stay), chains and rules only when their structure changed. Nothing else in the ruleset is touched. The transaction carries the generation it was computed from; if someone changes the ruleset in between, it is re-read and retried.

        --confirm SECONDS keeps the previous rules and restores them after SECONDS unless `cgwfw confirm` runs first (a detached watchdog does it, so it works from Ansible and survives the SSH session). While a rollback is pending, another apply exits 75 unless --force: --force keeps the pending rollback target (the state before the first unconfirmed apply) and, with --confirm, restarts the timer; without --confirm it cancels the rollback like `cgwfw confirm` and applies.

        Examples:
          cgwfw apply vpn-0e69d9ffe151c77f1.txt
          cgwfw apply --json --profile linux-gateway /etc/cgwfw/connections/
          cgwfw apply --attach "inet filter" vpn-a.txt vpn-b.xml
          cgwfw apply --confirm 120 vpn.txt    (then: cgwfw confirm)

        Exit status: 0 applied or unchanged (with --dry-run: 0 nothing to do, 1 changes), 64 usage, 65 bad config/profile (before any netlink traffic), 66 unreadable input, 70 the kernel refused the transaction (nothing applied), 71 netlink failure, 75 the ruleset kept changing / a commit-confirm is pending, 77 no CAP_NET_ADMIN.
        """
    )

    @Flag(help: "Say what would change; write nothing; exit like `cgwfw diff` (0 nothing to do, 1 changes).")
    var dryRun = false

    @Flag(help: "Print the report as JSON: changed, table, added, removed, diff {before, after}, warnings.")
    var json = false

    @Option(help: ArgumentHelp("Restore the previous rules after this many seconds unless `cgwfw confirm` runs.",
                               valueName: "seconds"))
    var confirm: Int?

    @Flag(help: "Apply even though a commit-confirm is pending (see above).")
    var force = false

    @Flag(help: "Take over a table (or chains and sets) of cgwfw's names that cgwfw did not create: they are replaced.")
    var adopt = false

    @Flag(help: "Apply even when the input holds no VPN connection (that removes every peer).")
    var allowEmpty = false

    @Flag(help: ArgumentHelp("For the boot unit: when the machine restarted inside a commit-confirm window, restore "
                             + "the rules from before that apply instead of applying the (unconfirmed) inputs."))
    var boot = false

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var input: ConfigInputOptions
    @OptionGroup var state: StateOptions

    func validate() throws {
        if let confirm, confirm < 1 { throw ValidationError("--confirm needs a positive number of seconds") }
        if confirm != nil && dryRun { throw ValidationError("--confirm and --dry-run do not go together") }
    }

    func run() throws {
        let compiled = try compileInput(profileOptions: profileOptions, input: input, command: .apply, allowEmpty: allowEmpty)
        let intent = compiled.intent
        var target = compiled.target
        target.adopt = adopt
        let tunnels = TunnelMeaning.all(connections: compiled.connections, profile: compiled.profile)
        if dryRun {
            var report = try withEngine(renderText: json) { engine throws(NetlinkError) in
                try applyWithSnapshot(engine, intent: intent, target: target, dryRun: true).report
            }
            report.warnings += confirmStatusWarnings()
            try printReport(report, json: json, verb: "would change")
            if report.changed { throw SysExit.changesPending.exit }
            return
        }
        let report: ApplyReport
        do {
            report = try CommitConfirmRunner.apply(intent: intent, target: target, confirmSeconds: confirm, force: force,
                                                   boot: boot, renderText: json)
        } catch let error as CommitConfirmError {
            printError("cgwfw: \(error)")
            throw error.exitCode.exit
        }
        if json {
            print(try jsonString(ReviewedJSONReport(report, tunnels: tunnels, summary: nil)))
            for warning in report.warnings { printError("cgwfw: warning: \(warning)") }
        } else {
            try printReport(report, json: false, verb: "applied")
        }
        if let confirm, report.changed {
            printError("cgwfw: the previous rules come back in \(confirm) s unless `cgwfw confirm` runs")
        }
    }
}

/// A pending commit-confirm as a warning for reports (diff, apply --dry-run, show): never left unsaid.
func confirmStatusWarnings() -> [String] {
    guard CommitConfirmStore.hasPending, let status = (try? CommitConfirmStore.status()) ?? nil else { return [] }
    return [status.summary]
}

/// Config + profile → intent and where it goes. Any error here exits before netlink is opened.
func compileIntent(profileOptions: ProfileOptions, input: ConfigInputOptions, command: CommandFit.Command,
                   allowEmpty: Bool) throws -> (RuleIntent, ApplyTarget) {
    let compiled = try compileInput(profileOptions: profileOptions, input: input, command: command, allowEmpty: allowEmpty)
    return (compiled.intent, compiled.target)
}

/// `compileIntent` with the connections and the profile it compiled them with (for diff's summary).
func compileInput(profileOptions: ProfileOptions, input: ConfigInputOptions, command: CommandFit.Command,
                  allowEmpty: Bool) throws -> (intent: RuleIntent, target: ApplyTarget, connections: [Connection], profile: Profile) {
    let profile = try profileOptions.resolve(for: command)
    var parsed = try input.load(emptyInput: allowEmpty ? .allowed : .refused(hint: emptyApplyHint),
                                profileLocalAddress: profile.localAddress)
    if profile.placement == .host && !parsed.diagnostics.hasErrors {
        parsed.diagnostics.append(contentsOf: HostAddressCheck.diagnostics(connections: parsed.connections,
                                                                           hostAddresses: RouteLookup.localAddresses()))
    }
    printDiagnostics(parsed.diagnostics, input.verbosity)
    if parsed.diagnostics.hasErrors { throw SysExit.dataError.exit }
    let compiled = IntentBuilder.build(connections: parsed.connections, profile: profile)
    printDiagnostics(compiled.diagnostics, input.verbosity)
    if compiled.diagnostics.hasErrors { throw SysExit.dataError.exit }
    // The text backend refuses names nft cannot write; the netlink path keeps the same rule.
    let backendDiagnostics = NftablesBackend.nameDiagnostics(compiled.intent)
    printDiagnostics(backendDiagnostics, input.verbosity)
    if backendDiagnostics.hasErrors { throw SysExit.dataError.exit }
    return (compiled.intent, try applyTarget(profile), parsed.connections, profile)
}

/// What to do instead of applying nothing: an emptied directory would otherwise take every tunnel down.
let emptyApplyHint = "use `cgwfw remove` to remove cgwfw's rules (or --allow-empty to apply no peers)"

func applyTarget(_ profile: Profile) throws -> ApplyTarget {
    guard let attach = profile.attach else { return ApplyTarget() }
    guard let table = TableRef(attach), table.family == .inet else {
        printError("cgwfw: error: --attach '\(attach)': the apply engine attaches to inet tables only (e.g. \"inet filter\")")
        throw SysExit.usage.exit
    }
    return ApplyTarget(attach: table, attachChains: profile.attachChains)
}

/// Opens netlink, runs `body`, and turns netlink failures into a message and a sysexits code.
func withEngine<T>(renderText: Bool = true, _ body: (Engine) throws(NetlinkError) -> T) throws -> T {
    do {
        let engine = try Engine(renderText: renderText)
        let result = try body(engine)
        if ProcessInfo.processInfo.environment["CGWFW_TIMING"] == "1", !engine.timings.isEmpty {
            printError("cgwfw: timing: " + engine.timings.map { "\($0.phase) \(String(format: "%.1f", $0.seconds * 1000)) ms" }
                .joined(separator: ", "))
        }
        return result
    } catch {
        printError("cgwfw: \(error)")
        throw error.exitCode.exit
    }
}

/// Human report (a review with +/− lines, colour on a TTY) or the JSON report.
func printReport(_ report: ApplyReport, json: Bool, verb: String) throws {
    if json {
        print(try jsonString(JSONReport(report)))
    } else {
        print(review(report, verb: verb))
    }
    for warning in report.warnings { printError("cgwfw: warning: \(warning)") }
}

/// The JSON the Ansible module reads: exactly these keys.
struct JSONReport: Encodable {
    var changed: Bool
    var table: String
    var added: [String]
    var removed: [String]
    var diff: ApplyReport.Diff
    var warnings: [String]

    init(_ report: ApplyReport) {
        changed = report.changed
        table = report.table
        added = report.added
        removed = report.removed
        diff = report.diff
        warnings = report.warnings
    }
}

func review(_ report: ApplyReport, verb: String) -> String {
    guard report.changed else { return "\(report.table): unchanged" }
    let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    func paint(_ text: String, _ code: String) -> String { colour ? "\u{1b}[\(code)m\(text)\u{1b}[0m" : text }
    var lines = ["\(report.table): \(verb): \(report.added.count) added, \(report.removed.count) removed"
                 + (report.elementsOnly ? " (peers only; rules and counters kept)" : "")]
    lines += report.removed.map { paint("- \($0)", "31") }
    lines += report.added.map { paint("+ \($0)", "32") }
    return lines.joined(separator: "\n")
}
