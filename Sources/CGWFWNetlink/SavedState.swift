import CGWFWModel
import CGWFWNftables

/// What cgwfw owned in one kernel, as `cgwfw show --json` saves it (key `state`): the same model the reader
/// fills from netlink, so `cgwfw diff --against` compares a saved gateway exactly as apply compares the kernel.
public struct SavedState: Codable, Sendable {
    public var table: TableRef
    public var mode: OwnershipMode
    public var tableExists: Bool
    public var tableComment: String?
    public var generation: UInt32
    public var chains: [ChainSpec]
    public var sets: [SetSpec]
    public var rules: [RuleSpec]
    public var jumps: [RuleSpec]
    public var attachedBaseChains: [ChainSpec]

    enum CodingKeys: String, CodingKey {
        case table, mode, tableExists = "table_exists", tableComment = "table_comment", generation, chains, sets, rules
        case jumps, attachedBaseChains = "attached_base_chains"
    }

    public init(_ live: LiveState) {
        table = live.table
        mode = live.mode
        tableExists = live.tableExists
        tableComment = live.tableComment
        generation = live.generation
        chains = live.chains
        sets = live.configuredSets
        rules = live.rules.map(\.spec)
        jumps = live.jumps.map(\.spec)
        attachedBaseChains = live.attachedBaseChains
    }

    /// The state as the reader would have returned it (no counters, no handles: a dry run needs neither).
    /// Asked for another table or mode than was saved, cgwfw owned nothing there.
    func live(table wanted: TableRef, mode wantedMode: OwnershipMode) -> LiveState {
        guard wanted == table, wantedMode == mode else {
            return LiveState(generation: generation, table: wanted, tableExists: false, tableComment: nil, chains: [], sets: [],
                             rules: [], jumps: [], attachedBaseChains: [], foreignBaseChains: [], mode: wantedMode)
        }
        return LiveState(generation: generation, table: table, tableExists: tableExists, tableComment: tableComment,
                         chains: chains, sets: sets.map { LiveSet(spec: Self.sortedByKey($0), elementCounters: [:]) },
                         rules: rules.map { LiveRule(spec: $0, handle: 0, counter: nil) },
                         jumps: jumps.map { LiveRule(spec: $0, handle: 0, counter: nil) },
                         attachedBaseChains: attachedBaseChains, foreignBaseChains: [], mode: mode)
    }

    /// A dump comes in hash order; sorted by key, the plan lists elements as apply after a snapshot does.
    static func sortedByKey(_ set: SetSpec) -> SetSpec {
        var sorted = set
        sorted.elements.sort { Planner.compareKeys($0.key, $1.key) < 0 }
        return sorted
    }
}

/// A `Kernel` that holds a saved state: reads return it, commits are refused. The engine runs unchanged
/// over it, so `diff --against` plans with the same `Lowering` and `Planner` as apply.
final class SavedStateKernel: Kernel {
    let saved: SavedState
    init(_ saved: SavedState) { self.saved = saved }

    func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook>, ownedContents: Bool) throws(NetlinkError) -> LiveState {
        saved.live(table: table, mode: mode)
    }

    func commit(_ plan: Plan, desired: DesiredState, generation: UInt32) throws(NetlinkError) {
        throw .system("a saved state cannot be written (diff --against only plans)")
    }

    func networkNamespaceCookie() -> UInt64? { nil }
}

extension Engine {
    /// An engine over a saved state instead of the kernel, for dry runs (`cgwfw diff --against`).
    public static func against(_ saved: SavedState, renderText: Bool = true) -> Engine {
        Engine(kernel: SavedStateKernel(saved), renderText: renderText)
    }
}
