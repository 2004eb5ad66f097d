import CGWFWModel

/// The nf_tables expressions cgwfw writes, typed (in the spirit of google/nftables). A rule's meaning is
/// its list of these; the kernel hands the same list back, so apply compares lists, never text.
public enum Expr: Hashable, Sendable, Codable {
    case meta(MetaKey, dreg: UInt32)
    case rt(RtKey, dreg: UInt32)
    case cmp(CmpOp, sreg: UInt32, data: [UInt8])
    case payload(PayloadBase, offset: UInt32, length: UInt32, dreg: UInt32)
    /// Payload write with the internet checksum at `checksumOffset` fixed up.
    case payloadWrite(PayloadBase, offset: UInt32, length: UInt32, sreg: UInt32, checksumOffset: UInt32)
    case bitwise(sreg: UInt32, dreg: UInt32, mask: [UInt8], xor: [UInt8])
    case lookup(set: String, sreg: UInt32, inverted: Bool)
    /// `update @set { key }`: adds the key in `sreg` to a dynamic set, or refreshes its timeout; the new
    /// element gets the set's counter. No verdict: a full set breaks only this (counting) rule.
    case dynsetUpdate(set: String, sreg: UInt32)
    /// `oifname { "vti0", "ipsec*" }`: a lookup in the anonymous constant set nft builds for such a list
    /// (an interval set when a wildcard is among them), created in the same transaction as its rule;
    /// `patterns` in key order; `matching` is the meta key it follows.
    case interfaceSet(patterns: [InterfacePattern], matching: MetaKey, sreg: UInt32)
    /// TCP option field load (`tcp option maxseg size`).
    case tcpOptionLoad(kind: UInt8, offset: UInt32, length: UInt32, dreg: UInt32)
    case tcpOptionWrite(kind: UInt8, offset: UInt32, length: UInt32, sreg: UInt32)
    case immediate(dreg: UInt32, data: [UInt8])
    case verdict(Verdict)
    /// Counter values are state, not meaning: they live in `LiveRule.counter`.
    case counter
    /// Anything cgwfw does not write (found in foreign chains, or a rule someone edited by hand).
    case other(name: String, verdict: Verdict?)

    public enum MetaKey: UInt32, Sendable, Codable {
        case iifname = 6, oifname = 7, nfproto = 15, l4proto = 16, secpath = 25
    }
    public enum RtKey: UInt32, Sendable, Codable {
        case xfrm = 4
    }
    public enum CmpOp: UInt32, Sendable, Codable {
        case eq = 0, neq = 1, lt = 2, lte = 3, gt = 4, gte = 5
    }
    public enum PayloadBase: UInt32, Sendable, Codable {
        case link = 0, network = 1, transport = 2
    }
    public enum Verdict: Hashable, Sendable, Codable {
        case accept, drop, `continue`, `return`
        case jump(String)
        case goto(String)
        /// `reject` is an expression of its own, not an immediate; kept here so warnings can see it.
        case reject
    }

    /// 32-bit register numbers as nft allocates them: NFT_REG_1 = 1 (16 bytes), NFT_REG32_01 = 9.
    public static let reg1: UInt32 = 1
    public static let reg2: UInt32 = 2
    public static let reg32_01: UInt32 = 9
    public static let verdictRegister: UInt32 = 0
}

/// Packet and byte counts of a rule's or a set element's counter.
public struct Counter: Hashable, Sendable, Codable {
    public var packets: UInt64
    public var bytes: UInt64
    public init(packets: UInt64, bytes: UInt64) {
        self.packets = packets
        self.bytes = bytes
    }
}

