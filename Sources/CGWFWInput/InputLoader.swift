import CGWFWModel
import Foundation

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
    /// No AWS configuration comes near this; anything bigger is refused unparsed.
    public static let maxInputBytes = 64 << 20
    /// Far more than any real input (a describe-vpn-connections JSON of 10,000 connections has ~600,000);
    /// splitting more would cost memory for nothing.
    public static let maxInputLines = 2_000_000
    /// How standard input is named in diagnostics and in `Connection.source`.
    public static let standardInputName = "<stdin>"

    /// - Parameters:
    ///   - format: nil detects each file's format from its content.
    ///   - localAddress: replaces the customer gateway outside address of every tunnel (`--local-address`).
    public static func load(paths: [String], format: InputFormat? = nil,
                            localAddress: IPAddress? = nil) throws(UnreadableInput) -> ParseResult {
        var files: [(name: String, path: String)] = []
        for path in paths {
            if path != "-", let contents = try filesInDirectory(path) {
                files += contents.map { ($0, $0) }
            } else {
                files.append((path == "-" ? standardInputName : path, path))
            }
        }
        // Read and parse on every core; each file's bytes are dropped as soon as it is parsed.
        let toRead = files
        let outcomes = concurrentMap(toRead.count) { index -> Result<ParsedInput, UnreadableInput> in
            do throws(UnreadableInput) {
                return .success(parseInput(name: toRead[index].name, bytes: try read(toRead[index].path), format: format))
            } catch {
                return .failure(error)
            }
        }
        var parsed: [ParsedInput] = []
        for outcome in outcomes { parsed.append(try outcome.get()) }
        return build(parsed, localAddress: localAddress)
    }

    /// The same for inputs already in memory (tests, generated configs).
    public static func load(contents inputs: [(name: String, bytes: [UInt8])], format: InputFormat? = nil,
                            localAddress: IPAddress? = nil) -> ParseResult {
        let parsed = concurrentMap(inputs.count) { parseInput(name: inputs[$0].name, bytes: inputs[$0].bytes, format: format) }
        return build(parsed, localAddress: localAddress)
    }

    /// One input after parsing, before validation.
    struct ParsedInput {
        var name: String
        var file: ParsedFile
        var diagnostics: FileDiagnostics
    }

    static func parseInput(name: String, bytes: [UInt8], format: InputFormat?) -> ParsedInput {
        var diagnostics = FileDiagnostics(file: name)
        guard bytes.count <= maxInputBytes else {
            diagnostics.error("input is larger than \(maxInputBytes >> 20) MiB; not an AWS VPN configuration",
                              at: SourcePosition(line: 1))
            return ParsedInput(name: name, file: ParsedFile(), diagnostics: diagnostics)
        }
        let source = SourceText(name: name, bytes: bytes)
        var file = parse(source, format: format, diagnostics: &diagnostics)
        if let last = bytes.last, last != 0x0A, last != 0x0D {
            file.unterminatedLastLine = source.lines.count
        }
        return ParsedInput(name: name, file: file, diagnostics: diagnostics)
    }

    /// Validation runs in input order: duplicate merging and its notes depend on what came first.
    private static func build(_ inputs: [ParsedInput], localAddress: IPAddress?) -> ParseResult {
        var builder = ModelBuilder(localAddress: localAddress)
        let connections = inputs.reduce(0) { $0 + $1.file.connections.count }
        builder.reserveCapacity(connections: connections,
                                tunnels: inputs.reduce(0) { $0 + $1.file.connections.reduce(0) { $0 + $1.tunnels.count } })
        var all = Diagnostics()
        if let localAddress, let reason = localAddress.unusableAsOutsideAddress {
            all.error("--local-address \(localAddress) is \(reason), not usable as a tunnel endpoint")
        }
        for input in inputs {
            var diagnostics = input.diagnostics
            builder.add(input.file, source: input.name, diagnostics: &diagnostics)
            all.append(contentsOf: diagnostics.diagnostics)
        }
        var result = builder.finish(with: all)
        if result.connections.isEmpty && !result.diagnostics.hasErrors {
            result.diagnostics.warning("no usable VPN connection in the input (\(result.skipped.count) skipped)")
        }
        return result
    }

    /// `work(0..<count)` spread over all cores, results in index order.
    static func concurrentMap<T: Sendable>(_ count: Int, _ work: @Sendable (Int) -> T) -> [T] {
        guard count > 1 else { return (0..<count).map(work) }
        var results = [T?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buffer in
            // Each iteration writes only its own slot.
            nonisolated(unsafe) let slots = buffer
            DispatchQueue.concurrentPerform(iterations: count) { index in slots[index] = work(index) }
        }
        return results.map { $0! }
    }

    static func parse(_ source: SourceText, format: InputFormat?, diagnostics: inout FileDiagnostics) -> ParsedFile {
        let start = SourcePosition(line: 1)
        if source.isBlank {
            diagnostics.error("empty input: no VPN configuration in it", at: start)
            return ParsedFile()
        }
        if source.looksBinary {
            diagnostics.error("binary data, not a text VPN configuration", at: start)
            return ParsedFile()
        }
        if source.lineBreaks > maxInputLines {
            diagnostics.error("more than \(maxInputLines) lines; not an AWS VPN configuration", at: start)
            return ParsedFile()
        }
        let chosen: InputFormat
        if let format {
            chosen = format
        } else {
            switch FormatDetector.detect(source) {
            case .format(let detected):
                chosen = detected
            case .unreadVendor(let vendor, let line):
                diagnostics.error("\(vendor) download: cgwfw does not read this vendor's format; download the Generic "
                                  + "configuration of this VPN connection instead", at: SourcePosition(line: line))
                return ParsedFile()
            case .unknown:
                diagnostics.error("not an AWS VPN configuration cgwfw knows (Generic text, CustomerGatewayConfiguration "
                                  + "XML, describe-vpn-connections JSON, or a vendor download: "
                                  + InputFormat.allCases.filter { ![.generic, .xml, .describeJSON].contains($0) }
                                      .map(\.vendorName).joined(separator: ", ") + ")", at: start)
                return ParsedFile()
            }
        }
        return FormatDetector.parse(source, as: chosen, diagnostics: &diagnostics)
    }

    /// The visible regular files of a directory (e.g. /etc/cgwfw/connections), sorted; nil when `path` is
    /// not a directory. One directory argument instead of thousands of file arguments.
    static func filesInDirectory(_ path: String) throws(UnreadableInput) -> [String]? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return nil
        }
        guard let directory = opendir(path) else { throw UnreadableInput(path: path, reason: "cannot list the directory") }
        defer { closedir(directory) }
        let base = path.hasSuffix("/") ? path : path + "/"
        // The entry type from readdir spares a stat per file; only links and unknown types need one.
        var entries: [(name: String, isRegular: Bool?)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
            guard !name.hasPrefix(".") else { continue }
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_REG): entries.append((name, true))
            case Int32(DT_DIR): continue
            default: entries.append((name, nil))
            }
        }
        return entries.sorted { $0.name < $1.name }.compactMap { entry in
            let file = base + entry.name
            if entry.isRegular == true { return file }
            var isSubdirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: file, isDirectory: &isSubdirectory) && !isSubdirectory.boolValue ? file : nil
        }
    }

    /// Reads a file or standard input, at most `maxInputBytes + 1` bytes (enough to tell it is too big).
    static func read(_ path: String) throws(UnreadableInput) -> [UInt8] {
        let descriptor: Int32
        if path == "-" {
            descriptor = STDIN_FILENO
        } else {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { throw UnreadableInput(path: path, reason: String(cString: strerror(errno))) }
        }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        let name = path == "-" ? standardInputName : path
        // A regular file is read into a buffer of its size (plus one byte to see the end) with one read.
        var status = stat()
        let expected = fstat(descriptor, &status) == 0 && status.st_mode & S_IFMT == S_IFREG ? Int(status.st_size) : 0
        let capacity = min(expected, maxInputBytes) + 1
        var readError: Int32 = 0
        var bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            while count < capacity {
                let got = Glibc.read(descriptor, buffer.baseAddress! + count, capacity - count)
                if got < 0 {
                    if errno == EINTR { continue }
                    readError = errno
                    return
                }
                if got == 0 { return }
                count += got
            }
        }
        if readError != 0 { throw UnreadableInput(path: name, reason: String(cString: strerror(readError))) }
        guard bytes.count == capacity else { return bytes }
        // Standard input, a pipe, or a file that grew: read on until the end or the limit.
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count <= maxInputBytes {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw UnreadableInput(path: name, reason: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }
}
