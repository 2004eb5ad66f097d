/// swift-argument-parser removes each parsed positional argument from its list one at a time, so 10,000
/// config files given as arguments (`cgwfw compile configs/*.xml`) took seconds in parsing alone (quadratic;
/// measured with perf: `SplitArguments.remove(at:)` under `removeAll(in:)`). Before parsing, every run of
/// plain arguments is folded into one stand-in token, and `expand` restores the files, in their order, after.
enum PositionalRuns {
    /// The folded runs, by stand-in index; written once in `main` before parsing, read after.
    nonisolated(unsafe) private static var runs: [[String]] = []
    private static let marker = "\u{1F}cgwfw-arguments-"
    /// The subcommands whose positional arguments are config files (ConfigInputOptions).
    static let configCommands: Set<String> = ["check", "compile", "apply", "diff"]
    /// Shorter runs are left alone: folding them saves nothing.
    static let minimumRun = 8

    /// `arguments` with long runs of plain arguments folded. The first plain argument after an option may be
    /// that option's value (and the first of all the subcommand's name): it stays; so does everything before
    /// a subcommand could have been named. After `--` every argument is plain.
    static func compact(_ arguments: [String]) -> [String] {
        // Only where config files are positional; elsewhere a stray argument must show in the parser's error.
        guard let command = arguments.first, configCommands.contains(command) else { return arguments }
        var result: [String] = []
        result.reserveCapacity(min(arguments.count, 64))
        var run: [String] = []
        var afterTerminator = false
        func flush() {
            if run.count >= minimumRun {
                result.append(marker + String(runs.count))
                runs.append(run)
            } else {
                result += run
            }
            run = []
        }
        for argument in arguments {
            if afterTerminator {
                run.append(argument)
                continue
            }
            if argument.hasPrefix("-") {
                flush()
                result.append(argument)
                if argument == "--" { afterTerminator = true }
                continue
            }
            let previous = result.last
            if run.isEmpty && (previous == nil || previous!.hasPrefix("-")) {
                result.append(argument)  // an option's value or the subcommand: never folded
            } else {
                run.append(argument)
            }
        }
        flush()
        return result
    }

    /// The positional arguments as the operator gave them.
    static func expand(_ parsed: [String]) -> [String] {
        guard !runs.isEmpty else { return parsed }
        var result: [String] = []
        for argument in parsed {
            if argument.hasPrefix(marker), let index = Int(argument.dropFirst(marker.count)), runs.indices.contains(index) {
                result += runs[index]
            } else {
                result.append(argument)
            }
        }
        return result
    }
}
