import CGWFWModel
import CGWFWNftables
internal import CNftnl
import Glibc

/// A set read from the kernel, with per-element counters when the set has them.
public struct LiveSet: Sendable {
    public var spec: SetSpec
    public var elementCounters: [[UInt8]: Counter]
    /// Dynamic sets: per element, milliseconds until it expires (its last packet was `timeout - this` ago).
    public var elementExpiry: [[UInt8]: UInt64] = [:]
    /// Per element of `spec`: whether it carries NFT_SET_ELEM_INTERVAL_END (interval sets only).
    public var intervalEnds: [Bool] = []
}

/// A base chain of a table cgwfw does not own, and whether it may drop packets (for the conflict warning).
public struct ForeignBaseChain: Sendable {
    public var table: TableRef
    public var chain: ChainSpec
    public var hasDropRule: Bool
}

/// What the kernel holds of cgwfw's objects, read under one generation.
public struct LiveState: Sendable {
    public var generation: UInt32
    public var table: TableRef
    public var tableExists: Bool
    /// The table's comment (`Ownership.marker` when cgwfw created it).
    public var tableComment: String?
    public var chains: [ChainSpec]
    public var sets: [LiveSet]
    /// Rules of cgwfw's chains, in chain order.
    public var rules: [LiveRule]
    /// Attach mode: cgwfw's tagged jump rules in the table's own base chains.
    public var jumps: [LiveRule]
    /// Attach mode: the table's own base chains (where jumps go).
    public var attachedBaseChains: [ChainSpec]
    /// Base chains of every other table, for the conflict warning.
    public var foreignBaseChains: [ForeignBaseChain]

    public var mode: OwnershipMode

    /// True when cgwfw owns nothing in the kernel.
    public var ownsNothing: Bool {
        mode.isAttach ? chains.isEmpty && sets.isEmpty && jumps.isEmpty : !tableExists
    }
}

/// Reads the ruleset over netlink, filtered to what cgwfw owns (plus foreign base chains, read-only).
struct Reader {
    let socket: NetlinkSocket

    private func parse<T>(_ messages: [[UInt8]], alloc: () -> OpaquePointer, free: (OpaquePointer) -> Void,
                          parse: (UnsafePointer<nlmsghdr>, OpaquePointer) -> Int32,
                          read: (OpaquePointer) -> T) -> [T] {
        messages.compactMap { message in
            let object = alloc()
            defer { free(object) }
            let ok = message.withUnsafeBytes { parse($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), object) }
            return ok < 0 ? nil : read(object)
        }
    }

    private static func string(_ p: UnsafePointer<CChar>?) -> String { p.map { String(cString: $0) } ?? "" }

    private struct ChainRow {
        var table: TableRef
        var spec: ChainSpec
    }

    private struct TableRow {
        var table: TableRef
        var comment: String?
    }

    private func tables() throws(NetlinkError) -> [TableRow] {
        let messages = try socket.request(type: UInt16(NFT_MSG_GETTABLE.rawValue), family: UInt8(AF_UNSPEC),
                                          flags: UInt16(NLM_F_DUMP))
        return parse(messages, alloc: { nftnl_table_alloc()! }, free: { nftnl_table_free($0) },
                     parse: { nftnl_table_nlmsg_parse($0, $1) }) { t -> TableRow? in
            guard let family = TableFamily(nfproto: nftnl_table_get_u32(t, UInt16(NFTNL_TABLE_FAMILY.rawValue))) else { return nil }
            let table = TableRef(family: family, name: Self.string(nftnl_table_get_str(t, UInt16(NFTNL_TABLE_NAME.rawValue))))
            var comment: String?
            var length: UInt32 = 0
            if nftnl_table_is_set(t, UInt16(NFTNL_TABLE_USERDATA.rawValue)),
               let data = nftnl_table_get_data(t, UInt16(NFTNL_TABLE_USERDATA.rawValue), &length) {
                comment = Self.commentFromUserdata(Array(UnsafeRawBufferPointer(start: data, count: Int(length))),
                                                   type: UInt8(NFTNL_UDATA_TABLE_COMMENT.rawValue))
            }
            return TableRow(table: table, comment: comment)
        }.compactMap { $0 }
    }

    private func chains() throws(NetlinkError) -> [ChainRow] {
        let messages = try socket.request(type: UInt16(NFT_MSG_GETCHAIN.rawValue), family: UInt8(AF_UNSPEC),
                                          flags: UInt16(NLM_F_DUMP))
        return parse(messages, alloc: { nftnl_chain_alloc()! }, free: { nftnl_chain_free($0) },
                     parse: { nftnl_chain_nlmsg_parse($0, $1) }) { c -> ChainRow? in
            func has(_ a: nftnl_chain_attr) -> Bool { nftnl_chain_is_set(c, UInt16(a.rawValue)) }
            guard let family = TableFamily(nfproto: nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_FAMILY.rawValue))) else { return nil }
            let table = TableRef(family: family, name: Self.string(nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_TABLE.rawValue))))
            var spec = ChainSpec(name: Self.string(nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_NAME.rawValue))))
            var length: UInt32 = 0
            if has(NFTNL_CHAIN_USERDATA), let data = nftnl_chain_get_data(c, UInt16(NFTNL_CHAIN_USERDATA.rawValue), &length) {
                spec.comment = Self.commentFromUserdata(Array(UnsafeRawBufferPointer(start: data, count: Int(length))),
                                                        type: UInt8(NFTNL_UDATA_CHAIN_COMMENT.rawValue))
            }
            if has(NFTNL_CHAIN_HOOKNUM), let hook = Hook(number: nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue))) {
                spec.base = ChainSpec.Base(type: Self.string(nftnl_chain_get_str(c, UInt16(NFTNL_CHAIN_TYPE.rawValue))), hook: hook,
                                           priority: nftnl_chain_get_s32(c, UInt16(NFTNL_CHAIN_PRIO.rawValue)),
                                           policyAccept: nftnl_chain_get_u32(c, UInt16(NFTNL_CHAIN_POLICY.rawValue)) == UInt32(NF_ACCEPT))
            }
            return ChainRow(table: table, spec: spec)
        }.compactMap { $0 }
    }

    /// Rules of one table (optionally one chain), with tags, expressions and counters.
    func rules(of table: TableRef, chain: String? = nil) throws(NetlinkError) -> [LiveRule] {
        let messages = try socket.request(type: UInt16(NFT_MSG_GETRULE.rawValue), family: table.family.nfproto,
                                          flags: UInt16(NLM_F_DUMP)) { nlh in
            let r = nftnl_rule_alloc()!
            defer { nftnl_rule_free(r) }
            nftnl_rule_set_str(r, UInt16(NFTNL_RULE_TABLE.rawValue), table.name)
            if let chain { nftnl_rule_set_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue), chain) }
            nftnl_rule_nlmsg_build_payload(nlh, r)
        }
        return parse(messages, alloc: { nftnl_rule_alloc()! }, free: { nftnl_rule_free($0) },
                     parse: { nftnl_rule_nlmsg_parse($0, $1) }) { r -> LiveRule in
            var exprs: [Expr] = []
            var counter: Counter?
            let iterator = nftnl_expr_iter_create(r)!
            while let e = nftnl_expr_iter_next(iterator) {
                let (expr, c) = Expr.decode(e)
                exprs.append(expr)
                if let c, counter == nil { counter = c }
            }
            nftnl_expr_iter_destroy(iterator)
            var length: UInt32 = 0
            var comment = ""
            if nftnl_rule_is_set(r, UInt16(NFTNL_RULE_USERDATA.rawValue)), let data = nftnl_rule_get_data(r, UInt16(NFTNL_RULE_USERDATA.rawValue), &length) {
                comment = Self.commentFromUserdata(Array(UnsafeRawBufferPointer(start: data, count: Int(length)))) ?? ""
            }
            let spec = RuleSpec(chain: Self.string(nftnl_rule_get_str(r, UInt16(NFTNL_RULE_CHAIN.rawValue))),
                                tag: Lowering.tag(fromComment: comment), comment: comment, exprs: exprs)
            return LiveRule(spec: spec, handle: nftnl_rule_get_u64(r, UInt16(NFTNL_RULE_HANDLE.rawValue)), counter: counter)
        }
    }

    /// Replaces lookups in the anonymous sets nft and cgwfw create for `oifname { ... }` by their contents,
    /// so such rules compare by meaning (the kernel numbers these sets `__set0`, `__set1`, ...).
    private func resolveInterfaceSets(_ rules: [LiveRule], table: TableRef) throws(NetlinkError) -> [LiveRule] {
        var result = rules
        for r in result.indices {
            var exprs = result[r].spec.exprs
            for i in exprs.indices.dropFirst() {
                guard case let .lookup(set, sreg, false) = exprs[i], set.hasPrefix("__set"),
                      case let .meta(key, _) = exprs[i - 1], key == .iifname || key == .oifname else { continue }
                let definition = SetSpec(name: set, keyType: .address(.ipv4), counters: false, elements: [])
                let live = try elements(of: table, set: definition)
                let read = zip(live.spec.elements, live.intervalEnds).map {
                    InterfaceSetElements.Element(key: $0.key, intervalEnd: $1)
                }
                if let patterns = InterfaceSetElements.decode(read) {
                    exprs[i] = .interfaceSet(patterns: patterns, matching: key, sreg: sreg)
                } else {
                    exprs[i] = .other(name: "lookup \(set) (interface set cgwfw does not write)", verdict: nil)
                }
            }
            result[r].spec.exprs = exprs
        }
        return result
    }

    /// The comment (udata TLV `type`, NUL-terminated) of a rule, set element, table, chain or set.
    static func commentFromUserdata(_ bytes: [UInt8], type wanted: UInt8 = 0) -> String? {
        var offset = 0
        while offset + 2 <= bytes.count {
            let type = bytes[offset], length = Int(bytes[offset + 1])
            guard offset + 2 + length <= bytes.count else { return nil }
            if type == wanted {
                return String(decoding: bytes[(offset + 2)..<(offset + 2 + length)].prefix { $0 != 0 }, as: UTF8.self)
            }
            offset += 2 + length
        }
        return nil
    }

    private func sets(of table: TableRef, owned: (String) -> Bool) throws(NetlinkError) -> [LiveSet] {
        let messages = try socket.request(type: UInt16(NFT_MSG_GETSET.rawValue), family: table.family.nfproto,
                                          flags: UInt16(NLM_F_DUMP)) { nlh in
            let s = nftnl_set_alloc()!
            defer { nftnl_set_free(s) }
            nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table.name)
            nftnl_set_nlmsg_build_payload(nlh, s)
        }
        let definitions = parse(messages, alloc: { nftnl_set_alloc()! }, free: { nftnl_set_free($0) },
                                parse: { nftnl_set_nlmsg_parse($0, $1) }) { s -> SetSpec? in
            let name = Self.string(nftnl_set_get_str(s, UInt16(NFTNL_SET_NAME.rawValue)))
            let flags = nftnl_set_get_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue))
            guard flags & UInt32(NFT_SET_ANONYMOUS.rawValue) == 0, owned(name) else { return nil }
            guard let keyType = SetSpec.KeyType(nftTypeID: nftnl_set_get_u32(s, UInt16(NFTNL_SET_KEY_TYPE.rawValue))) else {
                // A set cgwfw would never write: it differs from any desired set, so apply recreates it.
                return SetSpec(name: name, keyType: .address(.ipv4), counters: false,
                               elements: [SetSpec.Element(key: [], comment: "foreign type")])
            }
            var counters = false
            if nftnl_set_is_set(s, UInt16(NFTNL_SET_EXPR.rawValue)),
               let e = nftnl_set_get(s, UInt16(NFTNL_SET_EXPR.rawValue)).map({ OpaquePointer($0) }) {
                counters = Self.string(nftnl_expr_get_str(e, UInt16(NFTNL_EXPR_NAME))) == "counter"
            }
            let dynamicFlags = NFT_SET_TIMEOUT.rawValue | NFT_SET_EVAL.rawValue
            var dynamic: SetSpec.Dynamic?
            if flags & ~UInt32(NFT_SET_CONCAT.rawValue) == dynamicFlags {
                dynamic = SetSpec.Dynamic(timeoutMilliseconds: nftnl_set_get_u64(s, UInt16(NFTNL_SET_TIMEOUT.rawValue)),
                                          size: nftnl_set_get_u32(s, UInt16(NFTNL_SET_DESC_SIZE.rawValue)))
            }
            let unusual = dynamic == nil && flags != 0 && flags & ~UInt32(NFT_SET_CONCAT.rawValue) != 0
            var comment: String?
            var length: UInt32 = 0
            if nftnl_set_is_set(s, UInt16(NFTNL_SET_USERDATA.rawValue)),
               let data = nftnl_set_get_data(s, UInt16(NFTNL_SET_USERDATA.rawValue), &length) {
                comment = Self.commentFromUserdata(Array(UnsafeRawBufferPointer(start: data, count: Int(length))),
                                                   type: UInt8(NFTNL_UDATA_SET_COMMENT.rawValue))
            }
            return SetSpec(name: name, keyType: keyType, counters: counters && !unusual, elements: [], comment: comment,
                           dynamic: dynamic)
        }.compactMap { $0 }
        var result: [LiveSet] = []
        for definition in definitions {
            result.append(try elements(of: table, set: definition))
        }
        return result
    }

    private final class ElementCollector {
        var elements: [SetSpec.Element] = []
        var intervalEnds: [Bool] = []
        var counters: [[UInt8]: Counter] = [:]
        var expiry: [[UInt8]: UInt64] = [:]
    }

    private func elements(of table: TableRef, set definition: SetSpec) throws(NetlinkError) -> LiveSet {
        let messages = try socket.request(type: UInt16(NFT_MSG_GETSETELEM.rawValue), family: table.family.nfproto,
                                          flags: UInt16(NLM_F_DUMP)) { nlh in
            let s = nftnl_set_alloc()!
            defer { nftnl_set_free(s) }
            nftnl_set_set_str(s, UInt16(NFTNL_SET_TABLE.rawValue), table.name)
            nftnl_set_set_str(s, UInt16(NFTNL_SET_NAME.rawValue), definition.name)
            nftnl_set_elems_nlmsg_build_payload(nlh, s)
        }
        let collector = ElementCollector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        for message in messages {
            let s = nftnl_set_alloc()!
            defer { nftnl_set_free(s) }
            let ok = message.withUnsafeBytes { nftnl_set_elems_nlmsg_parse($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), s) }
            guard ok >= 0 else { continue }
            nftnl_set_elem_foreach(s, { e, data in
                let collector = Unmanaged<ElementCollector>.fromOpaque(data!).takeUnretainedValue()
                guard let e else { return 0 }
                var length: UInt32 = 0
                guard let keyPointer = nftnl_set_elem_get(e, UInt16(NFTNL_SET_ELEM_KEY), &length) else { return 0 }
                let key = Array(UnsafeRawBufferPointer(start: keyPointer, count: Int(length)))
                var comment: String?
                if nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_USERDATA)),
                   let data = nftnl_set_elem_get(e, UInt16(NFTNL_SET_ELEM_USERDATA), &length) {
                    comment = Reader.commentFromUserdata(Array(UnsafeRawBufferPointer(start: data, count: Int(length))))
                }
                collector.elements.append(SetSpec.Element(key: key, comment: comment))
                let flags = nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_FLAGS))
                    ? nftnl_set_elem_get_u32(e, UInt16(NFTNL_SET_ELEM_FLAGS)) : 0
                collector.intervalEnds.append(flags & UInt32(NFT_SET_ELEM_INTERVAL_END.rawValue) != 0)
                if nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_EXPR)),
                   let expr = nftnl_set_elem_get(e, UInt16(NFTNL_SET_ELEM_EXPR), &length).map({ OpaquePointer($0) }),
                   case let (.counter, counter?) = Expr.decode(expr) {
                    collector.counters[key] = counter
                }
                if nftnl_set_elem_is_set(e, UInt16(NFTNL_SET_ELEM_EXPIRATION)) {
                    collector.expiry[key] = nftnl_set_elem_get_u64(e, UInt16(NFTNL_SET_ELEM_EXPIRATION))
                }
                return 0
            }, context)
        }
        var spec = definition
        spec.elements = collector.elements
        return LiveSet(spec: spec, elementCounters: collector.counters, elementExpiry: collector.expiry,
                       intervalEnds: collector.intervalEnds)
    }

    /// Reads everything `read` needs under one generation; throws `.generationChanged` when it moved during
    /// the dumps (the engine's one retry loop reads again).
    /// - Parameter ownedContents: false skips the owned sets' elements and rules (the caller knows them).
    func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook>, ownedContents: Bool = true) throws(NetlinkError) -> LiveState {
        let generation = try socket.generation()
        let state = try readOnce(generation: generation, table: table, mode: mode, hooks: hooks, ownedContents: ownedContents)
        guard try socket.generation() == generation else { throw .generationChanged }
        return state
    }

    private func readOnce(generation: UInt32, table: TableRef, mode: OwnershipMode, hooks: Set<Hook>,
                          ownedContents: Bool) throws(NetlinkError) -> LiveState {
        let allTables = try tables()
        let allChains = try chains()
        let row = allTables.first { $0.table == table }
        let exists = row != nil
        var state = LiveState(generation: generation, table: table, tableExists: exists, tableComment: row?.comment,
                              chains: [], sets: [], rules: [], jumps: [], attachedBaseChains: [], foreignBaseChains: [], mode: mode)
        let prefix: String
        if case let .attach(p) = mode { prefix = p } else { prefix = "" }
        func owned(_ name: String) -> Bool { prefix.isEmpty || name.hasPrefix(prefix) }

        if exists && ownedContents {
            let tableChains = allChains.filter { $0.table == table }.map(\.spec)
            state.chains = tableChains.filter { owned($0.name) }
            if mode.isAttach { state.attachedBaseChains = tableChains.filter { $0.base != nil && !owned($0.name) } }
            state.sets = try sets(of: table, owned: owned)
            let all = try resolveInterfaceSets(try rules(of: table), table: table)
            let order = Dictionary(uniqueKeysWithValues: state.chains.enumerated().map { ($1.name, $0) })
            state.rules = all.filter { order[$0.spec.chain] != nil }
            // Stable: rules arrive in chain order within a chain; group chains in table order.
            state.rules.sort { order[$0.spec.chain]! < order[$1.spec.chain]! }
            if mode.isAttach {
                state.jumps = all.filter { rule in
                    guard order[rule.spec.chain] == nil, rule.spec.tag.hasPrefix("\(prefix)jump-"),
                          rule.spec.exprs.count == 1, case .verdict(.jump) = rule.spec.exprs[0] else { return false }
                    return true
                }
            }
        }
        for row in allChains where row.table != table {
            guard let base = row.spec.base, hooks.contains(base.hook),
                  [.ip, .ip6, .inet].contains(row.table.family) else { continue }
            let hasDrop = try rules(of: row.table, chain: row.spec.name).contains { rule in
                rule.spec.exprs.contains { expr in
                    switch expr {
                    case .verdict(.drop), .other(_, .reject): return true
                    default: return false
                    }
                }
            }
            state.foreignBaseChains.append(ForeignBaseChain(table: row.table, chain: row.spec, hasDropRule: hasDrop))
        }
        return state
    }
}
