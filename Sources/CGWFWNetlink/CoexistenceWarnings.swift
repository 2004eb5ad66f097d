import CGWFWModel
import CGWFWNftables

/// What another firewall on the host does to cgwfw's rules, said as one warning per case with what to do.
enum CoexistenceWarnings {
    /// Standalone: another table's base chain on a hook cgwfw uses would drop what cgwfw accepts.
    /// - Parameter families: the address families of the sets that hold peers.
    static func warnings(live: LiveState, families: Set<IPAddress.Family>, target: ApplyTarget) -> [String] {
        var result: [String] = []
        for foreign in live.foreignBaseChains {
            guard let base = foreign.chain.base else { continue }
            switch foreign.table.family {
            case .ip: if !families.contains(.ipv4) { continue }
            case .ip6: if !families.contains(.ipv6) { continue }
            default: break
            }
            let why: String
            if !base.policyAccept { why = "has policy drop" }
            else if foreign.hasDropRule { why = "has drop/reject rules" }
            else { continue }
            let fix = target.attach == nil
                ? "attach cgwfw to that table with --attach \"\(foreign.table)\" (profile key attach), or accept the AWS peers there"
                : "accept the AWS peers in that table too"
            result.append("table \(foreign.table) chain \(foreign.chain.name) (hook \(base.hook.rawValue), priority "
                          + "\(base.priority)) \(why): an accept in table \(live.table) does not override a drop in another "
                          + "table on the same hook, so IKE/ESP may still be dropped; \(fix)")
        }
        return result
    }
}
