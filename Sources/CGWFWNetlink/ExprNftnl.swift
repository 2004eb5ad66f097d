import CGWFWNftables
internal import CNftnl

extension Expr {
    /// nft's name for a set it creates for one rule; the kernel picks the number.
    static let anonymousSetName = "__set%d"

    /// A new libnftnl expression for this value; the caller adds it to a rule (which takes ownership).
    /// - Parameter anonymousSetID: the transaction's id of the set an `interfaceSet` refers to.
    func makeNftnl(anonymousSetID: UInt32 = 0) -> OpaquePointer {
        func alloc(_ name: String) -> OpaquePointer { nftnl_expr_alloc(name)! }
        func setU32(_ e: OpaquePointer, _ attr: Int, _ v: UInt32) { nftnl_expr_set_u32(e, UInt16(attr), v) }
        func setBytes(_ e: OpaquePointer, _ attr: Int, _ bytes: [UInt8]) {
            bytes.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(attr), $0.baseAddress, UInt32(bytes.count)) }
        }
        switch self {
        case let .meta(key, dreg):
            let e = alloc("meta")
            setU32(e, NFTNL_EXPR_META_KEY, key.rawValue)
            setU32(e, NFTNL_EXPR_META_DREG, dreg)
            return e
        case let .rt(key, dreg):
            let e = alloc("rt")
            setU32(e, NFTNL_EXPR_RT_KEY, key.rawValue)
            setU32(e, NFTNL_EXPR_RT_DREG, dreg)
            return e
        case let .cmp(op, sreg, data):
            let e = alloc("cmp")
            setU32(e, NFTNL_EXPR_CMP_SREG, sreg)
            setU32(e, NFTNL_EXPR_CMP_OP, op.rawValue)
            setBytes(e, NFTNL_EXPR_CMP_DATA, data)
            return e
        case let .payload(base, offset, length, dreg):
            let e = alloc("payload")
            setU32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg)
            setU32(e, NFTNL_EXPR_PAYLOAD_BASE, base.rawValue)
            setU32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            setU32(e, NFTNL_EXPR_PAYLOAD_LEN, length)
            return e
        case let .payloadWrite(base, offset, length, sreg, checksumOffset):
            let e = alloc("payload")
            setU32(e, NFTNL_EXPR_PAYLOAD_SREG, sreg)
            setU32(e, NFTNL_EXPR_PAYLOAD_BASE, base.rawValue)
            setU32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset)
            setU32(e, NFTNL_EXPR_PAYLOAD_LEN, length)
            setU32(e, NFTNL_EXPR_PAYLOAD_CSUM_TYPE, NFT_PAYLOAD_CSUM_INET.rawValue)
            setU32(e, NFTNL_EXPR_PAYLOAD_CSUM_OFFSET, checksumOffset)
            setU32(e, NFTNL_EXPR_PAYLOAD_FLAGS, 0)
            return e
        case let .bitwise(sreg, dreg, mask, xor):
            let e = alloc("bitwise")
            setU32(e, NFTNL_EXPR_BITWISE_SREG, sreg)
            setU32(e, NFTNL_EXPR_BITWISE_DREG, dreg)
            setU32(e, NFTNL_EXPR_BITWISE_LEN, UInt32(mask.count))
            setBytes(e, NFTNL_EXPR_BITWISE_MASK, mask)
            setBytes(e, NFTNL_EXPR_BITWISE_XOR, xor)
            return e
        case let .lookup(set, sreg, inverted):
            let e = alloc("lookup")
            setU32(e, NFTNL_EXPR_LOOKUP_SREG, sreg)
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_LOOKUP_SET), set)
            if inverted { setU32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV.rawValue) }
            return e
        case let .dynsetUpdate(set, sreg):
            let e = alloc("dynset")
            setU32(e, NFTNL_EXPR_DYNSET_SREG_KEY, sreg)
            setU32(e, NFTNL_EXPR_DYNSET_OP, UInt32(NFT_DYNSET_OP_UPDATE.rawValue))
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_DYNSET_SET_NAME), set)
            return e
        case let .interfaceSet(_, _, sreg):
            let e = alloc("lookup")
            setU32(e, NFTNL_EXPR_LOOKUP_SREG, sreg)
            nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_LOOKUP_SET), Expr.anonymousSetName)
            setU32(e, NFTNL_EXPR_LOOKUP_SET_ID, anonymousSetID)
            return e
        case let .tcpOptionLoad(kind, offset, length, dreg):
            let e = alloc("exthdr")
            setU32(e, NFTNL_EXPR_EXTHDR_DREG, dreg)
            nftnl_expr_set_u8(e, UInt16(NFTNL_EXPR_EXTHDR_TYPE), kind)
            setU32(e, NFTNL_EXPR_EXTHDR_OFFSET, offset)
            setU32(e, NFTNL_EXPR_EXTHDR_LEN, length)
            setU32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT.rawValue)
            return e
        case let .tcpOptionWrite(kind, offset, length, sreg):
            let e = alloc("exthdr")
            setU32(e, NFTNL_EXPR_EXTHDR_SREG, sreg)
            nftnl_expr_set_u8(e, UInt16(NFTNL_EXPR_EXTHDR_TYPE), kind)
            setU32(e, NFTNL_EXPR_EXTHDR_OFFSET, offset)
            setU32(e, NFTNL_EXPR_EXTHDR_LEN, length)
            setU32(e, NFTNL_EXPR_EXTHDR_OP, NFT_EXTHDR_OP_TCPOPT.rawValue)
            return e
        case let .immediate(dreg, data):
            let e = alloc("immediate")
            setU32(e, NFTNL_EXPR_IMM_DREG, dreg)
            setBytes(e, NFTNL_EXPR_IMM_DATA, data)
            return e
        case let .verdict(verdict):
            let e = alloc("immediate")
            setU32(e, NFTNL_EXPR_IMM_DREG, Expr.verdictRegister)
            switch verdict {
            case .accept: setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(NF_ACCEPT))
            case .drop, .reject: setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(NF_DROP))
            case .continue: setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: NFT_CONTINUE.rawValue))
            case .return: setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: NFT_RETURN.rawValue))
            case let .jump(chain):
                setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: NFT_JUMP.rawValue))
                nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_IMM_CHAIN), chain)
            case let .goto(chain):
                setU32(e, NFTNL_EXPR_IMM_VERDICT, UInt32(bitPattern: NFT_GOTO.rawValue))
                nftnl_expr_set_str(e, UInt16(NFTNL_EXPR_IMM_CHAIN), chain)
            }
            return e
        case .counter:
            return alloc("counter")
        case let .other(name, _):
            return alloc(name)
        }
    }

    /// The typed value of a kernel expression; `counter` also returns its packet/byte counts.
    static func decode(_ e: OpaquePointer) -> (Expr, Counter?) {
        let name = String(cString: nftnl_expr_get_str(e, UInt16(NFTNL_EXPR_NAME)))
        func u32(_ attr: Int) -> UInt32 { nftnl_expr_get_u32(e, UInt16(attr)) }
        func has(_ attr: Int) -> Bool { nftnl_expr_is_set(e, UInt16(attr)) }
        func bytes(_ attr: Int) -> [UInt8] {
            var length: UInt32 = 0
            guard let p = nftnl_expr_get(e, UInt16(attr), &length) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: Int(length)))
        }
        func str(_ attr: Int) -> String {
            guard let p = nftnl_expr_get_str(e, UInt16(attr)) else { return "" }
            return String(cString: p)
        }
        let unknown = Expr.other(name: name, verdict: name == "reject" ? .reject : nil)
        switch name {
        case "meta":
            guard has(NFTNL_EXPR_META_DREG), let key = MetaKey(rawValue: u32(NFTNL_EXPR_META_KEY)) else { return (unknown, nil) }
            return (.meta(key, dreg: u32(NFTNL_EXPR_META_DREG)), nil)
        case "rt":
            guard let key = RtKey(rawValue: u32(NFTNL_EXPR_RT_KEY)) else { return (unknown, nil) }
            return (.rt(key, dreg: u32(NFTNL_EXPR_RT_DREG)), nil)
        case "cmp":
            guard let op = CmpOp(rawValue: u32(NFTNL_EXPR_CMP_OP)) else { return (unknown, nil) }
            return (.cmp(op, sreg: u32(NFTNL_EXPR_CMP_SREG), data: bytes(NFTNL_EXPR_CMP_DATA)), nil)
        case "payload":
            guard let base = PayloadBase(rawValue: u32(NFTNL_EXPR_PAYLOAD_BASE)) else { return (unknown, nil) }
            let offset = u32(NFTNL_EXPR_PAYLOAD_OFFSET), length = u32(NFTNL_EXPR_PAYLOAD_LEN)
            if has(NFTNL_EXPR_PAYLOAD_SREG) {
                guard u32(NFTNL_EXPR_PAYLOAD_CSUM_TYPE) == NFT_PAYLOAD_CSUM_INET.rawValue else { return (unknown, nil) }
                return (.payloadWrite(base, offset: offset, length: length, sreg: u32(NFTNL_EXPR_PAYLOAD_SREG),
                                      checksumOffset: u32(NFTNL_EXPR_PAYLOAD_CSUM_OFFSET)), nil)
            }
            return (.payload(base, offset: offset, length: length, dreg: u32(NFTNL_EXPR_PAYLOAD_DREG)), nil)
        case "bitwise":
            guard !has(NFTNL_EXPR_BITWISE_OP) || u32(NFTNL_EXPR_BITWISE_OP) == 0 else { return (unknown, nil) }
            return (.bitwise(sreg: u32(NFTNL_EXPR_BITWISE_SREG), dreg: u32(NFTNL_EXPR_BITWISE_DREG),
                             mask: bytes(NFTNL_EXPR_BITWISE_MASK), xor: bytes(NFTNL_EXPR_BITWISE_XOR)), nil)
        case "lookup":
            guard !has(NFTNL_EXPR_LOOKUP_DREG) else { return (unknown, nil) }
            let inverted = has(NFTNL_EXPR_LOOKUP_FLAGS) && u32(NFTNL_EXPR_LOOKUP_FLAGS) & NFT_LOOKUP_F_INV.rawValue != 0
            return (.lookup(set: str(NFTNL_EXPR_LOOKUP_SET), sreg: u32(NFTNL_EXPR_LOOKUP_SREG), inverted: inverted), nil)
        case "dynset":
            // Only the plain update cgwfw writes: no data, own expressions or timeout of its own.
            guard u32(NFTNL_EXPR_DYNSET_OP) == UInt32(NFT_DYNSET_OP_UPDATE.rawValue), !has(NFTNL_EXPR_DYNSET_SREG_DATA),
                  !has(NFTNL_EXPR_DYNSET_EXPR), !has(NFTNL_EXPR_DYNSET_EXPRESSIONS),
                  !has(NFTNL_EXPR_DYNSET_TIMEOUT) || nftnl_expr_get_u64(e, UInt16(NFTNL_EXPR_DYNSET_TIMEOUT)) == 0,
                  !has(NFTNL_EXPR_DYNSET_FLAGS) || u32(NFTNL_EXPR_DYNSET_FLAGS) == 0 else { return (unknown, nil) }
            return (.dynsetUpdate(set: str(NFTNL_EXPR_DYNSET_SET_NAME), sreg: u32(NFTNL_EXPR_DYNSET_SREG_KEY)), nil)
        case "exthdr":
            guard u32(NFTNL_EXPR_EXTHDR_OP) == NFT_EXTHDR_OP_TCPOPT.rawValue else { return (unknown, nil) }
            let kind = nftnl_expr_get_u8(e, UInt16(NFTNL_EXPR_EXTHDR_TYPE))
            let offset = u32(NFTNL_EXPR_EXTHDR_OFFSET), length = u32(NFTNL_EXPR_EXTHDR_LEN)
            if has(NFTNL_EXPR_EXTHDR_SREG) {
                return (.tcpOptionWrite(kind: kind, offset: offset, length: length, sreg: u32(NFTNL_EXPR_EXTHDR_SREG)), nil)
            }
            return (.tcpOptionLoad(kind: kind, offset: offset, length: length, dreg: u32(NFTNL_EXPR_EXTHDR_DREG)), nil)
        case "immediate":
            let dreg = u32(NFTNL_EXPR_IMM_DREG)
            guard dreg == Expr.verdictRegister else { return (.immediate(dreg: dreg, data: bytes(NFTNL_EXPR_IMM_DATA)), nil) }
            let code = Int32(bitPattern: u32(NFTNL_EXPR_IMM_VERDICT))
            switch code {
            case Int32(NF_ACCEPT): return (.verdict(.accept), nil)
            case Int32(NF_DROP): return (.verdict(.drop), nil)
            case NFT_CONTINUE.rawValue: return (.verdict(.continue), nil)
            case NFT_RETURN.rawValue: return (.verdict(.return), nil)
            case NFT_JUMP.rawValue: return (.verdict(.jump(str(NFTNL_EXPR_IMM_CHAIN))), nil)
            case NFT_GOTO.rawValue: return (.verdict(.goto(str(NFTNL_EXPR_IMM_CHAIN))), nil)
            default: return (unknown, nil)
            }
        case "counter":
            return (.counter, Counter(packets: nftnl_expr_get_u64(e, UInt16(NFTNL_EXPR_CTR_PACKETS)),
                                      bytes: nftnl_expr_get_u64(e, UInt16(NFTNL_EXPR_CTR_BYTES))))
        default:
            return (unknown, nil)
        }
    }
}

/// For tests that build expressions without adding them to a rule.
func nftnlFree(_ expr: OpaquePointer) { nftnl_expr_free(expr) }
