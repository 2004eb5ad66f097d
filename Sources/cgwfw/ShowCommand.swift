import ArgumentParser
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables
import Foundation

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show each tunnel's traffic (IKE, NAT-T, ESP; in and out; last seen), strict drops and cgwfw's rules in the kernel.",
        discussion: """
        Reads the live state over netlink. With counters on (profile key counters, the default) the kernel counts every tunnel's packets per protocol and direction, and strict mode's drops per address; "last seen" reaches back 24 hours (docs/monitoring.md).

        Examples:
          cgwfw show
          cgwfw show --json
          cgwfw show --format prometheus -o /var/lib/prometheus/node-exporter/cgwfw.prom
          cgwfw show --attach "inet filter"
        """
    )

    @Flag(help: "Print JSON (the same as --format json): table, generation, tunnels, strict_drops, rules, elements, text, state (for diff --against).")
    var json = false

    @Option(help: ArgumentHelp("text, json or prometheus (node_exporter's textfile collector format).", valueName: "format"))
    var format: String = "text"

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write here (atomically, as the textfile collector needs) instead of standard output (-).",
                                                                 valueName: "file"))
    var output: String?

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var state: StateOptions

    struct RuleRow: Encodable {
        var chain: String
        var tag: String
        var comment: String
        var rule: String
        var packets: UInt64?
        var bytes: UInt64?
    }
    struct ElementRow: Encodable {
        var set: String
        var element: String
        var comment: String?
        var packets: UInt64?
        var bytes: UInt64?
    }
    struct Report: Encodable {
        var table: String
        var exists: Bool
        var generation: UInt32
        /// Per connection and tunnel, per protocol and direction: packets, bytes, last seen.
        var health: HealthReport
        var rules: [RuleRow]
        var elements: [ElementRow]
        var text: String
        /// A pending commit-confirm (and whether its watchdog still runs), when there is one.
        var commitConfirm: String?
        /// The owned objects as the model holds them: what `cgwfw diff --against` reads back.
        var state: SavedState
    }

    func validate() throws {
        if !["text", "json", "prometheus"].contains(format) {
            throw ValidationError("--format must be text, json or prometheus, not '\(format)'")
        }
        if json && format != "text" && format != "json" { throw ValidationError("--json and --format \(format) disagree") }
    }

    func run() throws {
        let profile = try profileOptions.resolve(for: .show)
        let target = try applyTarget(profile)
        let table = target.attach ?? TableRef(family: .inet, name: profile.table)
        let mode: OwnershipMode = target.attach == nil ? .standalone : .attach(prefix: "\(profile.table)-")
        let live = try withEngine { engine throws(NetlinkError) in try engine.read(table: table, mode: mode) }
        let confirmStatus = confirmStatusWarnings().first
        let health = live.health
        let text: String
        switch json ? "json" : format {
        case "prometheus":
            text = PrometheusText.render(live, health: health, now: Date().timeIntervalSince1970,
                                         commitConfirmPending: confirmStatus != nil)
        case "json":
            text = try jsonString(report(live, health: health, confirmStatus: confirmStatus)) + "\n"
        default:
            var out = live.ownsNothing ? "\(table): cgwfw owns nothing here\n" : HealthText.render(health) + "\n"
                + Engine.ownedText(live, counters: true)
            if let confirmStatus { out += "# \(confirmStatus)\n" }
            text = out
        }
        guard let output, output != "-" else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try writeAtomically(text, to: output)
        } catch {
            printError("cgwfw: cannot write \(output): \(error)")
            throw SysExit.cantCreate.exit
        }
    }

    private func report(_ live: LiveState, health: HealthReport, confirmStatus: String?) -> Report {
        let rules = (live.jumps + live.rules).map { rule in
            RuleRow(chain: rule.spec.chain, tag: rule.spec.tag, comment: rule.spec.comment,
                    rule: NftText.rule(rule.spec), packets: rule.counter?.packets, bytes: rule.counter?.bytes)
        }
        let elements = live.sets.filter { $0.spec.dynamic == nil }.flatMap { set in
            set.spec.elements.map { element in
                let counter = set.elementCounters[element.key]
                return ElementRow(set: set.spec.name, element: NftText.element(set.spec, element), comment: element.comment,
                                  packets: counter?.packets, bytes: counter?.bytes)
            }
        }
        return Report(table: live.table.description, exists: !live.ownsNothing, generation: live.generation, health: health,
                      rules: rules, elements: elements, text: Engine.ownedText(live, counters: true),
                      commitConfirm: confirmStatus, state: SavedState(live))
    }
}
