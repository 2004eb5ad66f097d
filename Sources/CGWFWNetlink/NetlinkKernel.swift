import CGWFWModel
import CGWFWNftables
internal import CNftnl
import Glibc

/// The kernel operations the engine needs, and nothing else: read cgwfw's objects under one generation,
/// commit one transaction guarded by a generation. `NetlinkKernel` is the real one; the unit tests drive
/// the engine's decisions (planning, the generation retry, the snapshot fast path, commit-confirm's
/// restore) with a recording fake.
protocol Kernel: AnyObject {
    /// Throws `.generationChanged` when the ruleset moved while it was being read.
    func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook>, ownedContents: Bool) throws(NetlinkError) -> LiveState
    /// All of `plan` or nothing; `.generationChanged` when the ruleset is no longer at `generation`.
    func commit(_ plan: Plan, desired: DesiredState, generation: UInt32) throws(NetlinkError)
    /// SO_NETNS_COOKIE of the network namespace, when the kernel tells it.
    func networkNamespaceCookie() -> UInt64?
}

/// The kernel over one netfilter netlink socket: dumps through `Reader`, commits as one libnftnl batch.
final class NetlinkKernel: Kernel {
    private let socket: NetlinkSocket

    init() throws(NetlinkError) {
        socket = try NetlinkSocket()
    }

    func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook>, ownedContents: Bool) throws(NetlinkError) -> LiveState {
        try Reader(socket: socket).read(table: table, mode: mode, hooks: hooks, ownedContents: ownedContents)
    }

    func networkNamespaceCookie() -> UInt64? { socket.networkNamespaceCookie() }

    /// Serialises the plan into one batch (libnftnl objects, never hand-packed bytes) and commits it.
    func commit(_ plan: Plan, desired: DesiredState, generation: UInt32) throws(NetlinkError) {
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
                    if let comment = desired.tableComment {
                        Self.userdataComment(comment, type: UInt8(NFTNL_UDATA_TABLE_COMMENT.rawValue)).withUnsafeBytes {
                            _ = nftnl_table_set_data(t, UInt16(NFTNL_TABLE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count))
                        }
                    }
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
                    NamedObject.set.build(nlh, table: table.name, name: name)
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
                    if let comment = chain.comment {
                        Self.userdataComment(comment, type: UInt8(NFTNL_UDATA_CHAIN_COMMENT.rawValue)).withUnsafeBytes {
                            _ = nftnl_chain_set_data(c, UInt16(NFTNL_CHAIN_USERDATA.rawValue), $0.baseAddress, UInt32($0.count))
                        }
                    }
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
                    NamedObject.chain.build(nlh, table: table.name, name: name)
                }
            case let .flushChain(name):
                batch.add(NFT_MSG_DELRULE, family: family, object: "rules of \(Describe.chain(name)) (flush)") { nlh in
                    NamedObject.rules.build(nlh, table: table.name, name: name)
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
        try socket.commit(batch)
    }

    /// A comment as nft stores it in userdata: TLV `type` (0 for rules, tables, chains, elements), NUL-terminated.
    static func userdataComment(_ text: String, type: UInt8 = 0) -> [UInt8] {
        var bytes: [UInt8] = [type, UInt8(text.utf8.count + 1)]
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
        if let dynamic = set.dynamic {
            // What nft 1.0.6 sends for `size N; flags dynamic,timeout; timeout T` (measured with --debug=mnl).
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), NFT_SET_TIMEOUT.rawValue | NFT_SET_EVAL.rawValue)
            nftnl_set_set_u64(s, UInt16(NFTNL_SET_TIMEOUT.rawValue), dynamic.timeoutMilliseconds)
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_DESC_SIZE.rawValue), dynamic.size)
        } else {
            nftnl_set_set_u32(s, UInt16(NFTNL_SET_FLAGS.rawValue), 0)
        }
        nftnl_set_set_u32(s, UInt16(NFTNL_SET_ID.rawValue), id)
        // The set userdata nft 1.0.6 writes (key byte order; for a concatenation also its typeof record),
        // byte for byte, so `nft list` shows both paths' sets the same way.
        var userdata: [UInt8] = set.keyType.fieldCount > 1
            ? [0, 4, 0, 0, 0, 0, 3, 8, 0, 4, 0x0d, 0, 0, 0, 1, 0]
            : [0, 4, 2, 0, 0, 0]
        if let comment = set.comment { userdata += userdataComment(comment, type: UInt8(NFTNL_UDATA_SET_COMMENT.rawValue)) }
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

/// A message that names one object of the table and carries nothing else (deleting a set or a chain,
/// flushing a chain's rules): libnftnl's object of that kind with only its table and name set.
private struct NamedObject {
    let alloc: () -> OpaquePointer?
    let free: (OpaquePointer?) -> Void
    let setString: (OpaquePointer?, UInt16, UnsafePointer<CChar>?) -> Int32
    let buildPayload: (UnsafeMutablePointer<nlmsghdr>?, OpaquePointer?) -> Void
    let tableAttribute: UInt32
    let nameAttribute: UInt32

    static var set: NamedObject {
        NamedObject(alloc: nftnl_set_alloc, free: nftnl_set_free, setString: nftnl_set_set_str,
                    buildPayload: nftnl_set_nlmsg_build_payload,
                    tableAttribute: NFTNL_SET_TABLE.rawValue, nameAttribute: NFTNL_SET_NAME.rawValue)
    }

    static var chain: NamedObject {
        NamedObject(alloc: nftnl_chain_alloc, free: nftnl_chain_free, setString: nftnl_chain_set_str,
                    buildPayload: nftnl_chain_nlmsg_build_payload,
                    tableAttribute: NFTNL_CHAIN_TABLE.rawValue, nameAttribute: NFTNL_CHAIN_NAME.rawValue)
    }

    /// A rule that names only its chain: with NFT_MSG_DELRULE, every rule of the chain.
    static var rules: NamedObject {
        NamedObject(alloc: nftnl_rule_alloc, free: nftnl_rule_free, setString: nftnl_rule_set_str,
                    buildPayload: nftnl_rule_nlmsg_build_payload,
                    tableAttribute: NFTNL_RULE_TABLE.rawValue, nameAttribute: NFTNL_RULE_CHAIN.rawValue)
    }

    func build(_ nlh: UnsafeMutablePointer<nlmsghdr>, table: String, name: String) {
        let object = alloc()!
        defer { free(object) }
        _ = setString(object, UInt16(tableAttribute), table)
        _ = setString(object, UInt16(nameAttribute), name)
        buildPayload(nlh, object)
    }
}
