import CGWFWModel
import CGWFWNftables
internal import CNftnl
import Glibc

/// Why talking to the kernel failed; each case maps to one sysexits code.
public enum NetlinkError: Error, CustomStringConvertible, Sendable {
    /// EPERM on socket, dump or batch: the process lacks CAP_NET_ADMIN in this network namespace.
    case permission(String)
    /// The kernel rejected the batch; nothing of it was applied.
    case refused(object: String, errno: Int32, detail: String?)
    /// The ruleset changed between read and commit on every attempt.
    case raceLost(attempts: Int)
    /// Socket-level failure.
    case system(String)
    /// The ruleset generation moved between read and commit (the kernel rejected the batch as a whole).
    case generationChanged
    /// Objects of cgwfw's names that cgwfw did not create (no ownership marker): left alone.
    case foreign(table: TableRef, objects: [String])

    public var description: String {
        switch self {
        case let .permission(what):
            return "\(what): operation not permitted: cgwfw needs CAP_NET_ADMIN (run as root or grant the capability)"
        case let .refused(object, code, detail):
            let reason = String(cString: strerror(code)) + (detail.map { " (\($0))" } ?? "")
            return "the kernel refused \(object): \(reason); nothing was applied"
        case let .raceLost(attempts):
            return "the ruleset kept changing while cgwfw applied (\(attempts) attempts, each one rolled back); "
                + "nothing was applied, try again"
        case let .system(text):
            return "netlink: \(text)"
        case .generationChanged:
            return "the ruleset changed since cgwfw read it; nothing was applied"
        case let .foreign(table, objects):
            return "refusing to change \(objects.joined(separator: ", ")) (in table \(table)): cgwfw did not create "
                + "\(objects.count == 1 ? "it" : "them") (no \"\(Ownership.marker)\" comment) and changes nothing it does not own; "
                + "choose another --table, or pass --adopt to let cgwfw replace what is listed; nothing was applied"
        }
    }

    public var exitCode: SysExit {
        switch self {
        case .permission: return .noPermission
        case .refused: return .software
        case .raceLost: return .tempFail
        case .system: return .osError
        case .generationChanged: return .tempFail
        case .foreign: return .dataError
        }
    }
}

/// One `NETLINK_NETFILTER` socket, for dumps and batches.
final class NetlinkSocket {
    private let nl: OpaquePointer
    private let portID: UInt32
    private var sequence: UInt32
    private var receiveBuffer: [UInt8]

    init() throws(NetlinkError) {
        guard let nl = mnl_socket_open(NETLINK_NETFILTER) else {
            let code = errno
            if code == EPERM || code == EACCES { throw .permission("opening a netfilter netlink socket") }
            throw .system("socket: \(String(cString: strerror(code)))")
        }
        guard mnl_socket_bind(nl, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            let code = errno
            mnl_socket_close(nl)
            if code == EPERM || code == EACCES { throw .permission("binding a netfilter netlink socket") }
            throw .system("bind: \(String(cString: strerror(code)))")
        }
        self.nl = nl
        portID = mnl_socket_get_portid(nl)
        sequence = UInt32(truncatingIfNeeded: time(nil))
        receiveBuffer = [UInt8](repeating: 0, count: 1 << 20)
        var on: Int32 = 1
        // Small error replies (no echo of our message) that still say which attribute failed.
        _ = mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
        _ = mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { mnl_socket_close(nl) }

    private var fd: Int32 { mnl_socket_get_fd(nl) }

    /// SO_NETNS_COOKIE: identifies this network namespace for the rest of the boot (never reused).
    func networkNamespaceCookie() -> UInt64? {
        var cookie: UInt64 = 0
        var length = socklen_t(MemoryLayout<UInt64>.size)
        return getsockopt(fd, SOL_SOCKET, 71, &cookie, &length) == 0 ? cookie : nil
    }

    func nextSequence() -> UInt32 {
        sequence &+= 1
        return sequence
    }

    /// Sends one request and returns every reply message (copied), until NLMSG_DONE or the ACK.
    /// `build` fills the payload of the request header it is given.
    func request(type: UInt16, family: UInt8, flags: UInt16,
                 build: (UnsafeMutablePointer<nlmsghdr>) -> Void = { _ in }) throws(NetlinkError) -> [[UInt8]] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let seq = nextSequence()
        let length: Int = buffer.withUnsafeMutableBytes { raw in
            let nlh = nftnl_nlmsg_build_hdr(raw.baseAddress!.assumingMemoryBound(to: CChar.self),
                                            type, UInt16(family), flags | UInt16(NLM_F_ACK), seq)!
            build(nlh)
            return Int(nlh.pointee.nlmsg_len)
        }
        let sent = buffer.withUnsafeBytes { mnl_socket_sendto(nl, $0.baseAddress, length) }
        if sent < 0 { throw .system("send: \(String(cString: strerror(errno)))") }
        var messages: [[UInt8]] = []
        while true {
            let received = receiveBuffer.withUnsafeMutableBytes { mnl_socket_recvfrom(nl, $0.baseAddress, $0.count) }
            if received < 0 {
                if errno == EINTR { continue }
                throw .system("receive: \(String(cString: strerror(errno)))")
            }
            var finished = false
            for reply in splitMessages(count: received) where reply.sequence == seq {
                switch Int32(reply.type) {
                case NLMSG_DONE:
                    finished = true
                case NLMSG_ERROR:
                    let error = reply.errorCode
                    if error == 0 || error == ENOENT { finished = true; continue }
                    if error == EPERM { throw .permission("reading the ruleset") }
                    throw .system("request \(type & 0xff) failed: \(String(cString: strerror(error)))")
                default:
                    messages.append(reply.bytes)
                }
            }
            if finished { return messages }
        }
    }

    private struct Reply {
        var bytes: [UInt8]
        var type: UInt16 { bytes.withUnsafeBytes { $0.load(fromByteOffset: 4, as: UInt16.self) } }
        var flags: UInt16 { bytes.withUnsafeBytes { $0.load(fromByteOffset: 6, as: UInt16.self) } }
        var sequence: UInt32 { bytes.withUnsafeBytes { $0.load(fromByteOffset: 8, as: UInt32.self) } }
        /// Positive errno of an NLMSG_ERROR (0 = ACK).
        var errorCode: Int32 { -bytes.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) } }

        /// NLMSGERR_ATTR_MSG of an extended ACK, when the kernel gave one.
        var extendedAckMessage: String? {
            guard Int32(flags) & NLM_F_ACK_TLVS != 0 else { return nil }
            // With NETLINK_CAP_ACK the error code is followed only by the request's header, then the TLVs.
            var offset = 16 + 4 + 16
            return bytes.withUnsafeBytes { raw -> String? in
                while offset + 4 <= raw.count {
                    let length = Int(raw.load(fromByteOffset: offset, as: UInt16.self))
                    let type = raw.load(fromByteOffset: offset + 2, as: UInt16.self)
                    guard length >= 4, offset + length <= raw.count else { return nil }
                    if UInt32(type) == NLMSGERR_ATTR_MSG.rawValue {
                        let text = String(decoding: raw[(offset + 4)..<(offset + length)].prefix { $0 != 0 }, as: UTF8.self)
                        return text.isEmpty ? nil : text
                    }
                    offset += (length + 3) & ~3
                }
                return nil
            }
        }
    }

    private func splitMessages(count: Int) -> [Reply] {
        var replies: [Reply] = []
        var offset = 0
        receiveBuffer.withUnsafeBytes { raw in
            while offset + 16 <= count {
                let length = Int(raw.load(fromByteOffset: offset, as: UInt32.self))
                guard length >= 16, offset + length <= count else { break }
                replies.append(Reply(bytes: Array(raw[offset..<(offset + length)])))
                offset += (length + 3) & ~3
            }
        }
        return replies
    }

    /// The ruleset generation: changes with every committed transaction.
    func generation() throws(NetlinkError) -> UInt32 {
        let replies = try request(type: UInt16(NFT_MSG_GETGEN.rawValue), family: UInt8(AF_UNSPEC), flags: 0)
        guard let reply = replies.first else { throw .system("no reply to GETGEN") }
        let gen = nftnl_gen_alloc()!
        defer { nftnl_gen_free(gen) }
        let ok = reply.withUnsafeBytes { nftnl_gen_nlmsg_parse($0.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), gen) }
        guard ok >= 0 else { throw .system("cannot parse GETGEN reply") }
        return nftnl_gen_get_u32(gen, UInt16(NFTNL_GEN_ID))
    }

    /// Sends a whole transaction in one `sendmsg` and collects the kernel's verdict on each message.
    func commit(_ batch: Batch) throws(NetlinkError) {
        // The kernel handles the batch inside sendmsg; make room for it and for one ACK per message.
        var size = Int32(max(batch.length * 2, 1 << 20))
        _ = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, socklen_t(MemoryLayout<Int32>.size))
        var receiveSize = Int32(max(batch.acknowledged.count * 256, 1 << 20))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receiveSize, socklen_t(MemoryLayout<Int32>.size))
        let sent = mnl_socket_sendto(nl, batch.buffer, batch.length)
        if sent < 0 {
            let code = errno
            if code == EPERM { throw .permission("sending the transaction") }
            throw .system("send of a \(batch.length)-byte batch: \(String(cString: strerror(code)))")
        }
        var pending = Set(batch.acknowledged.keys)
        var failures: [(seq: UInt32, errno: Int32, detail: String?)] = []
        while !pending.isEmpty {
            let received = receiveBuffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if received < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { break }
                throw .system("receive: \(String(cString: strerror(errno)))")
            }
            for reply in splitMessages(count: received) where Int32(reply.type) == NLMSG_ERROR {
                pending.remove(reply.sequence)
                if reply.errorCode != 0 {
                    failures.append((reply.sequence, reply.errorCode, reply.extendedAckMessage))
                }
            }
        }
        if let first = failures.first {
            // nfnetlink checks CAP_NET_ADMIN on the batch as a whole (the begin message); an EPERM on one
            // object is the kernel refusing that object (e.g. a table another process owns).
            if first.errno == EPERM && first.seq == batch.beginSequence { throw .permission("committing the transaction") }
            if first.seq == batch.beginSequence && (first.errno == ERESTART || first.errno == EBUSY) {
                throw .generationChanged
            }
            let object = batch.acknowledged[first.seq] ?? "the transaction"
            let hint = first.errno == EPERM ? "another process may own it (nft table flag owner)" : nil
            throw .refused(object: object, errno: first.errno, detail: first.detail ?? hint)
        }
        if !pending.isEmpty {
            throw .system("the kernel acknowledged \(batch.acknowledged.count - pending.count) of "
                          + "\(batch.acknowledged.count) messages; state unknown, re-run to check")
        }
    }
}

/// A transaction under construction: batch begin (with the generation it was computed from), object
/// messages, batch end. Remembers which object each sequence number stands for, to name refusals.
final class Batch {
    private(set) var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var length = 0
    private(set) var acknowledged: [UInt32: String] = [:]
    private(set) var beginSequence: UInt32 = 0
    private let socket: NetlinkSocket
    /// Headroom for one message: an element list attribute is capped at 64 KiB.
    private static let messageReserve = 80 * 1024

    init(socket: NetlinkSocket, generation: UInt32) {
        self.socket = socket
        capacity = 256 * 1024
        buffer = malloc(capacity)!
        beginSequence = socket.nextSequence()
        append(type: UInt16(NFNL_MSG_BATCH_BEGIN), family: UInt8(AF_UNSPEC), flags: UInt16(NLM_F_REQUEST),
               sequence: beginSequence, subsystemResource: UInt16(NFNL_SUBSYS_NFTABLES)) { nlh in
            mnl_attr_put_u32(nlh, UInt16(NFNL_BATCH_GENID.rawValue), generation.bigEndian)
        }
    }

    deinit { free(buffer) }

    private func reserve(_ bytes: Int) {
        guard length + bytes > capacity else { return }
        while length + bytes > capacity { capacity *= 2 }
        buffer = realloc(buffer, capacity)!
    }

    private func append(type: UInt16, family: UInt8, flags: UInt16, sequence: UInt32, subsystemResource: UInt16,
                        payload: (UnsafeMutablePointer<nlmsghdr>) -> Void) {
        reserve(Self.messageReserve)
        let nlh = mnl_nlmsg_put_header(buffer + length)!
        nlh.pointee.nlmsg_type = type
        nlh.pointee.nlmsg_flags = flags
        nlh.pointee.nlmsg_seq = sequence
        let nfg = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<nfgenmsg>.size)!.assumingMemoryBound(to: nfgenmsg.self)
        nfg.pointee.nfgen_family = family
        nfg.pointee.version = UInt8(NFNETLINK_V0)
        nfg.pointee.res_id = subsystemResource.bigEndian
        payload(nlh)
        length += Int(nlh.pointee.nlmsg_len)
    }

    /// One nf_tables object message, acknowledged, named `object` in error messages.
    func add(_ message: nf_tables_msg_types, family: UInt8, flags: Int32 = 0, object: String,
             payload: (UnsafeMutablePointer<nlmsghdr>) -> Void) {
        reserve(Self.messageReserve)
        let seq = socket.nextSequence()
        let type = UInt16(NFNL_SUBSYS_NFTABLES << 8) | UInt16(message.rawValue)
        let nlh = nftnl_nlmsg_build_hdr((buffer + length).assumingMemoryBound(to: CChar.self), type, UInt16(family),
                                        UInt16(flags | NLM_F_ACK), seq)!
        payload(nlh)
        length += Int(nlh.pointee.nlmsg_len)
        acknowledged[seq] = object
    }

    /// The bytes ready to send: closes the batch.
    func finish() {
        append(type: UInt16(NFNL_MSG_BATCH_END), family: UInt8(AF_UNSPEC), flags: UInt16(NLM_F_REQUEST),
               sequence: socket.nextSequence(), subsystemResource: UInt16(NFNL_SUBSYS_NFTABLES)) { _ in }
    }
}
