import ArgumentParser
import CGWFWCompiler
import CGWFWModel

/// The deployment profile and the flags that override its keys; shared by compile, apply, diff, remove, show.
struct ProfileOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Built-in profile name (see `cgwfw profiles`) or path to a YAML profile.",
                               valueName: "name|path"))
    var profile: String = Profile.defaultName

    @Option(help: ArgumentHelp("host (rules on the gateway itself) or gateway (a firewall in front of it).",
                               valueName: "host|gateway"))
    var placement: String?

    @Flag(inversion: .prefixedNo, help: "Also drop IKE, NAT-T and ESP to/from the gateway that is not an AWS pair.")
    var strict: Bool?

    @Option(help: ArgumentHelp("Open UDP 4500: auto (when the config or deployment says NAT-T), on or off.",
                               valueName: "auto|on|off"))
    var natTraversal: String?

    @Option(help: ArgumentHelp("nftables table name / iptables chain prefix / pf anchor.", valueName: "name"))
    var table: String?

    @Option(help: ArgumentHelp("Gateway placement: match only this internet-side interface.", valueName: "if"))
    var wanInterface: String?

    @Option(help: ArgumentHelp("Tunnel interface for MSS/DF rules (repeatable); selects by interface instead of IPsec policy.",
                               valueName: "if"))
    var tunnelInterface: [String] = []

    @Option(help: ArgumentHelp("Keep cgwfw's chains in this existing nftables table, e.g. \"inet filter\".",
                               valueName: "family table"))
    var attach: String?

    /// The profile-overriding flags given on the command line.
    var given: Set<CommandFit.Flag> {
        var flags: Set<CommandFit.Flag> = []
        if placement != nil { flags.insert(.placement) }
        if strict != nil { flags.insert(.strict) }
        if natTraversal != nil { flags.insert(.natTraversal) }
        if table != nil { flags.insert(.table) }
        if wanInterface != nil { flags.insert(.wanInterface) }
        if !tunnelInterface.isEmpty { flags.insert(.tunnelInterface) }
        if attach != nil { flags.insert(.attach) }
        return flags
    }

    /// The profile with the command-line overrides applied, for `command`. Bad values, and flags or profiles
    /// that do not fit the command, exit 64; a bad profile file 65.
    func resolve(for command: CommandFit.Command, target: Profile.Target? = nil) throws -> Profile {
        var result: Profile
        do {
            result = try ProfileLoader.load(nameOrPath: profile)
        } catch {
            printDiagnostics(error.diagnostics)
            throw error.exit.exit
        }
        var usageErrors: [String] = []
        if let placement {
            if let value = Placement(rawValue: placement) { result.placement = value }
            else { usageErrors.append("--placement must be host or gateway, not '\(placement)'") }
        }
        if let strict { result.strict = strict }
        if let natTraversal {
            if let value = Profile.NATTraversal(rawValue: natTraversal) { result.natTraversal = value }
            else { usageErrors.append("--nat-traversal must be auto, on or off, not '\(natTraversal)'") }
        }
        if let table { result.table = table }
        if let wanInterface { result.wanInterface = wanInterface }
        if !tunnelInterface.isEmpty {
            result.tunnelInterfaces = tunnelInterface
            result.tunnelSelection = .interfaces
        }
        if let attach { result.attach = attach }
        let flagForKey = ["table": "--table", "wan_interface": "--wan-interface",
                          "tunnel_interfaces": "--tunnel-interface", "attach": "--attach"]
        for (key, message) in result.validationErrors() {
            usageErrors.append("\(flagForKey[key] ?? key): \(message)")
        }
        usageErrors += CommandFit.problems(command: command, profile: result, given: given, target: target)
        if !usageErrors.isEmpty {
            for message in usageErrors { printError("cgwfw: error: \(message)") }
            throw SysExit.usage.exit
        }
        return result
    }
}
