import CGWFWModel
import CGWFWNftables
internal import CNftnl
import Glibc

/// What apply, diff and remove report; `--json` prints exactly this shape (the Ansible module reads it).
public struct ApplyReport: Codable, Sendable {
    public struct Diff: Codable, Sendable {
        public var before: String
        public var after: String
    }
    public var changed: Bool
    public var table: String
    public var added: [String]
    public var removed: [String]
    public var diff: Diff
    public var warnings: [String]
    /// True when only set elements changed (rules and their counters stayed).
    public var elementsOnly: Bool
    /// The generation the kernel had when cgwfw read it (before its own commit).
    public var generation: UInt32
}

/// The apply engine: reads cgwfw's objects over netlink, compares them with the intent by meaning, and
/// commits one batch that makes them equal, guarded by the generation it read.
public final class Engine {
    private let socket: NetlinkSocket
    /// Test seam (and documented env hook `CGWFW_TEST_BEFORE_COMMIT`): runs between read and commit.
    public var beforeCommit: (() -> Void)?
    public var maxAttempts = 4
    /// Render `diff.before`/`diff.after` (nft text of the owned objects); off saves time on big tables.
    public var renderText = true
    /// What the last `apply` made the kernel hold (or found it already holding).
    public var lastApplied: DesiredState? {
        appliedState ?? appliedIntent.map { Lowering.desiredState(intent: $0.intent, target: $0.target) }
    }
    private var appliedState: DesiredState?
    /// After `applyElementChanges`: lowered only when asked (commit-confirm), not on every apply.
    private var appliedIntent: (intent: RuleIntent, target: ApplyTarget)?

    public init() throws(NetlinkError) {
        socket = try NetlinkSocket()
    }

    static func hooks(of intent: RuleIntent) -> Set<Hook> {
        // The hooks where cgwfw accepts peers (the MSS/DF chain accepts nothing, so a drop there is no conflict).
        Set(intent.chains.filter { $0.role != .tunnel }.map { Lowering.hook(for: $0.role) })
    }

    public func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook> = []) throws(NetlinkError) -> LiveState {
        try Reader(socket: socket).read(table: table, mode: mode, hooks: hooks)
    }

    /// Wall time of the phases of the last apply, in seconds (printed with `CGWFW_TIMING=1`, used by `make bench`).
    public private(set) var timings: [(phase: String, seconds: Double)] = []

    /// Adds a phase the caller timed (the CLI's snapshot file), so the timing line is the whole cost.
    public func recordTiming(_ phase: String, seconds: Double) { timings.append((phase, seconds)) }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The snapshot of what the last apply left (or found), for the next run's `snapshot:` argument.
    public private(set) var snapshot: OwnedSnapshot?

    public func networkNamespaceCookie() -> UInt64? { socket.networkNamespaceCookie() }

    /// The owned state as the snapshot says it, when the kernel is still at the snapshot's generation in the
    /// same namespace (nothing committed since): everything but the element and rule dumps is read.
    private func liveFromSnapshot(_ snapshot: OwnedSnapshot?, table: TableRef, mode: OwnershipMode,
                                  hooks: Set<Hook>) throws(NetlinkError) -> LiveState? {
        guard let snapshot, snapshot.state.table == table, snapshot.state.mode == mode, !mode.isAttach,
              snapshot.netnsCookie == socket.networkNamespaceCookie() else { return nil }
        var live = try Reader(socket: socket).read(table: table, mode: mode, hooks: hooks, ownedContents: false)
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
    /// The report has no `diff` text (`renderText` must be off). Standalone mode only.
    public func applyElementChanges(intent: RuleIntent, target: ApplyTarget, known: OwnedSnapshot,
                                    changes: [ElementLines.SetChange], dryRun: Bool)
        throws(NetlinkError) -> (report: ApplyReport, generation: UInt32)? {
        precondition(!renderText && changes.count == known.state.sets.count)
        let table = target.table(for: intent)
        let mode = target.mode(for: intent)
        timings = []
        snapshot = nil
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
        if dryRun { return (report, live.generation) }
        if plan.isEmpty {
            appliedState = nil
            appliedIntent = (intent, target)
            return (report, live.generation)
        }
        do {
            try commit(plan, desired: known.state, generation: live.generation)
        } catch .generationChanged {
            return nil
        }
        lap("commit")
        appliedState = nil
        appliedIntent = (intent, target)
        return (report, live.generation &+ 1 == 0 ? 1 : live.generation &+ 1)
    }

    /// Makes the kernel match `intent` (or, with `dryRun`, says what that would change).
    /// - Parameter snapshot: what an earlier apply left; used only while the generation still matches.
    public func apply(intent: RuleIntent, target: ApplyTarget, dryRun: Bool,
                      snapshot previous: OwnedSnapshot? = nil) throws(NetlinkError) -> ApplyReport {
        let table = target.table(for: intent)
        let mode = target.mode(for: intent)
        timings = []
        snapshot = nil
        for attempt in 1...maxAttempts {
            var start = Self.now()
            func lap(_ phase: String) {
                let end = Self.now()
                timings.append((phase, end - start))
                start = end
            }
            var live: LiveState
            var fromSnapshot = false
            if attempt == 1, let known = try liveFromSnapshot(previous, table: table, mode: mode, hooks: Self.hooks(of: intent)) {
                live = known
                fromSnapshot = true
            } else {
                live = try read(table: table, mode: mode, hooks: Self.hooks(of: intent))
            }
            lap("read")
            if mode.isAttach && !live.tableExists {
                throw .refused(object: "table \(table) (named by --attach / attach)", errno: ENOENT,
                               detail: "create it first, or run without --attach to let cgwfw own a table")
            }
            var desired = Lowering.desiredState(intent: intent, target: target, attachedBaseChains: live.attachedBaseChains)
            lap("lower")
            var plan = Planner.plan(live: live, desired: desired)
            if fromSnapshot && plan.structural {
                // Rules or shapes change: work from the kernel's own account (rule handles).
                live = try read(table: table, mode: mode, hooks: Self.hooks(of: intent))
                desired = Lowering.desiredState(intent: intent, target: target, attachedBaseChains: live.attachedBaseChains)
                plan = Planner.plan(live: live, desired: desired)
            }
            var report = makeReport(live: live, desired: desired, plan: plan)
            report.warnings = CoexistenceWarnings.warnings(live: live, families: Set(desired.sets.filter { !$0.elements.isEmpty }.map(\.keyType.family)),
                                       target: target)
            lap("plan")
            if dryRun { return report }
            let cookie = socket.networkNamespaceCookie()
            if plan.isEmpty {
                appliedState = desired
                appliedIntent = nil
                snapshot = cookie.map { OwnedSnapshot(netnsCookie: $0, generation: live.generation, state: desired) }
                return report
            }
            do {
                try commit(plan, desired: desired, generation: live.generation)
                lap("commit")
                appliedState = desired
                appliedIntent = nil
                // One committed transaction moves the generation by exactly one (never to 0).
                let next = live.generation &+ 1 == 0 ? 1 : live.generation &+ 1
                snapshot = cookie.map { OwnedSnapshot(netnsCookie: $0, generation: next, state: desired) }
                return report
            } catch .generationChanged {
                if attempt == maxAttempts { throw .raceLost(attempts: attempt) }
                usleep(UInt32(20_000 * attempt))
            }
        }
        throw .raceLost(attempts: maxAttempts)
    }

    /// Makes the kernel hold exactly `state` of cgwfw's objects (commit-confirm's restore), or nothing.
    public func restore(_ state: DesiredState?, table: TableRef, mode: OwnershipMode) throws(NetlinkError) -> ApplyReport {
        for attempt in 1...maxAttempts {
            let live = try read(table: table, mode: mode)
            var plan = Plan()
            if let state {
                plan = Planner.plan(live: live, desired: state)
            } else {
                Planner.removeAll(live: live, into: &plan)
            }
            let empty = DesiredState(table: table, mode: mode, chains: [], sets: [], rules: [], jumps: [])
            let report = makeReport(live: live, desired: state ?? empty, plan: plan)
            if plan.isEmpty { return report }
            do {
                try commit(plan, desired: state ?? empty, generation: live.generation)
                return report
            } catch .generationChanged {
                if attempt == maxAttempts { throw .raceLost(attempts: attempt) }
            }
        }
        throw .raceLost(attempts: maxAttempts)
    }

    /// Removes everything cgwfw owns in `table` (attach mode: its chains, sets and jumps only).
    public func remove(table: TableRef, mode: OwnershipMode, dryRun: Bool) throws(NetlinkError) -> ApplyReport {
        for attempt in 1...maxAttempts {
            let live = try read(table: table, mode: mode)
            var plan = Plan()
            Planner.removeAll(live: live, into: &plan)
            let empty = DesiredState(table: table, mode: mode, chains: [], sets: [], rules: [], jumps: [])
            let report = makeReport(live: live, desired: empty, plan: plan)
            if plan.isEmpty || dryRun { return report }
            do {
                try commit(plan, desired: empty, generation: live.generation)
                return report
            } catch .generationChanged {
                if attempt == maxAttempts { throw .raceLost(attempts: attempt) }
            }
        }
        throw .raceLost(attempts: maxAttempts)
    }

    /// The owned state as a value that `restore` can write back; nil when cgwfw owns nothing.
    /// Throws when it holds something cgwfw cannot rewrite exactly (a hand-edited rule).
    public static func restorable(_ live: LiveState) -> DesiredState? {
        guard !live.ownsNothing else { return nil }
        return DesiredState(table: live.table, mode: live.mode, chains: live.chains, sets: live.sets.map(\.spec),
                            rules: live.rules.map(\.spec), jumps: live.jumps.map(\.spec))
    }

    public static func ownedText(_ live: LiveState, counters: Bool) -> String {
        guard let state = restorable(live) else { return "" }
        guard counters else { return NftText.table(state) }
        var ruleCounters: [RuleSpec: Counter] = [:]
        for rule in live.rules + live.jumps { if let c = rule.counter { ruleCounters[rule.spec] = c } }
        let elementCounters = Dictionary(live.sets.map { ($0.spec.name, $0.elementCounters) }, uniquingKeysWith: { a, _ in a })
        return NftText.table(state, elementCounters: elementCounters, ruleCounters: ruleCounters)
    }

    private func makeReport(live: LiveState, desired: DesiredState, plan: Plan) -> ApplyReport {
        let before = renderText ? Self.ownedText(live, counters: false) : ""
        let after = !renderText || desired.chains.isEmpty && desired.sets.isEmpty ? "" : NftText.table(desired)
        return ApplyReport(changed: !plan.isEmpty, table: live.table.description, added: plan.added, removed: plan.removed,
                           diff: .init(before: before, after: plan.isEmpty ? before : after), warnings: [],
                           elementsOnly: !plan.isEmpty && !plan.structural, generation: live.generation)
    }

    // MARK: - Batch

    private func commit(_ plan: Plan, desired: DesiredState, generation: UInt32) throws(NetlinkError) {
        let batch = Batch(socket: socket, generation: generation)
        let table = desired.table
        let family = table.family.nfproto
        var setIDs: [String: UInt32] = [:]
        for operation in plan.operations {
            switch operation {
            case .addTable:
                batch.add(NFT_MSG_NEWTABLE, family: family, flags: NLM_F_CREATE, object: "table \(table)") { nlh in
                    let t = nftnl_table_alloc()!
                    defer { nftnl_table_free(t) }
                    nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table.name)
                    nftnl_table_set_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue), UInt32(family))
                    nftnl_table_nlmsg_build_payload(nlh, t)
                }
            case .deleteTable:
                batch.add(NFT_MSG_DELTABLE, family: family, object: "table \(table) (delete)") { nlh in
                    let t = nftnl_table_alloc()!
                    defer { nftnl_table_free(t) }
                    nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), table.name)
                    nftnl_table_nlmsg_build_payload(nlh, t)
                }
            case let .addSet(set):
                let id = UInt32(setIDs.count + 1)
                setIDs[set.name] = id
                batch.add(NFT_MSG_NEWSET, family: family, flags: NLM_F_CREATE, object: Describe.set(set.name)) { nlh in
                    let s = Self.makeSet(set, table: table, id: id)
                    defer { nftnl_set_free(s) }
                    nftnl_set_nlmsg_build_payload(nlh, s)
                }
            case let .deleteSet(name):
                batch.add(NFT_MSG_DELSET, family: family, object: "\(Describe.set(name)) (delete)") { nlh in
                    let s = nftnl_set_alloc()!
                    defer { nftnl_set_free(s) }
                    nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table.name)
                    nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), name)
                    nftnl_set_nlmsg_build_payload(nlh, s)
                }
            case let .addElements(set, elements):
                addElements(batch, set: set, elements: elements, table: table, delete: false)
            case let .deleteElements(set, elements):
                addElements(batch, set: set, elements: elements, table: table, delete: true)
            case let .addChain(chain):
                batch.add(NFT_MSG_NEWCHAIN, family: family, flags: NLM_F_CREATE, object: Describe.chain(chain.name)) { nlh in
                    let c = nftnl_chain_alloc()!
                    defer { nftnl_chain_free(c) }
                    nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), table.name)
                    nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue), chain.name)
                    nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_FAMILY.rawValue), UInt32(family))
                    if let base = chain.base {
                        nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), base.hook.number)
                        nftnl_chain_set_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue), base.priority)
                        nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TYPE.rawValue), base.type)
                        nftnl_chain_set_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(base.policyAccept ? NF_ACCEPT : NF_DROP))
                    }
                    nftnl_chain_nlmsg_build_payload(nlh, c)
                }
            case let .deleteChain(name):
                batch.add(NFT_MSG_DELCHAIN, family: family, object: "\(Describe.chain(name)) (delete)") { nlh in
                    let c = nftnl_chain_alloc()!
                    defer { nftnl_chain_free(c) }
                    nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue), table.name)
                    nftnl_chain_set_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
                    nftnl_chain_nlmsg_build_payload(nlh, c)
                }
            case let .flushChain(name):
                batch.add(NFT_MSG_DELRULE, family: family, object: "rules of \(Describe.chain(name)) (flush)") { nlh in
                    let r = nftnl_rule_alloc()!
                    defer { nftnl_rule_free(r) }
                    nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table.name)
                    nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), name)
                    nftnl_rule_nlmsg_build_payload(nlh, r)
                }
            case let .addRule(rule, position):
                var flags = NLM_F_CREATE
                if case .append = position { flags |= NLM_F_APPEND }
                var anonymousIDs: [UInt32] = []
                for case let .interfaceSet(patterns, key, _) in rule.exprs {
                    let id = UInt32(setIDs.count + 1)
                    setIDs["\(Expr.anonymousSetName)#\(id)"] = id
                    anonymousIDs.append(id)
                    addInterfaceSet(batch, patterns: patterns, matching: key, id: id, table: table, rule: rule)
                }
                batch.add(NFT_MSG_NEWRULE, family: family, flags: flags, object: Describe.rule(rule)) { nlh in
                    let r = Self.makeRule(rule, table: table, anonymousSetIDs: anonymousIDs)
                    defer { nftnl_rule_free(r) }
                    if case let .before(handle) = position { nftnl_rule_set_u64(r, UInt16(NFTNL_RULE_POSITION.rawValue), handle) }
                    nftnl_rule_nlmsg_build_payload(nlh, r)
                }
            case let .deleteRule(chain, handle, tag):
                batch.add(NFT_MSG_DELRULE, family: family, object: "rule \(chain) \(tag) (delete, handle \(handle))") { nlh in
                    let r = nftnl_rule_alloc()!
                    defer { nftnl_rule_free(r) }
                    nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table.name)
                    nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
                    nftnl_rule_set_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue), handle)
                    nftnl_rule_nlmsg_build_payload(nlh, r)
                }
            }
        }
        batch.finish()
        beforeCommit?()
        try socket.commit(batch)
    }

    private static func userdataComment(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = [0, UInt8(text.utf8.count + 1)]
        bytes += Array(text.utf8) + [0]
        return bytes
    }

    private static func makeSet(_ set: SetSpec, table: TableRef, id: UInt32) -> OpaquePointer {
        let s = nftnl_set_alloc()!
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table.name)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set.name)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(table.family.nfproto))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue), set.keyType.nftTypeID)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_LEN.rawValue), UInt32(set.keyType.keyLength))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), 0)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), id)
        // The set userdata nft 1.0.6 writes (key byte order; for a concatenation also its typeof record),
        // byte for byte, so `nft list` shows both paths' sets the same way.
        let userdata: [UInt8] = set.keyType.fieldCount > 1
            ? [0, 4, 0, 0, 0, 0, 3, 8, 0, 4, 0x0d, 0, 0, 0, 1, 0]
            : [0, 4, 2, 0, 0, 0]
        userdata.withUnsafeBytes { _ = nftnl_set_set_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
        if set.counters { nftnl_set_add_expr(s, nftnl_expr_alloc("counter")) }
        return s
    }

    /// The anonymous constant set of one rule's `oifname { ... }`, as nft 1.0.6 creates it (same flags,
    /// size and userdata; an interval set when a wildcard is among the names).
    private func addInterfaceSet(_ batch: Batch, patterns: [InterfacePattern], matching key: Expr.MetaKey, id: UInt32,
                                 table: TableRef, rule: RuleSpec) {
        let elements = InterfaceSetElements.encode(patterns)
        var flags = NFT_SET_ANONYMOUS.rawValue | NFT_SET_CONSTANT.rawValue
        if InterfaceSetElements.isInterval(patterns) { flags |= NFT_SET_INTERVAL.rawValue }
        let s = nftnl_set_alloc()!
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table.name)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), Expr.anonymousSetName)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(table.family.nfproto))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), UInt32(flags))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue), 41)   // nft's ifname datatype
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_KEY_LEN.rawValue), UInt32(InterfaceSetElements.keyLength))
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), id)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_DESC_SIZE.rawValue), UInt32(elements.count))
        // Key byte order "host", typeof `meta oifname`/`meta iifname` (expression type 9, meta key).
        let userdata: [UInt8] = [0, 4, 1, 0, 0, 0, 3, 14, 0, 4, 9, 0, 0, 0, 1, 6, 0, 4, UInt8(key.rawValue), 0, 0, 0]
        userdata.withUnsafeBytes { _ = nftnl_set_set_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
        batch.add(NFT_MSG_NEWSET, family: table.family.nfproto, flags: NLM_F_CREATE,
                  object: "interface set of \(Describe.rule(rule))") { nlh in
            nftnl_set_nlmsg_build_payload(nlh, s)
        }
        for element in elements {
            let e = nftnl_set_elem_alloc()!
            element.key.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count)) }
            if element.intervalEnd { nftnl_set_elem_set_u32(e, UInt16(NFTNL_SET_ELEM_FLAGS), UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue)) }
            nftnl_set_elem_add(s, e)
        }
        batch.add(NFT_MSG_NEWSETELEM, family: table.family.nfproto, flags: NLM_F_CREATE,
                  object: "interfaces of \(Describe.rule(rule))") { nlh in
            nftnl_set_elems_nlmsg_build_payload(nlh, s)
        }
    }

    static func makeRule(_ rule: RuleSpec, table: TableRef, anonymousSetIDs: [UInt32] = []) -> OpaquePointer {
        let r = nftnl_rule_alloc()!
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table.name)
        nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), rule.chain)
        nftnl_rule_set_u32(r, UInt16(NFTNL_RULE_FAMILY.rawValue), UInt32(table.family.nfproto))
        var ids = anonymousSetIDs.makeIterator()
        for expr in rule.exprs {
            if case .interfaceSet = expr {
                nftnl_rule_add_expr(r, expr.makeNftnl(anonymousSetID: ids.next() ?? 0))
            } else {
                nftnl_rule_add_expr(r, expr.makeNftnl())
            }
        }
        if !rule.comment.isEmpty {
            let udata = userdataComment(rule.comment)
            udata.withUnsafeBytes { _ = nftnl_rule_set_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
        }
        return r
    }

    /// NEWSETELEM/DELSETELEM messages, each under the kernel's 64 KiB attribute cap.
    private func addElements(_ batch: Batch, set: SetSpec, elements: [SetSpec.Element], table: TableRef, delete: Bool) {
        let s = nftnl_set_alloc()!
        defer { nftnl_set_free(s) }
        nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table.name)
        nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), set.name)
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_FAMILY.rawValue), UInt32(table.family.nfproto))
        for element in elements {
            let e = nftnl_set_elem_alloc()!
            element.key.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_KEY), $0.baseAddress, UInt32($0.count)) }
            if !delete, let comment = element.comment {
                let udata = Self.userdataComment(comment)
                udata.withUnsafeBytes { _ = nftnl_set_elem_set(e, UInt16(NFTNL_SET_ELEM_USERDATA), $0.baseAddress, UInt32($0.count)) }
            }
            nftnl_set_elem_add(s, e)
        }
        let iterator = nftnl_set_elems_iter_create(s)!
        defer { nftnl_set_elems_iter_destroy(iterator) }
        var more = true
        var part = 0
        while more {
            part += 1
            let what = "\(delete ? "deleting" : "adding") \(elements.count) element(s) of \(Describe.set(set.name))"
                + (part > 1 || elements.count > 1000 ? " (message \(part))" : "")
            batch.add(delete ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM, family: table.family.nfproto,
                      flags: delete ? 0 : NLM_F_CREATE, object: what) { nlh in
                more = nftnl_set_elems_nlmsg_build_payload_iter(nlh, iterator) == 1
            }
        }
    }
}
