/// One problem or remark about an input, a profile or a backend, tied to where it came from.
public struct Diagnostic: Hashable, Sendable, Codable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable, Comparable {
        case note, warning, error
        public static func < (a: Severity, b: Severity) -> Bool {
            let order: [Severity] = [.note, .warning, .error]
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        }
    }

    public var severity: Severity
    public var file: String?
    public var line: Int?
    public var column: Int?
    public var message: String

    /// The message and the file name are kept with control characters escaped (`SafeText`): they quote input.
    public init(_ severity: Severity, _ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.severity = severity
        self.message = SafeText.escaped(message)
        self.file = file.map(SafeText.escaped)
        self.line = line
        self.column = column
    }

    /// `file:line:column: severity: message`, the form compilers use and editors jump to.
    public var description: String {
        var location = ""
        if let file {
            location = file
            if let line {
                location += ":\(line)"
                if let column { location += ":\(column)" }
            }
            location += ": "
        }
        return "\(location)\(severity.rawValue): \(message)"
    }
}

/// Collects diagnostics across the stages of one run.
public struct Diagnostics: Sendable, Codable {
    public private(set) var all: [Diagnostic] = []

    public init(_ items: [Diagnostic] = []) { all = items }

    public mutating func emit(_ diagnostic: Diagnostic) { all.append(diagnostic) }

    public mutating func error(_ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        emit(Diagnostic(.error, message, file: file, line: line, column: column))
    }

    public mutating func warning(_ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        emit(Diagnostic(.warning, message, file: file, line: line, column: column))
    }

    public mutating func note(_ message: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        emit(Diagnostic(.note, message, file: file, line: line, column: column))
    }

    public mutating func append(contentsOf other: Diagnostics) { all.append(contentsOf: other.all) }

    public var hasErrors: Bool { all.contains { $0.severity == .error } }
    public var errors: [Diagnostic] { all.filter { $0.severity == .error } }
    public var warnings: [Diagnostic] { all.filter { $0.severity == .warning } }
}

/// sysexits(3) codes used by every command.
public enum SysExit: Int32, Sendable, CaseIterable {
    case ok = 0
    case changesPending = 1   // `diff`: applying would change the kernel
    case usage = 64           // EX_USAGE: bad flags or arguments
    case dataError = 65       // EX_DATAERR: the input config or profile is wrong
    case noInput = 66         // EX_NOINPUT: an input file cannot be read
    case software = 70        // EX_SOFTWARE: the kernel refused the transaction
    case cantCreate = 73      // EX_CANTCREAT: an output file cannot be written
    case osError = 71         // EX_OSERR: netlink socket failure
    case tempFail = 75        // EX_TEMPFAIL: a concurrent change kept winning the race
    case noPermission = 77    // EX_NOPERM: CAP_NET_ADMIN missing
}
