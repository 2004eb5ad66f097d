import ArgumentParser

@main
struct CGWFW: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cgwfw",
        abstract: "Firewall rules for the customer gateway side of an AWS Site-to-Site VPN.",
        discussion: """
        cgwfw reads the VPN configuration AWS gives you (Generic text, CustomerGatewayConfiguration XML, describe-vpn-connections JSON, ipsec.conf or VyOS downloads) and turns it into firewall rules that allow IKE, ESP and NAT-T for both tunnels, clamp the TCP MSS and clear DF.

        Examples:
          cgwfw check vpn-0e69d9ffe151c77f1.txt
          cgwfw compile --target nftables vpn-0e69d9ffe151c77f1.txt
          cgwfw diff vpn-0e69d9ffe151c77f1.txt
          cgwfw apply --confirm 120 vpn-0e69d9ffe151c77f1.txt && cgwfw confirm

        Exit codes (sysexits; docs/exit-codes.md): 0 ok, 1 diff or a dry run found changes, 64 usage or an option that does not fit, 65 bad config or profile or no VPN connection, 66 unreadable input, 70 the kernel refused the change, 71 netlink failure, 73 cannot write the output file, 75 concurrent changes kept winning or a confirm is pending, 77 no CAP_NET_ADMIN.
        """,
        version: cgwfwVersion,
        subcommands: [CheckCommand.self, CompileCommand.self, ProfilesCommand.self,
                      ApplyCommand.self, DiffCommand.self, RemoveCommand.self, ShowCommand.self, ConfirmCommand.self]
    )

    static func main() {
        PrivilegedEnvironment.scrub()
        main(PositionalRuns.compact(Array(CommandLine.arguments.dropFirst())))
    }
}
