import CGWFWModel
import CGWFWNftables

/// What another firewall on the host does to cgwfw's rules: one line per table found, naming it and the
/// command that makes cgwfw's rules take effect there (each tested, see docs/coexistence.md).
enum CoexistenceWarnings {
    /// Who owns a foreign table, as far as its name and chains tell.
    enum Owner: Equatable {
        /// iptables-nft's tables (`ip filter` with INPUT/FORWARD/OUTPUT): ufw, Docker, plain iptables.
        case iptablesNft(command: String)
        /// firewalld's nftables backend, rebuilt by every `firewall-cmd --reload`.
        case firewalld
        /// An nftables table of the operator's own (Debian's nftables.service: `inet filter`).
        case nftables
    }

    static let iptablesChains: Set<String> = ["INPUT", "FORWARD", "OUTPUT", "PREROUTING", "POSTROUTING"]

    static func owner(of table: TableRef, chain: String) -> Owner {
        if table.name == "firewalld" { return .firewalld }
        if table.family != .inet, iptablesChains.contains(chain),
           ["filter", "mangle", "raw", "security", "nat"].contains(table.name) {
            return .iptablesNft(command: table.family == .ip6 ? "ip6tables" : "iptables")
        }
        return .nftables
    }

    /// Standalone: another table's base chain on a hook cgwfw uses would drop what cgwfw accepts.
    /// - Parameter families: the address families of the sets that hold peers.
    static func warnings(live: LiveState, families: Set<IPAddress.Family>, target: ApplyTarget) -> [String] {
        var result: [String] = []
        var advised: Set<TableRef> = []
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
            // One line per table: its first dropping chain says what was found.
            guard advised.insert(foreign.table).inserted else { continue }
            let found = "table \(foreign.table) chain \(foreign.chain.name) (hook \(base.hook.rawValue), priority "
                + "\(base.priority)) \(why)"
            let fix: String
            switch owner(of: foreign.table, chain: foreign.chain.name) {
            case .iptablesNft(let command):
                fix = "it is iptables' (iptables-nft: ufw, Docker or \(command) rules), and an accept in table \(live.table) "
                    + "does not override its drop: load cgwfw's rules into it with `cgwfw compile --target \(command) -o "
                    + "cgwfw.rules CONFIGS` and the one load command in that file's header (docs/coexistence.md)"
            case .firewalld:
                fix = "firewalld rebuilds that table on every reload, so do not attach cgwfw there: let firewalld "
                    + "allow the tunnels (`firewall-cmd --permanent --add-service=ipsec && firewall-cmd --reload`, "
                    + "or a zone holding the AWS endpoints) (docs/coexistence.md)"
            case .nftables where foreign.table.family == .inet && target.attach == nil:
                fix = "an accept in table \(live.table) does not override it: put cgwfw's chains into that table with "
                    + "`cgwfw apply --attach \"\(foreign.table)\"`, or, when /etc/nftables.conf defines it, include the "
                    + "output of `cgwfw compile --attach \"\(foreign.table)\"` after it (docs/coexistence.md)"
            case .nftables:
                fix = "an accept in table \(live.table) does not override it: accept the AWS peers in that table too "
                    + "(docs/coexistence.md)"
            }
            result.append("\(found): \(fix)")
        }
        return result
    }
}
