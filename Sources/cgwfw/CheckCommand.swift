import ArgumentParser
import CGWFWCompiler
import CGWFWModel
import CGWFWNetlink

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Read AWS VPN configs and print a review of every connection and tunnel.",
        discussion: """
        Reads each config (format detected from its content), validates it and prints, per connection and \
        tunnel, the two outside addresses, TCP MSS, DF, NAT-T and IKE version, followed by the device \
        settings that are not firewall rules (tunnel MTU, fragmentation, DPD, BGP neighbour). \
        Diagnostics go to standard error as file:line:column: severity: message.

        Examples:
          cgwfw check vpn-0e69d9ffe151c77f1.txt
          cgwfw check --json vpn-a.txt vpn-b.xml /etc/cgwfw/connections/
          aws ec2 describe-vpn-connections | cgwfw check -
          cgwfw check --local-address 203.0.113.9 generic-example-with-placeholder.txt

        Exit status: 0 ok (warnings allowed), 65 the config has errors (nothing on standard output \
        except, with --json, the diagnostics), 66 a file cannot be read, 64 bad flags.
        """
    )

    @Flag(help: "Print the review as JSON (connections, skipped, diagnostics).")
    var json = false

    @Flag(help: "Also check that each customer gateway address is on an interface of this host (host placement).")
    var host = false

    @OptionGroup var input: ConfigInputOptions

    func run() throws {
        var result = try input.load(emptyInput: .refused(hint: nil))
        if host && !result.diagnostics.hasErrors {
            result.diagnostics.append(contentsOf: HostAddressCheck.diagnostics(connections: result.connections,
                                                                               hostAddresses: RouteLookup.localAddresses()))
        }
        printDiagnostics(result.diagnostics, input.verbosity)
        let failed = result.diagnostics.hasErrors
        if json {
            let report = failed
                ? CheckReport(connections: [], skipped: [], diagnostics: result.diagnostics.all)
                : CheckReport(connections: result.connections, skipped: result.skipped,
                              diagnostics: result.diagnostics.all)
            print(try jsonString(report))
        } else if !failed {
            print(CheckReview.text(result), terminator: "")
        }
        if failed { throw SysExit.dataError.exit }
    }
}
