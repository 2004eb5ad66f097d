import CGWFWModel
import CGWFWNftables
import Glibc

/// The apply engine: reads cgwfw's objects from the kernel, compares them with the intent's nftables model
/// by meaning, and commits one transaction that makes them equal, guarded by the generation it read.
/// Every kernel access goes through `Kernel`; every retry through `retryingRaces` (one loop, one budget).
public final class Engine {
    let kernel: Kernel
    /// Render `diff.before`/`diff.after` (nft text of the owned objects); off saves time on big tables.
    public let renderText: Bool

    /// Attempts at read-plan-commit while other writers move the ruleset generation (then exit 75).
    static let attempts = 4

    public convenience init(renderText: Bool = true) throws(NetlinkError) {
        self.init(kernel: try NetlinkKernel(), renderText: renderText)
    }

    init(kernel: Kernel, renderText: Bool = true) {
        self.kernel = kernel
        self.renderText = renderText
    }

    /// Wall time of the phases of the last apply, in seconds (printed with `CGWFW_TIMING=1`, used by `make bench`).
    public private(set) var timings: [(phase: String, seconds: Double)] = []

    /// Adds a phase the caller timed (the CLI's snapshot file), so the timing line is the whole cost.
    public func recordTiming(_ phase: String, seconds: Double) { timings.append((phase, seconds)) }

    public func networkNamespaceCookie() -> UInt64? { kernel.networkNamespaceCookie() }

    static func hooks(of intent: RuleIntent) -> Set<Hook> {
        // The hooks where cgwfw accepts peers (the MSS/DF chain accepts nothing, so a drop there is no conflict).
        Set(intent.chains.filter { $0.role != .tunnel }.map { Lowering.hook(for: $0.role) })
    }

    /// Runs `body` again, after a short pause, while the ruleset generation moves under it (a dump or a
    /// commit refused as a whole); `.raceLost` once the budget is spent. Nothing partial is ever left.
    func retryingRaces<T>(_ body: (_ attempt: Int) throws(NetlinkError) -> T) throws(NetlinkError) -> T {
        for attempt in 1...Self.attempts {
            do {
                return try body(attempt)
            } catch {
                guard case .generationChanged = error else { throw error }
                if attempt < Self.attempts { usleep(UInt32(20_000 * attempt)) }
            }
        }
        throw .raceLost(attempts: Self.attempts)
    }

    public func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook> = []) throws(NetlinkError) -> LiveState {
        try retryingRaces { _ throws(NetlinkError) in
            try kernel.read(table: table, mode: mode, hooks: hooks, ownedContents: true)
        }
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// One committed transaction moves the generation by exactly one (never to 0).
    static func generation(after generation: UInt32) -> UInt32 { generation &+ 1 == 0 ? 1 : generation &+ 1 }

    /// The owned state as the snapshot says it, when the kernel is still at the snapshot's generation in the
    /// same namespace (nothing committed since): everything but the element and rule dumps is read.
    private func liveFromSnapshot(_ snapshot: OwnedSnapshot?, table: TableRef, mode: OwnershipMode,
                                  hooks: Set<Hook>) throws(NetlinkError) -> LiveState? {
        guard let snapshot, snapshot.state.table == table, snapshot.state.mode == mode, !mode.isAttach,
              snapshot.netnsCookie == kernel.networkNamespaceCookie() else { return nil }
        var live: LiveState
        do {
            live = try kernel.read(table: table, mode: mode, hooks: hooks, ownedContents: false)
        } catch .generationChanged {
            return nil
        }
        guard live.generation == snapshot.generation, live.tableExists else { return nil }
        live.chains = snapshot.state.chains
        live.sets = snapshot.state.sets.map { LiveSet(spec: $0, elementCounters: [:]) }
        // Handle 0: never used, because a rule change sends the apply back to a full read.
        live.rules = snapshot.state.rules.map { LiveRule(spec: $0, handle: 0, counter: nil) }
        return live
    }

    /// The incremental fast path: `known` is the skeleton (no elements) of the last apply, equal to what
    /// `intent` lowers to, and `changes` the element changes from its elements to the intent's. Commits
    /// only those, guarded by the snapshot's generation. Returns nil, having written nothing, when the
    /// kernel is not at that generation or moved before the commit: then `apply` does the general work.
    /// The outcome has no `diff` text (`renderText` must be off). Standalone mode only.
    public func applyElementChanges(intent: RuleIntent, target: ApplyTarget, known: OwnedSnapshot,
                                    changes: [ElementLines.SetChange], dryRun: Bool) throws(NetlinkError) -> ApplyOutcome? {
        precondition(!renderText && changes.count == known.state.sets.count)
        let table = target.table(for: intent)
        let mode = target.mode(for: intent)
        timings = []
        var start = Self.now()
        func lap(_ phase: String) {
            let end = Self.now()
            timings.append((phase, end - start))
            start = end
        }
        guard let live = try liveFromSnapshot(known, table: table, mode: mode, hooks: Self.hooks(of: intent)) else {
            return nil
        }
        lap("read")
        var plan = Plan()
        for (set, change) in zip(known.state.sets, changes) {
            if !change.gone.isEmpty {
                plan.operations.append(.deleteElements(set, change.gone))
                plan.removed += change.gone.map { Describe.element(set, $0) }
            }
            if !change.added.isEmpty {
                plan.operations.append(.addElements(set, change.added))
                plan.added += change.added.map { Describe.element(set, $0) }
            }
        }
        var report = makeReport(live: live, desired: known.state, plan: plan)
        report.warnings = CoexistenceWarnings.warnings(live: live, families: Set(intent.sets.filter { !$0.elements.isEmpty }.map(\.family)),
                                                       target: target)
        lap("plan")
        let applied = AppliedState.intent(intent, target)
        if dryRun || plan.isEmpty {
            return ApplyOutcome(report: report, applied: dryRun ? nil : applied, generation: live.generation)
        }
        do {
            try kernel.commit(plan, desired: known.state, generation: live.generation)
        } catch .generationChanged {
            return nil
        }
        lap("commit")
        return ApplyOutcome(report: report, applied: applied, generation: Self.generation(after: live.generation))
    }

    /// Makes the kernel match `intent` (or, with `dryRun`, says what that would change).
    /// - Parameter snapshot: what an earlier apply left; used only while the generation still matches.
    public func apply(intent: RuleIntent, target: ApplyTarget, dryRun: Bool,
                      snapshot previous: OwnedSnapshot? = nil) throws(NetlinkError) -> ApplyOutcome {
        let table = target.table(for: intent)
        let mode = target.mode(for: intent)
        let hooks = Self.hooks(of: intent)
        timings = []
        return try retryingRaces { attempt throws(NetlinkError) -> ApplyOutcome in
            var start = Self.now()
            func lap(_ phase: String) {
                let end = Self.now()
                timings.append((phase, end - start))
                start = end
            }
            var live: LiveState
            var fromSnapshot = false
            if attempt == 1, let known = try liveFromSnapshot(previous, table: table, mode: mode, hooks: hooks) {
                live = known
                fromSnapshot = true
            } else {
                live = try kernel.read(table: table, mode: mode, hooks: hooks, ownedContents: true)
            }
            lap("read")
            if mode.isAttach && !live.tableExists {
                throw .refused(object: "table \(table) (named by --attach / attach)", errno: ENOENT,
                               detail: "create it first, or run without --attach to let cgwfw own a table")
            }
            if !target.adopt { try Self.refuseForeign(live) }
            var desired = Lowering.desiredState(intent: intent, target: target, attachedBaseChains: live.attachedBaseChains)
            lap("lower")
            var plan = Planner.plan(live: live, desired: desired)
            if fromSnapshot && plan.structural {
                // Rules or shapes change: work from the kernel's own account (rule handles).
                live = try kernel.read(table: table, mode: mode, hooks: hooks, ownedContents: true)
                desired = Lowering.desiredState(intent: intent, target: target, attachedBaseChains: live.attachedBaseChains)
                plan = Planner.plan(live: live, desired: desired)
            }
            var report = makeReport(live: live, desired: desired, plan: plan)
            report.warnings = CoexistenceWarnings.warnings(
                live: live, families: Set(desired.sets.filter { !$0.elements.isEmpty }.map(\.keyType.family)), target: target)
            if target.adopt { Self.noteAdoption(live, in: &report) }
            lap("plan")
            if dryRun { return ApplyOutcome(report: report, applied: nil, generation: live.generation) }
            let generation = plan.isEmpty ? live.generation : Self.generation(after: live.generation)
            if !plan.isEmpty {
                try kernel.commit(plan, desired: desired, generation: live.generation)
                lap("commit")
            }
            let snapshot = kernel.networkNamespaceCookie().map {
                OwnedSnapshot(netnsCookie: $0, generation: generation, state: desired)
            }
            return ApplyOutcome(report: report, applied: .state(desired), generation: generation, snapshot: snapshot)
        }
    }

    /// Makes the kernel hold exactly `state` of cgwfw's objects (commit-confirm's restore), or nothing.
    public func restore(_ state: DesiredState?, table: TableRef, mode: OwnershipMode) throws(NetlinkError) -> ApplyReport {
        try retryingRaces { _ throws(NetlinkError) -> ApplyReport in
            let live = try kernel.read(table: table, mode: mode, hooks: [], ownedContents: true)
            var plan = Plan()
            if let state {
                plan = Planner.plan(live: live, desired: state)
            } else {
                Planner.removeAll(live: live, into: &plan)
            }
            let target = state ?? DesiredState.empty(table: table, mode: mode)
            let report = makeReport(live: live, desired: target, plan: plan)
            if !plan.isEmpty { try kernel.commit(plan, desired: target, generation: live.generation) }
            return report
        }
    }

    /// Removes everything cgwfw owns in `table` (attach mode: its chains, sets and jumps only).
    public func remove(table: TableRef, mode: OwnershipMode, dryRun: Bool, adopt: Bool = false) throws(NetlinkError) -> ApplyReport {
        try retryingRaces { _ throws(NetlinkError) -> ApplyReport in
            let live = try kernel.read(table: table, mode: mode, hooks: [], ownedContents: true)
            if !adopt { try Self.refuseForeign(live) }
            var plan = Plan()
            Planner.removeAll(live: live, into: &plan)
            let empty = DesiredState.empty(table: table, mode: mode)
            var report = makeReport(live: live, desired: empty, plan: plan)
            if adopt { Self.noteAdoption(live, in: &report) }
            if !plan.isEmpty && !dryRun { try kernel.commit(plan, desired: empty, generation: live.generation) }
            return report
        }
    }

    /// Objects of cgwfw's names that lack its marker: somebody else's, which cgwfw must not change or delete.
    static func foreignObjects(_ live: LiveState) -> [String] {
        let sets = foreignSets(live).map { "set \($0.spec.name)" }
        if live.mode.isAttach { return foreignChains(live).map { "chain \($0.name)" } + sets }
        guard isForeignTable(live) else { return [] }
        return ["table \(live.table)"] + foreignChains(live).map { describe($0, in: live) } + sets
    }

    /// A whole table of cgwfw's name that cgwfw did not create (whole-table mode): every object in it is foreign.
    private static func isForeignTable(_ live: LiveState) -> Bool {
        live.tableExists && !Ownership.isMarked(live.tableComment)
    }

    private static func foreignChains(_ live: LiveState) -> [ChainSpec] {
        if live.mode.isAttach { return live.chains.filter { !Ownership.isMarked($0.comment) } }
        return isForeignTable(live) ? live.chains : []
    }

    private static func foreignSets(_ live: LiveState) -> [LiveSet] {
        if live.mode.isAttach { return live.sets.filter { !Ownership.isMarked($0.spec.comment) } }
        return isForeignTable(live) ? live.sets : []
    }

    /// `chain input (hook input, policy drop, 3 rules)`.
    private static func describe(_ chain: ChainSpec, in live: LiveState, note: String? = nil) -> String {
        let rules = live.rules.filter { $0.spec.chain == chain.name }.count
        let hook = chain.base.map { "hook \($0.hook.rawValue), policy \($0.policyAccept ? "accept" : "drop"), " } ?? ""
        return "chain \(chain.name) (\(hook)\(rules) rule\(rules == 1 ? "" : "s")\(note.map { "; \($0)" } ?? ""))"
    }

    /// With --adopt, the review names everything of somebody else's that the change deletes, before anything
    /// is written: each foreign chain with its rules as nft text, each foreign set, and one warning.
    static func noteAdoption(_ live: LiveState, in report: inout ApplyReport) {
        let foreign = foreignObjects(live)
        guard !foreign.isEmpty else { return }
        /// The plan's plain `chain X` / `set X` line becomes the described one, or the described one is added.
        func replace(_ plain: String, with described: String) {
            if let index = report.removed.firstIndex(of: plain) { report.removed[index] = described } else { report.removed.append(described) }
        }
        for chain in foreignChains(live) {
            replace(Describe.chain(chain.name), with: describe(chain, in: live, note: "not cgwfw's"))
            report.removed += live.rules.filter { $0.spec.chain == chain.name }.map { Describe.rule($0.spec) + " (not cgwfw's)" }
        }
        for set in foreignSets(live) {
            let count = set.spec.elements.count
            replace(Describe.set(set.spec.name), with: Describe.set(set.spec.name) + " (\(count) element\(count == 1 ? "" : "s"); not cgwfw's)")
        }
        report.warnings.append("--adopt replaces what cgwfw did not create: \(foreign.joined(separator: ", "))")
    }

    static func refuseForeign(_ live: LiveState) throws(NetlinkError) {
        let foreign = foreignObjects(live)
        if !foreign.isEmpty { throw .foreign(table: live.table, objects: foreign) }
    }

    /// The owned state as a value that `restore` can write back; nil when cgwfw owns nothing.
    public static func restorable(_ live: LiveState) -> DesiredState? { liveContents(live, sets: live.configuredSets) }

    private static func liveContents(_ live: LiveState, sets: [SetSpec]) -> DesiredState? {
        guard !live.ownsNothing else { return nil }
        return DesiredState(table: live.table, mode: live.mode, chains: live.chains, sets: sets,
                            rules: live.rules.map(\.spec), jumps: live.jumps.map(\.spec), tableComment: live.tableComment)
    }

    /// The owned objects as nft text; with `counters`, also the counting sets' elements as the kernel holds
    /// them, with their counters and expiry.
    public static func ownedText(_ live: LiveState, counters: Bool) -> String {
        guard counters else { return restorable(live).map { NftText.table($0) } ?? "" }
        guard let state = liveContents(live, sets: live.sets.map(\.spec)) else { return "" }
        var ruleCounters: [RuleSpec: Counter] = [:]
        for rule in live.rules + live.jumps { if let c = rule.counter { ruleCounters[rule.spec] = c } }
        let elementCounters = Dictionary(live.sets.map { ($0.spec.name, $0.elementCounters) }, uniquingKeysWith: { a, _ in a })
        let elementExpiry = Dictionary(live.sets.map { ($0.spec.name, $0.elementExpiry) }, uniquingKeysWith: { a, _ in a })
        return NftText.table(state, elementCounters: elementCounters, elementExpiry: elementExpiry, ruleCounters: ruleCounters)
    }

    private func makeReport(live: LiveState, desired: DesiredState, plan: Plan) -> ApplyReport {
        let before = renderText ? Self.ownedText(live, counters: false) : ""
        let after = !renderText || desired.chains.isEmpty && desired.sets.isEmpty ? "" : NftText.table(desired)
        return ApplyReport(changed: !plan.isEmpty, table: live.table.description, added: plan.added, removed: plan.removed,
                           diff: .init(before: before, after: plan.isEmpty ? before : after), warnings: [],
                           elementsOnly: !plan.isEmpty && !plan.structural, generation: live.generation)
    }
}

extension DesiredState {
    /// cgwfw owning nothing in `table`.
    static func empty(table: TableRef, mode: OwnershipMode) -> DesiredState {
        DesiredState(table: table, mode: mode, chains: [], sets: [], rules: [], jumps: [])
    }
}
