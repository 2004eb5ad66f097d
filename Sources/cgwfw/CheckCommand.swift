import ArgumentParser
import CGWFWModel

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check", abstract: "Read AWS VPN configs and print a review.")
    func run() throws {}
}
