import Foundation
import XCTest

/// What one run of the built `cgwfw` binary did.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
    /// Wall time of the run, for tests with a time bound.
    var seconds: Double
}

/// Runs the built `cgwfw` executable the way an operator would, capturing stdout, stderr and the exit code.
///
/// The binary is found (in order) at `$CGWFW_BIN`, or next to the test bundle (`swift build` and
/// `swift test` put every product of the package in the same build directory).
enum CLIRunner {
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shared AWS config corpus, or nil when this checkout has none next to it.
    static let corpusDirectory: URL? = {
        let url = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/aws-configs")
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }()

    static let binary: URL? = {
        if let path = ProcessInfo.processInfo.environment["CGWFW_BIN"], !path.isEmpty {
            return URL(fileURLWithPath: path)
        }
        var candidates: [URL] = []
        if let executable = Bundle.main.executableURL { candidates.append(executable.deletingLastPathComponent()) }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent())
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent())
        }
        for directory in candidates {
            let url = directory.appendingPathComponent("cgwfw")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }()

    /// The subcommands that keep state (commit-confirm, snapshots) and so take `--state-dir`.
    static let statefulCommands: Set<String> = ["apply", "diff", "remove", "show", "confirm"]

    /// `arguments` with `--state-dir DIR` after a stateful subcommand (tests keep their state apart).
    static func withStateDir(_ arguments: [String], _ directory: String) -> [String] {
        guard let command = arguments.first, statefulCommands.contains(command) else { return arguments }
        return [command, "--state-dir", directory] + arguments.dropFirst()
    }

    /// The binary, or an XCTSkip explaining how to provide it.
    static func requireBinary() throws -> URL {
        guard let binary else {
            throw XCTSkip("cgwfw binary not found next to the test bundle; run `swift build` first or set CGWFW_BIN")
        }
        return binary
    }

    /// Runs `cgwfw arguments…` (or `executable arguments…`) with optional standard input; kills it after
    /// `timeout` seconds.
    static func run(_ arguments: [String], stdin: Data? = nil, timeout: TimeInterval = 60,
                    currentDirectory: URL? = nil, environment: [String: String]? = nil,
                    executable: URL? = nil) throws -> CLIResult {
        let binary = try requireBinary()
        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("cgwfw-cli-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Files rather than pipes: a chatty child can never block on a full pipe while we wait for it.
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        try (stdin ?? Data()).write(to: inURL)
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }

        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let start = Date()
        try process.run()
        let deadline = start.addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
            throw CLITimeout(arguments: arguments, seconds: timeout)
        }
        process.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
                         stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self),
                         seconds: seconds)
    }
}

struct CLITimeout: Error, CustomStringConvertible {
    var arguments: [String]
    var seconds: TimeInterval
    var description: String { "cgwfw \(arguments.joined(separator: " ")) did not finish within \(seconds) s" }
}
