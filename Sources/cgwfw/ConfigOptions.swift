import ArgumentParser
import CGWFWInput
import CGWFWModel
import CGWFWNetlink

/// The inputs every config-reading subcommand takes: files, format override, local address override.
struct ConfigInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("AWS VPN configuration files, or directories of them (every visible file, sorted); "
                                 + "- reads standard input.", valueName: "config"))
    var configArguments: [String]

    /// The config arguments in order (see `PositionalRuns`).
    var configs: [String] { PositionalRuns.expand(configArguments) }

    @Option(help: ArgumentHelp("auto, " + InputFormat.allCases.map(\.rawValue).joined(separator: ", ")
                               + ". Default: detected from content."))
    var inputFormat: String = "auto"

    @Option(help: ArgumentHelp("Replace the customer gateway outside address (gateway behind NAT, or a placeholder); "
                               + "auto: the kernel's source address towards the AWS endpoints.", valueName: "addr|auto"))
    var localAddress: String?

    @Flag(name: .shortAndLong, help: "Print no notes (warnings and errors still print).")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Print every note on its own, not once per kind with a count.")
    var verbose = false

    func validate() throws {
        if quiet && verbose { throw ValidationError("--quiet and --verbose do not go together") }
        if configs.isEmpty { throw ValidationError("name at least one config file (or - for standard input)") }
        if inputFormat != "auto" && InputFormat(rawValue: inputFormat) == nil {
            throw ValidationError("unknown --input-format '\(inputFormat)'; use auto, "
                + InputFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let localAddress, localAddress != "auto", IPAddress(localAddress) == nil {
            throw ValidationError("--local-address is not an IPv4 or IPv6 address, nor auto")
        }
    }

    var format: InputFormat? { InputFormat(rawValue: inputFormat) }

    var verbosity: DiagnosticVerbosity { quiet ? .quiet : verbose ? .verbose : .summary }

    /// Reads and parses every config. Unreadable input exits 66; diagnostics are returned, not printed.
    /// - Parameter profileLocalAddress: the profile's local_address, used when --local-address is not given.
    func load(emptyInput: InputLoader.EmptyInput = .allowed, profileLocalAddress: String? = nil) throws -> ParseResult {
        let localAddress = self.localAddress ?? profileLocalAddress
        let local = localAddress.flatMap { IPAddress($0) }
        do {
            let fromRoutes: ((IPAddress) -> IPAddress?)? = localAddress == "auto"
                ? { endpoint in (try? RouteLookup.sourceAddress(towards: endpoint)) ?? nil } : nil
            return try InputLoader.load(paths: configs, format: format, localAddress: local,
                                        localAddressFromRoutes: fromRoutes, emptyInput: emptyInput)
        } catch {
            printError("cgwfw: \(error)")
            throw SysExit.noInput.exit
        }
    }
}
