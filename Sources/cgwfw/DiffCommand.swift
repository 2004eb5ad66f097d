import ArgumentParser
import CGWFWCompiler
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables
import Foundation
import Glibc

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Review a change: offline between two sets of configs, against a saved state, or against the kernel.",
        discussion: """
        --from OLD… --to NEW… compares two sets of inputs without root and without the kernel: first what changes in meaning per connection and tunnel (connection added or removed, AWS endpoint replaced, customer gateway changed, MSS and why, NAT-T opened or closed and why, DF clearing, strict mode, placement), then a unified diff of the target's rules (--target, default nftables). --from-profile names the old side's profile when it differs.

        --against FILE NEW… reads FILE, a saved `cgwfw show --json` or `nft -j list ruleset` of the gateway, into the same model apply reads from the kernel, and prints what `cgwfw apply` would change there (the same comparison). An `nft -j` file is loaded into a throwaway user and network namespace by nft itself (no root needed where unprivileged user namespaces are allowed).

        Without either, reads cgwfw's objects over netlink and prints what `cgwfw apply` would change (same as apply --dry-run; needs CAP_NET_ADMIN).

        Examples:
          cgwfw diff --from old/ --to new/
          cgwfw diff --format markdown --from main/vpn.txt --to vpn.txt > comment.md
          cgwfw diff --against gw1-show.json /etc/cgwfw/connections/
          cgwfw diff vpn.txt || echo "apply would change the firewall"

        Exit status: 0 no change, 1 changes, 64 usage, 65 bad config/profile/saved state, 66 unreadable input; live and --against as apply (70/71/77).
        """
    )

    @Option(name: .long, parsing: .upToNextOption,
            help: ArgumentHelp("The old configs (files or directories); the config arguments after --to are the new ones.", valueName: "old"))
    var from: [String] = []

    @Flag(name: .long, help: "The config arguments are the new side of --from.")
    var to = false

    @Option(help: ArgumentHelp("A saved `cgwfw show --json` or `nft -j list ruleset` to compare the configs with.", valueName: "file"))
    var against: String?

    @Option(help: ArgumentHelp("--from/--to: the old side's profile (default: the same as --profile).", valueName: "name|path"))
    var fromProfile: String?

    @Option(help: ArgumentHelp("--from/--to: whose rules to diff: nftables, iptables, ip6tables, pf or json (default nftables).",
                               valueName: "target"))
    var target: String?

    @Option(help: ArgumentHelp("text, json or markdown (--from/--to).", valueName: "format"))
    var format: String = "text"

    @Flag(help: "Print JSON (--from/--to: the documented schema 1; otherwise the apply report).")
    var json = false

    @Flag(help: "As apply --adopt would: take over a table (or chains and sets) of cgwfw's names that cgwfw did not create: they are replaced.")
    var adopt = false

    @Flag(help: "Compare even when the input holds no VPN connection (apply would remove every peer).")
    var allowEmpty = false

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var input: ConfigInputOptions
    @OptionGroup var state: StateOptions

    func validate() throws {
        if from.isEmpty != !to { throw ValidationError("--from OLD… and --to NEW… go together") }
        if !from.isEmpty && against != nil { throw ValidationError("--from/--to and --against do not go together") }
        if !["text", "json", "markdown"].contains(format) { throw ValidationError("--format must be text, json or markdown, not '\(format)'") }
        if format == "markdown" && from.isEmpty { throw ValidationError("--format markdown is for --from/--to") }
        if let target, Profile.Target(rawValue: target) == nil {
            throw ValidationError("unknown --target '\(target)'; use " + Profile.Target.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if (target != nil || fromProfile != nil) && from.isEmpty { throw ValidationError("--target and --from-profile are for --from/--to") }
    }

    var wantsJSON: Bool { json || format == "json" }

    func run() throws {
        if !from.isEmpty { return try runOffline() }
        var compiled = try compileInput(profileOptions: profileOptions, input: input, command: .diff, allowEmpty: allowEmpty)
        compiled.target.adopt = adopt
        let (intent, target) = (compiled.intent, compiled.target)
        var report: ApplyReport
        let before: [PairedTunnel]
        if let against {
            let saved = try loadSavedState(against, table: target.table(for: intent), mode: target.mode(for: intent))
            before = saved.pairedTunnels
            do {
                report = try Engine.against(saved, renderText: wantsJSON).apply(intent: intent, target: target, dryRun: true).report
            } catch {
                printError("cgwfw: \(against): \(error)")
                throw error.exitCode.exit
            }
        } else {
            (report, before) = try withEngine(renderText: wantsJSON) { engine throws(NetlinkError) in
                let live = try engine.read(table: target.table(for: intent), mode: target.mode(for: intent))
                return (try applyWithSnapshot(engine, intent: intent, target: target, dryRun: true).report, live.pairedTunnels)
            }
            report.warnings += confirmStatusWarnings()
        }
        let tunnels = TunnelMeaning.all(connections: compiled.connections, profile: compiled.profile)
        let summary = ChangeReview.changes(from: before, to: tunnels)
        if wantsJSON {
            print(try jsonString(ReviewedJSONReport(report, tunnels: tunnels, summary: summary)))
            for warning in report.warnings { printError("cgwfw: warning: \(warning)") }
        } else {
            let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            for line in ChangeReviewReport.summaryLines(summary, colour: colour) { print(line) }
            try printReport(report, json: false, verb: "would change")
        }
        if report.changed { throw SysExit.changesPending.exit }
    }

    /// `--against FILE`; an `nft -j` file is read back by this same binary's `show --json`.
    func loadSavedState(_ path: String, table: TableRef, mode: OwnershipMode) throws -> SavedState {
        // readlink(2) of /proc/self/exe: resolving the path further would need access to every directory of it,
        // and a path left as /proc/self/exe would name the shell that runs it.
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        do {
            let loaded = try SavedStateFile.load(path, table: table, mode: mode, cgwfw: me)
            for note in loaded.notes { printError("cgwfw: note: \(note)") }
            return loaded.state
        } catch {
            printError("cgwfw: \(error)")
            throw error.exitCode.exit
        }
    }

    /// Both sides compiled with the same code as `compile`; nothing touches the kernel.
    func runOffline() throws {
        let chosen = target.flatMap(Profile.Target.init(rawValue:)) ?? .nftables
        let newProfile = try profileOptions.resolve(for: .compile, target: chosen)
        var oldProfileOptions = profileOptions
        if let fromProfile { oldProfileOptions.profile = fromProfile }
        let oldProfile = try oldProfileOptions.resolve(for: .compile, target: chosen)
        var oldInput = input
        oldInput.configArguments = PositionalRuns.expand(from)
        func side(_ input: ConfigInputOptions, _ profile: Profile) throws -> ([Connection], Compiler.Output) {
            let parsed = try input.load(profileLocalAddress: profile.localAddress)
            printDiagnostics(parsed.diagnostics, input.verbosity)
            if parsed.diagnostics.hasErrors { throw SysExit.dataError.exit }
            let compiled = Compiler.compile(connections: parsed.connections, profile: profile, target: chosen)
            printDiagnostics(compiled.diagnostics, input.verbosity)
            if compiled.diagnostics.hasErrors { throw SysExit.dataError.exit }
            return (parsed.connections, compiled)
        }
        let (oldConnections, oldCompiled) = try side(oldInput, oldProfile)
        let (newConnections, newCompiled) = try side(input, newProfile)
        let review = ChangeReview(oldConnections: oldConnections, oldProfile: oldProfile, oldIntent: oldCompiled.intent,
                                  newConnections: newConnections, newProfile: newProfile, newIntent: newCompiled.intent)
        let report = ChangeReviewReport(review: review, target: chosen.rawValue, oldText: oldCompiled.text, newText: newCompiled.text)
        if wantsJSON {
            print(try jsonString(report))
        } else if format == "markdown" {
            print(report.markdown())
        } else {
            let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            print(report.text(colour: colour))
        }
        if report.changed { throw SysExit.changesPending.exit }
    }
}

/// The apply report (the keys of `JSONReport`) with the tunnels the configs make (apply and diff) and, for
/// diff, the per-tunnel changes from what the firewall holds (element comments) to them.
struct ReviewedJSONReport: Encodable {
    var base: JSONReport
    var tunnels: [TunnelMeaning]
    /// nil for apply (the report says what changed).
    var summary: [MeaningChange]?

    init(_ report: ApplyReport, tunnels: [TunnelMeaning], summary: [MeaningChange]?) {
        base = JSONReport(report)
        self.tunnels = tunnels
        self.summary = summary
    }

    private enum CodingKeys: String, CodingKey { case tunnels, summary }

    /// The base report's keys and these two, side by side in one object.
    func encode(to encoder: Encoder) throws {
        try base.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tunnels, forKey: .tunnels)
        try container.encodeIfPresent(summary, forKey: .summary)
    }
}
