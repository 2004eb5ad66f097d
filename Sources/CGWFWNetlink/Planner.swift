import CGWFWModel
import CGWFWNftables
import Glibc

/// One step of a transaction, in the order the kernel must see it.
enum PlanStep {
    enum Position {
        case append
        case head
        case before(handle: UInt64)
    }
    case addTable
    case deleteTable
    case addSet(SetSpec)
    case deleteSet(String)
    case addElements(SetSpec, [SetSpec.Element])
    case deleteElements(SetSpec, [SetSpec.Element])
    case addChain(ChainSpec)
    case deleteChain(String)
    case flushChain(String)
    case addRule(RuleSpec, Position)
    case deleteRule(chain: String, handle: UInt64, tag: String)
}

/// The transaction that makes live state equal desired state, with a human account of it.
struct Plan {
    var operations: [PlanStep] = []
    var added: [String] = []
    var removed: [String] = []
    /// True when rules or chains (not only set elements) change.
    var structural = false

    var isEmpty: Bool { operations.isEmpty }
}

enum Describe {
    static func element(_ set: SetSpec, _ element: SetSpec.Element) -> String {
        let origin = element.comment.map { " (\($0))" } ?? ""
        return "element \(set.name) \(set.keyText(element.key))\(origin)"
    }
    /// The rule as nft text (also a rule somebody added by hand, without cgwfw's tag).
    static func rule(_ rule: RuleSpec) -> String {
        "rule \(rule.chain): \(NftText.rule(rule))"
    }
    static func chain(_ name: String) -> String { "chain \(name)" }
    static func set(_ name: String) -> String { "set \(name)" }
}

enum Planner {
    /// Live → desired. Only elements when only peers changed; per-rule inserts/deletes when rules changed
    /// and chains/sets kept their shape; recreation of cgwfw's objects when a chain or set changed shape.
    static func plan(live: LiveState, desired: DesiredState) -> Plan {
        var plan = Plan()
        let liveChains = Dictionary(live.chains.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let liveSets = Dictionary(live.sets.map { ($0.spec.name, $0) }, uniquingKeysWith: { a, _ in a })
        let sameShape = live.tableExists
            && live.tableComment == desired.tableComment
            && live.chains.count == desired.chains.count
            && desired.chains.allSatisfy { liveChains[$0.name] == $0 }
            && live.sets.count == desired.sets.count
            && desired.sets.allSatisfy { liveSets[$0.name]?.spec.definition == $0.definition }

        guard sameShape else {
            plan.structural = true
            if live.tableExists { removeAll(live: live, into: &plan) }
            createAll(desired, into: &plan)
            return plan
        }

        // The packet path fills the dynamic sets: their elements are the kernel's, never planned.
        for set in desired.sets where set.dynamic == nil {
            let current = liveSets[set.name]!.spec
            // Same key, new comment: delete and re-add in one transaction.
            let (gone, new) = difference(from: current.elements, to: set.elements)
            if !gone.isEmpty {
                plan.operations.append(.deleteElements(set, gone))
                plan.removed += gone.map { Describe.element(set, $0) }
            }
            if !new.isEmpty {
                plan.operations.append(.addElements(set, new))
                plan.added += new.map { Describe.element(set, $0) }
            }
        }

        for chain in desired.chains {
            let wanted = desired.rules.filter { $0.chain == chain.name }
            let current = live.rules.filter { $0.spec.chain == chain.name }
            planRules(current: current, wanted: wanted, into: &plan)
        }
        planJumps(current: live.jumps, wanted: desired.jumps, into: &plan)
        return plan
    }

    /// Elements only in `old` and only in `new`. Both sorted by key (the order cgwfw writes and remembers):
    /// one merge pass that also checks the order; otherwise (a kernel dump comes in hash order) by hashing.
    static func difference(from old: [SetSpec.Element], to new: [SetSpec.Element])
        -> (gone: [SetSpec.Element], added: [SetSpec.Element]) {
        var gone: [SetSpec.Element] = [], added: [SetSpec.Element] = []
        var i = 0, j = 0
        while i < old.count || j < new.count {
            let order = j == new.count ? -1 : i == old.count ? 1 : compareKeys(old[i].key, new[j].key)
            if order <= 0, i > 0, compareKeys(old[i - 1].key, old[i].key) >= 0 { return hashedDifference(old, new) }
            if order >= 0, j > 0, compareKeys(new[j - 1].key, new[j].key) >= 0 { return hashedDifference(old, new) }
            if order < 0 {
                gone.append(old[i]); i += 1
            } else if order > 0 {
                added.append(new[j]); j += 1
            } else {
                if old[i].comment != new[j].comment { gone.append(old[i]); added.append(new[j]) }
                i += 1; j += 1
            }
        }
        return (gone, added)
    }

    private static func hashedDifference(_ old: [SetSpec.Element], _ new: [SetSpec.Element])
        -> (gone: [SetSpec.Element], added: [SetSpec.Element]) {
        let oldSet = Set(old), newSet = Set(new)
        return (old.filter { !newSet.contains($0) }, new.filter { !oldSet.contains($0) })
    }

    /// Lexicographic order of two keys (negative, zero, positive), as `lexicographicallyPrecedes` orders them.
    static func compareKeys(_ a: [UInt8], _ b: [UInt8]) -> Int {
        a.withUnsafeBufferPointer { x in
            b.withUnsafeBufferPointer { y in
                let common = min(x.count, y.count)
                if common > 0 {
                    let result = memcmp(x.baseAddress!, y.baseAddress!, common)
                    if result != 0 { return Int(result) }
                }
                return x.count - y.count
            }
        }
    }

    /// Keeps live rules that match in order, deletes the rest, inserts the missing ones in place.
    static func planRules(current: [LiveRule], wanted: [RuleSpec], into plan: inout Plan) {
        var keptHandle: [Int: UInt64] = [:]
        var deletions: [LiveRule] = []
        var next = 0
        for (index, rule) in wanted.enumerated() {
            guard let found = current[next...].firstIndex(where: { $0.spec == rule }) else { continue }
            deletions += current[next..<found]
            keptHandle[index] = current[found].handle
            next = found + 1
        }
        deletions += current[next...]
        for rule in deletions {
            plan.operations.append(.deleteRule(chain: rule.spec.chain, handle: rule.handle, tag: rule.spec.tag))
            plan.removed.append(Describe.rule(rule.spec))
            plan.structural = true
        }
        for (index, rule) in wanted.enumerated() where keptHandle[index] == nil {
            let following = keptHandle.filter { $0.key > index }.min { $0.key < $1.key }
            plan.operations.append(.addRule(rule, following.map { .before(handle: $0.value) } ?? .append))
            plan.added.append(Describe.rule(rule))
            plan.structural = true
        }
    }

    static func planJumps(current: [LiveRule], wanted: [RuleSpec], into plan: inout Plan) {
        var unmatched = current
        for jump in wanted {
            if let index = unmatched.firstIndex(where: { $0.spec == jump }) {
                unmatched.remove(at: index)
            } else {
                plan.operations.append(.addRule(jump, .head))
                plan.added.append(Describe.rule(jump))
                plan.structural = true
            }
        }
        for rule in unmatched {
            plan.operations.append(.deleteRule(chain: rule.spec.chain, handle: rule.handle, tag: rule.spec.tag))
            plan.removed.append(Describe.rule(rule.spec))
            plan.structural = true
        }
    }

    /// Removes everything cgwfw owns: the table, or (attach) its jumps, chains and sets.
    static func removeAll(live: LiveState, into plan: inout Plan) {
        guard !live.ownsNothing else { return }
        plan.structural = true
        if !live.mode.isAttach {
            plan.operations.append(.deleteTable)
            plan.removed.append("table \(live.table)")
            return
        }
        for jump in live.jumps {
            plan.operations.append(.deleteRule(chain: jump.spec.chain, handle: jump.handle, tag: jump.spec.tag))
            plan.removed.append(Describe.rule(jump.spec))
        }
        for chain in live.chains { plan.operations.append(.flushChain(chain.name)) }
        for chain in live.chains {
            plan.operations.append(.deleteChain(chain.name))
            plan.removed.append(Describe.chain(chain.name))
        }
        for set in live.sets {
            plan.operations.append(.deleteSet(set.spec.name))
            plan.removed.append(Describe.set(set.spec.name))
        }
    }

    static func createAll(_ desired: DesiredState, into plan: inout Plan) {
        plan.structural = true
        if !desired.mode.isAttach {
            plan.operations.append(.addTable)
            plan.added.append("table \(desired.table)")
        }
        for set in desired.sets {
            plan.operations.append(.addSet(set.definition))
            plan.added.append(Describe.set(set.name))
            if !set.elements.isEmpty { plan.operations.append(.addElements(set, set.elements)) }
            plan.added += set.elements.map { Describe.element(set, $0) }
        }
        for chain in desired.chains {
            plan.operations.append(.addChain(chain))
            plan.added.append(Describe.chain(chain.name))
        }
        for rule in desired.rules {
            plan.operations.append(.addRule(rule, .append))
            plan.added.append(Describe.rule(rule))
        }
        for jump in desired.jumps {
            plan.operations.append(.addRule(jump, .head))
            plan.added.append(Describe.rule(jump))
        }
    }
}
