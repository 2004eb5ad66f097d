import ArgumentParser
import CGWFWInput
import CGWFWModel

/// The inputs every config-reading subcommand takes: files, format override, local address override.
struct ConfigInputOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("AWS VPN configuration files, or directories of them (every visible file, sorted); "
                                 + "- reads standard input.", valueName: "config"))
    var configs: [String]

    @Option(help: ArgumentHelp("auto, " + InputFormat.allCases.map(\.rawValue).joined(separator: ", ")
                               + ". Default: detected from content."))
    var inputFormat: String = "auto"

    @Option(help: ArgumentHelp("Replace the customer gateway outside address (gateway behind NAT, or a placeholder).",
                               valueName: "addr"))
    var localAddress: String?

    func validate() throws {
        if configs.isEmpty { throw ValidationError("name at least one config file (or - for standard input)") }
        if inputFormat != "auto" && InputFormat(rawValue: inputFormat) == nil {
            throw ValidationError("unknown --input-format '\(inputFormat)'; use auto, "
                + InputFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let localAddress, IPAddress(localAddress) == nil {
            throw ValidationError("--local-address '\(localAddress)' is not an IPv4 or IPv6 address")
        }
    }

    var format: InputFormat? { InputFormat(rawValue: inputFormat) }
    var local: IPAddress? { localAddress.flatMap { IPAddress($0) } }

    /// Reads and parses every config. Unreadable input exits 66; diagnostics are returned, not printed.
    func load() throws -> ParseResult {
        do {
            return try InputLoader.load(paths: configs, format: format, localAddress: local)
        } catch {
            printError("cgwfw: \(error)")
            throw SysExit.noInput.exit
        }
    }
}
