import CGWFWModel

/// An input file that cannot be read at all (exit 66), as opposed to one that reads but is wrong (65).
public struct UnreadableInput: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): cannot read: \(reason)" }
}

/// Entry point of the input stage: files (or `-` for stdin) → validated connections + diagnostics.
public enum InputLoader {
    /// - Parameters:
    ///   - format: nil detects each file's format from its content.
    ///   - localAddress: replaces the customer gateway outside address of every tunnel (`--local-address`).
    public static func load(paths: [String], format: InputFormat? = nil,
                            localAddress: IPAddress? = nil) throws(UnreadableInput) -> ParseResult {
        // Placeholder until the parsers land: reads nothing.
        ParseResult()
    }
}
