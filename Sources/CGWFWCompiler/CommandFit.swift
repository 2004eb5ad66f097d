/// Which commands and options fit a profile: a flag that would change nothing, or a command that cannot do
/// what the profile asks, is refused (exit 64) with the reason, instead of being accepted and ignored.
public enum CommandFit {
    public enum Command: String, Sendable {
        case check, compile, apply, diff, remove, show

        /// The commands that talk to the kernel's nftables over netlink.
        var drivesKernel: Bool { [.apply, .diff, .remove, .show].contains(self) }
    }

    /// The profile-overriding flags of the command line.
    public enum Flag: String, Sendable, CaseIterable {
        case placement = "--placement", strict = "--strict", natTraversal = "--nat-traversal", table = "--table"
        case wanInterface = "--wan-interface", tunnelInterface = "--tunnel-interface", attach = "--attach"
    }

    /// Why `command` with `profile` (after the flags) and these `given` flags makes no sense; empty when it does.
    /// - Parameter target: compile's `--target`, when given.
    public static func problems(command: Command, profile: Profile, given: Set<Flag>,
                                target: Profile.Target? = nil) -> [String] {
        var problems: [String] = []
        if command.drivesKernel && profile.target != .nftables {
            problems.append("profile \(profile.name) has target \(profile.target.rawValue), but `cgwfw \(command.rawValue)` "
                            + "drives the kernel's nftables; for \(profile.target.rawValue) use "
                            + howToLoad(profile.target, profile: profile))
        }
        if command == .remove || command == .show {
            let placementFlags: [Flag] = [.placement, .strict, .natTraversal, .wanInterface, .tunnelInterface]
            for flag in placementFlags where given.contains(flag) {
                problems.append("\(flag.rawValue) has no effect on `cgwfw \(command.rawValue)`: it reads or removes what "
                                + "cgwfw owns, which only --profile, --table and --attach locate")
            }
            return problems
        }
        if given.contains(.wanInterface) && profile.placement == .host {
            problems.append("--wan-interface has no effect with host placement: it names the internet-side interface "
                            + "of a firewall in front of the gateway (--placement gateway)")
        }
        if given.contains(.tunnelInterface) && profile.placement == .gateway {
            problems.append("--tunnel-interface has no effect with gateway placement: a firewall in front of the "
                            + "gateway sees only encrypted packets, so it clamps no MSS and clears no DF")
        }
        if command == .compile && given.contains(.attach) && (target ?? profile.target) != .nftables {
            problems.append("--attach has no effect on the \((target ?? profile.target).rawValue) target: it names an "
                            + "nftables table")
        }
        if let attach = profile.attach, !attach.hasPrefix("inet "), command != .check,
           command == .compile ? (target ?? profile.target) == .nftables : true {
            problems.append("--attach '\(attach)': cgwfw attaches into inet tables only; an ip or ip6 table named filter "
                            + "is usually iptables-nft's (ufw, Docker): load `cgwfw compile --target iptables` into it "
                            + "instead (docs/coexistence.md)")
        }
        return problems
    }

    /// The one command that loads compiled rules of this target.
    public static func howToLoad(_ target: Profile.Target, profile: Profile) -> String {
        switch target {
        case .nftables: return "`cgwfw apply`"
        case .iptables, .ip6tables:
            return "`cgwfw compile --profile \(profile.name) --target \(target.rawValue) -o FILE` and "
                + "`\(target.rawValue)-restore --noflush FILE`"
        case .pf:
            return "`cgwfw compile --profile \(profile.name) -o FILE` and `pfctl -a \(profile.table) -f FILE`"
        case .json:
            return "`cgwfw compile --target json` (a description of the rules, not a ruleset)"
        }
    }
}
