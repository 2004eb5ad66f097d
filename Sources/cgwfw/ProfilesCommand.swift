import ArgumentParser
import CGWFWCompiler
import CGWFWModel
import Foundation

struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the deployment profiles: the built-in ones and the operator's.",
        discussion: """
        --profile NAME uses /etc/cgwfw/profiles/NAME.yaml when that file exists, else the built-in profile NAME (compiled into cgwfw; copies are in /usr/share/cgwfw/profiles). --profile PATH reads any YAML file. See cgwfw-profile(5) for the keys.

        Examples:
          cgwfw profiles
          cgwfw profiles --json
        """)

    @Flag(help: "Print name, description and every key as JSON.")
    var json = false

    func run() throws {
        let profiles: [Profile]
        do {
            profiles = try ProfileLoader.available()
        } catch {
            printDiagnostics(error.diagnostics)
            throw error.exit.exit
        }
        if json {
            print(try jsonString(profiles))
            return
        }
        let width = profiles.map(\.name.count).max() ?? 0
        for profile in profiles {
            let marker = profile.name == Profile.defaultName ? " (default)" : ""
            print(profile.name.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                  + profile.description + marker)
        }
    }
}
