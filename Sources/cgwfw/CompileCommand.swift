import ArgumentParser
import CGWFWCompiler
import CGWFWModel
import Foundation

struct CompileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile",
        abstract: "Turn AWS VPN configs into firewall rules (nftables, iptables, ip6tables, pf or JSON).",
        discussion: """
        For every tunnel it allows exactly AWS's table: IKE (UDP 500 both ways) and ESP between the customer gateway and each AWS endpoint, NAT-T (UDP 4500) where it applies, and on the gateway itself clamps the TCP MSS and clears DF on traffic entering the tunnel. Notes say why NAT-T is open or closed. Diagnostics go to standard error; nothing is written when there is an error.

        Examples:
          cgwfw compile vpn-0e69d9ffe151c77f1.txt > cgwfw.nft && nft -f cgwfw.nft
          cgwfw compile --profile linux-gateway -o /etc/cgwfw/cgwfw.nft vpn-a.txt
          cgwfw compile --profile linux-host-iptables vpn.txt > cgwfw.rules
          cgwfw compile --profile openbsd-pf --target pf -o /etc/pf.cgwfw vpn.txt
          cgwfw compile --target json --local-address 10.0.0.5 vpn.txt

        Exit status: 0 ok (warnings allowed), 65 errors in a config or profile, 66 unreadable input, 64 bad flags.
        """
    )

    @Option(help: ArgumentHelp("nftables, iptables, ip6tables, pf or json. Default: the profile's target.",
                               valueName: "target"))
    var target: String?

    @Option(name: [.customShort("o"), .long], help: ArgumentHelp("Write here (atomically; keeps an existing file's mode and owner) instead of standard output (-).",
                                                                 valueName: "file"))
    var output: String?

    @Flag(help: "iptables/ip6tables: write the file that takes out what the compiled file put in.")
    var remove = false

    @OptionGroup var profileOptions: ProfileOptions
    @OptionGroup var input: ConfigInputOptions

    func validate() throws {
        if let target, Profile.Target(rawValue: target) == nil {
            throw ValidationError("unknown --target '\(target)'; use "
                + Profile.Target.allCases.map(\.rawValue).joined(separator: ", "))
        }
    }

    func run() throws {
        let profile = try profileOptions.resolve(for: .compile, target: target.flatMap(Profile.Target.init(rawValue:)))
        let parsed = try input.load(profileLocalAddress: profile.localAddress)
        printDiagnostics(parsed.diagnostics, input.verbosity)
        if parsed.diagnostics.hasErrors { throw SysExit.dataError.exit }
        let chosen = target.flatMap(Profile.Target.init(rawValue:)) ?? profile.target
        if remove && chosen != .iptables && chosen != .ip6tables {
            printError("cgwfw: error: --remove is for the iptables and ip6tables targets, not \(chosen.rawValue)"
                       + (chosen == .nftables ? " (nftables: `cgwfw remove`)" : ""))
            throw SysExit.usage.exit
        }
        var compiled = Compiler.compile(connections: parsed.connections, profile: profile, target: chosen)
        printDiagnostics(compiled.diagnostics, input.verbosity)
        if compiled.diagnostics.hasErrors { throw SysExit.dataError.exit }
        if remove { compiled.text = IptablesBackend.renderRemoval(compiled.intent, family: chosen == .iptables ? .ipv4 : .ipv6) }
        guard let output, output != "-" else {
            FileHandle.standardOutput.write(Data(compiled.text.utf8))
            return
        }
        do {
            try writeAtomically(compiled.text, to: output)
        } catch {
            printError("cgwfw: cannot write \(output): \(error)")
            throw SysExit.cantCreate.exit
        }
    }
}
