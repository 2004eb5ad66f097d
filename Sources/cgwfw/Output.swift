import ArgumentParser
import CGWFWModel
import Foundation

/// Writes to standard error, where diagnostics belong.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func printDiagnostics(_ diagnostics: Diagnostics, _ verbosity: DiagnosticVerbosity = .verbose) {
    for line in diagnostics.lines(verbosity) { printError(line) }
}

/// Sorted-keys JSON, so output is stable for diffs and tests.
func jsonString<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

extension SysExit {
    var exit: ArgumentParser.ExitCode { ArgumentParser.ExitCode(rawValue) }
}
