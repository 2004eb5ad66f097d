import CGWFWModel
import CGWFWNftables
@testable import CGWFWNetlink

/// An in-memory nf_tables for the engine's unit tests: tables of chains, sets and rules with handles,
/// a generation that every commit moves by one, and a record of what the engine asked. `beforeCommit`
/// plays another writer getting in between read and commit; `duringRead` one getting in during a dump.
final class FakeKernel: Kernel {
    struct Table {
        var comment: String?
        var chains: [ChainSpec] = []
        var sets: [String: SetSpec] = [:]
        var setOrder: [String] = []
        var rules: [LiveRule] = []
    }

    var tables: [TableRef: Table] = [:]
    var generation: UInt32 = 1
    var cookie: UInt64? = 42
    private var nextHandle: UInt64 = 1

    /// Called at the start of every commit, with the fake; may change it (another writer).
    var beforeCommit: ((FakeKernel) -> Void)?
    /// Called in every read after the generation was taken; may change the fake (a race during the dumps).
    var duringRead: ((FakeKernel) -> Void)?

    private(set) var reads: [(table: TableRef, ownedContents: Bool)] = []
    private(set) var commits: [[PlanStep]] = []
    private(set) var refusedCommits = 0

    /// Another writer's transaction: moves the generation, like any commit.
    func externalChange(_ change: (inout [TableRef: Table]) -> Void = { _ in }) {
        change(&tables)
        generation += 1
    }

    func networkNamespaceCookie() -> UInt64? { cookie }

    func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook>, ownedContents: Bool) throws(NetlinkError) -> LiveState {
        reads.append((table, ownedContents))
        let start = generation
        duringRead?(self)
        var state = LiveState(generation: start, table: table, tableExists: tables[table] != nil,
                              tableComment: tables[table]?.comment, chains: [], sets: [],
                              rules: [], jumps: [], attachedBaseChains: [], foreignBaseChains: [], mode: mode)
        let prefix: String
        if case let .attach(p) = mode { prefix = p } else { prefix = "" }
        func owned(_ name: String) -> Bool { prefix.isEmpty || name.hasPrefix(prefix) }
        if let content = tables[table], ownedContents {
            state.chains = content.chains.filter { owned($0.name) }
            state.attachedBaseChains = mode.isAttach ? content.chains.filter { $0.base != nil && !owned($0.name) } : []
            state.sets = content.setOrder.compactMap { content.sets[$0] }.filter { owned($0.name) }
                .map { LiveSet(spec: $0, elementCounters: [:]) }
            let order = Dictionary(uniqueKeysWithValues: state.chains.enumerated().map { ($1.name, $0) })
            state.rules = content.rules.filter { order[$0.spec.chain] != nil }
                .sorted { order[$0.spec.chain]! < order[$1.spec.chain]! }
            state.jumps = mode.isAttach ? content.rules.filter { order[$0.spec.chain] == nil && $0.spec.tag.hasPrefix("\(prefix)jump-") } : []
        }
        guard generation == start else { throw .generationChanged }
        return state
    }

    func commit(_ plan: Plan, desired: DesiredState, generation expected: UInt32) throws(NetlinkError) {
        beforeCommit?(self)
        guard generation == expected else {
            refusedCommits += 1
            throw .generationChanged
        }
        var content = tables[desired.table] ?? Table()
        var exists = tables[desired.table] != nil
        for operation in plan.operations {
            switch operation {
            case .addTable:
                exists = true
                content.comment = desired.tableComment
            case .deleteTable:
                content = Table()
                exists = false
            case let .addSet(set):
                if content.sets[set.name] == nil { content.setOrder.append(set.name) }
                content.sets[set.name] = set.definition
            case let .deleteSet(name):
                content.sets[name] = nil
                content.setOrder.removeAll { $0 == name }
            case let .addElements(set, elements):
                content.sets[set.name]?.elements += elements
                content.sets[set.name]?.elements.sort { $0.key.lexicographicallyPrecedes($1.key) }
            case let .deleteElements(set, elements):
                let keys = Set(elements.map(\.key))
                content.sets[set.name]?.elements.removeAll { keys.contains($0.key) }
            case let .addChain(chain):
                if !content.chains.contains(where: { $0.name == chain.name }) { content.chains.append(chain) }
            case let .deleteChain(name):
                content.chains.removeAll { $0.name == name }
            case let .flushChain(name):
                content.rules.removeAll { $0.spec.chain == name }
            case let .addRule(rule, position):
                let live = LiveRule(spec: rule, handle: nextHandle, counter: nil)
                nextHandle += 1
                switch position {
                case .append:
                    let last = content.rules.lastIndex { $0.spec.chain == rule.chain }
                    content.rules.insert(live, at: last.map { $0 + 1 } ?? content.rules.count)
                case .head:
                    let first = content.rules.firstIndex { $0.spec.chain == rule.chain }
                    content.rules.insert(live, at: first ?? content.rules.count)
                case let .before(handle):
                    let index = content.rules.firstIndex { $0.handle == handle } ?? content.rules.count
                    content.rules.insert(live, at: index)
                }
            case let .deleteRule(_, handle, _):
                content.rules.removeAll { $0.handle == handle }
            }
        }
        tables[desired.table] = exists ? content : nil
        commits.append(plan.operations)
        generation += 1
    }

    /// What the fake holds of `table`, as the engine would lower it (for comparisons with `DesiredState`).
    func state(of table: TableRef, mode: OwnershipMode = .standalone) -> DesiredState? {
        guard let content = tables[table] else { return nil }
        return DesiredState(table: table, mode: mode, chains: content.chains,
                            sets: content.setOrder.compactMap { content.sets[$0] },
                            rules: content.rules.map(\.spec), jumps: [], tableComment: content.comment)
    }
}
