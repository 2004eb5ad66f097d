import CGWFWModel
internal import CNftnl
import Glibc

/// What the host's own network stack says: its addresses, and the source address the kernel's routing table
/// picks towards a destination (`ip route get`, an rtnetlink RTM_GETROUTE request built with libmnl).
public enum RouteLookup {
    /// The kernel's preferred source address for packets to `destination`; nil when it has no route there.
    public static func sourceAddress(towards destination: IPAddress) throws(NetlinkError) -> IPAddress? {
        guard let nl = mnl_socket_open(NETLINK_ROUTE) else {
            throw .system("rtnetlink socket: \(String(cString: strerror(errno)))")
        }
        defer { mnl_socket_close(nl) }
        guard mnl_socket_bind(nl, 0, pid_t(MNL_SOCKET_AUTOPID)) == 0 else {
            throw .system("rtnetlink bind: \(String(cString: strerror(errno)))")
        }
        let portID = mnl_socket_get_portid(nl)
        let sequence = UInt32(truncatingIfNeeded: time(nil))
        let destinationBytes = destination.bytes
        var buffer = [UInt8](repeating: 0, count: 8192)
        let length = buffer.withUnsafeMutableBytes { raw -> Int in
            let nlh = mnl_nlmsg_put_header(raw.baseAddress!)!
            nlh.pointee.nlmsg_type = UInt16(RTM_GETROUTE)
            nlh.pointee.nlmsg_flags = UInt16(NLM_F_REQUEST)
            nlh.pointee.nlmsg_seq = sequence
            let rtm = mnl_nlmsg_put_extra_header(nlh, MemoryLayout<rtmsg>.size)!.assumingMemoryBound(to: rtmsg.self)
            rtm.pointee.rtm_family = UInt8(destination.family == .ipv4 ? AF_INET : AF_INET6)
            rtm.pointee.rtm_dst_len = UInt8(destinationBytes.count * 8)
            destinationBytes.withUnsafeBytes {
                mnl_attr_put(nlh, UInt16(RTA_DST.rawValue), $0.count, $0.baseAddress)
            }
            return Int(nlh.pointee.nlmsg_len)
        }
        guard buffer.withUnsafeBytes({ mnl_socket_sendto(nl, $0.baseAddress, length) }) >= 0 else {
            throw .system("rtnetlink send: \(String(cString: strerror(errno)))")
        }
        var found = RouteReply()
        while true {
            let received = buffer.withUnsafeMutableBytes { mnl_socket_recvfrom(nl, $0.baseAddress, $0.count) }
            if received < 0 {
                if errno == EINTR { continue }
                throw .system("rtnetlink receive: \(String(cString: strerror(errno)))")
            }
            let status = buffer.withUnsafeBytes { raw in
                withUnsafeMutablePointer(to: &found) { context in
                    mnl_cb_run(raw.baseAddress, received, sequence, portID, routeMessage, context)
                }
            }
            // An error reply (no route: ENETUNREACH, EHOSTUNREACH) is the answer "none"; MNL_CB_STOP ends it.
            if status < 0 { return nil }
            if found.done || status == 0 { break }
        }
        return found.source.flatMap { IPAddress(bytes: $0) }
    }

    /// Every address on the host's interfaces (this network namespace), loopback included.
    public static func localAddresses() -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var result: [IPAddress] = []
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr else { continue }
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    withUnsafeBytes(of: sin.pointee.sin_addr) { if let a = IPAddress(bytes: $0) { result.append(a) } }
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    withUnsafeBytes(of: sin6.pointee.sin6_addr) { if let a = IPAddress(bytes: $0) { result.append(a) } }
                }
            default:
                continue
            }
        }
        return Array(Set(result)).sorted()
    }
}

/// What the RTM_NEWROUTE reply said (filled by the C callbacks through their data pointer).
private struct RouteReply {
    var source: [UInt8]?
    var done = false
}

/// mnl_cb_t for each reply message: reads RTA_PREFSRC from the route's attributes.
private let routeMessage: mnl_cb_t = { nlh, data in
    guard let nlh, let data else { return MNL_CB_ERROR }
    let reply = data.assumingMemoryBound(to: RouteReply.self)
    guard nlh.pointee.nlmsg_type == UInt16(RTM_NEWROUTE) else { return MNL_CB_OK }
    _ = mnl_attr_parse(nlh, UInt32(MemoryLayout<rtmsg>.size), routeAttribute, data)
    reply.pointee.done = true
    return MNL_CB_STOP
}

/// mnl_attr_cb_t: keeps the payload of RTA_PREFSRC.
private let routeAttribute: mnl_attr_cb_t = { attribute, data in
    guard let attribute, let data else { return MNL_CB_ERROR }
    if mnl_attr_get_type(attribute) == UInt16(RTA_PREFSRC.rawValue) {
        let length = Int(mnl_attr_get_payload_len(attribute))
        let payload = mnl_attr_get_payload(attribute)!.assumingMemoryBound(to: UInt8.self)
        data.assumingMemoryBound(to: RouteReply.self).pointee.source = Array(UnsafeBufferPointer(start: payload, count: length))
    }
    return MNL_CB_OK
}
