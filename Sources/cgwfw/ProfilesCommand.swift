import ArgumentParser
import CGWFWCompiler
import CGWFWModel
import Foundation

struct ProfilesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List the built-in deployment profiles.",
        discussion: """
        Profiles are YAML files found in $CGWFW_PROFILES_DIR, <prefix>/share/cgwfw/profiles or the repository's Profiles/ directory. Use one with --profile NAME, or --profile PATH for your own file.

        Examples:
          cgwfw profiles
          cgwfw profiles --json
        """)

    @Flag(help: "Print name, description and every key as JSON.")
    var json = false

    func run() throws {
        let profiles: [Profile]
        do {
            profiles = try ProfileLoader.builtIns()
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
