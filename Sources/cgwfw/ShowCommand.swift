import ArgumentParser
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables
import Foundation

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show cgwfw's rules in the kernel with packet/byte counters per rule and per peer pair.",
        discussion: """
        Reads the live state over netlink. With counters on (profile key counters, the default) every rule and every peer pair (set element) has its own counter, so you can see whether IKE from each AWS endpoint arrives.

        Examples:
          cgwfw show
          cgwfw show --json
          cgwfw show --attach "inet filter"
        """
    )

    @Flag(help: "Print JSON: table, generation, rules [{chain, tag, comment, packets, bytes}], elements [...], text, state (for diff --against).")
    var json = false

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
        var rules: [RuleRow]
        var elements: [ElementRow]
        var text: String
        /// A pending commit-confirm (and whether its watchdog still runs), when there is one.
        var commitConfirm: String?
        /// The owned objects as the model holds them: what `cgwfw diff --against` reads back.
        var state: SavedState
    }

    func run() throws {
        let profile = try profileOptions.resolve(for: .show)
        let target = try applyTarget(profile)
        let table = target.attach ?? TableRef(family: .inet, name: profile.table)
        let mode: OwnershipMode = target.attach == nil ? .standalone : .attach(prefix: "\(profile.table)-")
        let live = try withEngine { engine throws(NetlinkError) in try engine.read(table: table, mode: mode) }
        let text = Engine.ownedText(live, counters: true)
        let confirmStatus = confirmStatusWarnings().first
        guard json else {
            print(live.ownsNothing ? "\(table): cgwfw owns nothing here" : text, terminator: live.ownsNothing ? "\n" : "")
            if let confirmStatus { print("# \(confirmStatus)") }
            return
        }
        let rules = (live.jumps + live.rules).map { rule in
            RuleRow(chain: rule.spec.chain, tag: rule.spec.tag, comment: rule.spec.comment,
                    rule: NftText.rule(rule.spec), packets: rule.counter?.packets, bytes: rule.counter?.bytes)
        }
        let elements = live.sets.flatMap { set in
            set.spec.elements.map { element in
                let counter = set.elementCounters[element.key]
                return ElementRow(set: set.spec.name, element: NftText.element(set.spec, element), comment: element.comment,
                                  packets: counter?.packets, bytes: counter?.bytes)
            }
        }
        print(try jsonString(Report(table: table.description, exists: !live.ownsNothing, generation: live.generation,
                                    rules: rules, elements: elements, text: text, commitConfirm: confirmStatus,
                                    state: SavedState(live))))
    }
}
