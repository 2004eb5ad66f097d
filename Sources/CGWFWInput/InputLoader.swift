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

    /// What an input that yields no VPN connection at all means for the command reading it.
    public enum EmptyInput: Sendable {
        /// A warning: the caller compiles or applies an empty ruleset on purpose (`--allow-empty`, `compile`).
        case allowed
        /// An error (65); `hint` says what to do instead (for apply: `cgwfw remove`).
        case refused(hint: String?)
    }

    /// - Parameters:
    ///   - format: nil detects each file's format from its content.
    ///   - localAddress: replaces the customer gateway outside address of every tunnel (`--local-address`).
    ///   - localAddressFromRoutes: `--local-address auto`: the kernel's source address towards an AWS endpoint
    ///     (nil: no route); all endpoints must agree on one, which then replaces the customer gateway address.
    public static func load(paths: [String], format: InputFormat? = nil, localAddress: IPAddress? = nil,
                            localAddressFromRoutes: ((IPAddress) -> IPAddress?)? = nil,
                            emptyInput: EmptyInput = .allowed) throws(UnreadableInput) -> ParseResult {
        var files: [(name: String, path: String)] = []
        var listingNotes = Diagnostics()
        for path in paths {
            if path != "-", let listing = try DirectoryListing(path) {
                files += listing.files.map { ($0, $0) }
                listingNotes.append(contentsOf: listing.notes)
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
        var localAddress = localAddress
        if let localAddressFromRoutes {
            localAddress = routedLocalAddress(parsed, resolve: localAddressFromRoutes, diagnostics: &listingNotes)
        }
        return build(parsed, localAddress: localAddress, leading: listingNotes, emptyInput: emptyInput,
                     inputNames: paths.map { $0 == "-" ? standardInputName : $0 })
    }

    /// The same for inputs already in memory (tests, generated configs).
    public static func load(contents inputs: [(name: String, bytes: [UInt8])], format: InputFormat? = nil,
                            localAddress: IPAddress? = nil) -> ParseResult {
        let parsed = concurrentMap(inputs.count) { parseInput(name: inputs[$0].name, bytes: inputs[$0].bytes, format: format) }
        return build(parsed, localAddress: localAddress, leading: Diagnostics(), emptyInput: .allowed,
                     inputNames: inputs.map(\.name))
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
    private static func build(_ inputs: [ParsedInput], localAddress: IPAddress?, leading: Diagnostics,
                              emptyInput: EmptyInput, inputNames: [String]) -> ParseResult {
        var builder = ModelBuilder(localAddress: localAddress)
        let connections = inputs.reduce(0) { $0 + $1.file.connections.count }
        builder.reserveCapacity(connections: connections,
                                tunnels: inputs.reduce(0) { $0 + $1.file.connections.reduce(0) { $0 + $1.tunnels.count } })
        var all = leading
        if let localAddress, let reason = localAddress.unusableAsOutsideAddress {
            all.error("--local-address \(localAddress) is \(reason), not usable as a tunnel endpoint")
        }
        for input in inputs {
            var diagnostics = input.diagnostics
            builder.add(input.file, source: input.name, diagnostics: &diagnostics)
            all.append(contentsOf: diagnostics.diagnostics)
        }
        var result = builder.finish(with: all)
        result.diagnostics.append(contentsOf: conflictingConnections(result.connections))
        if result.connections.isEmpty && !result.diagnostics.hasErrors {
            let names = inputNames.count <= 3 ? inputNames.joined(separator: ", ")
                : inputNames.prefix(3).joined(separator: ", ") + " and \(inputNames.count - 3) more"
            let skipped = result.skipped.isEmpty ? "" : " (\(result.skipped.count) skipped)"
            switch emptyInput {
            case .allowed:
                result.diagnostics.warning("no usable VPN connection in the input\(skipped)")
            case .refused(let hint):
                result.diagnostics.error("no VPN connection in \(names)\(skipped)" + (hint.map { "; \($0)" } ?? ""))
            }
        }
        return result
    }

    /// `--local-address auto`: the one source address the kernel uses towards every AWS endpoint of the input,
    /// said in a note; an endpoint without a route, or endpoints reached from different addresses, is an error.
    static func routedLocalAddress(_ inputs: [ParsedInput], resolve: (IPAddress) -> IPAddress?,
                                   diagnostics: inout Diagnostics) -> IPAddress? {
        let endpoints = Set(inputs.flatMap { $0.file.connections.flatMap(\.tunnels) }
            .compactMap { $0.vpnGatewayAddress.flatMap { IPAddress($0.text) } }).sorted()
        guard !endpoints.isEmpty else { return nil }
        var bySource: [IPAddress: [IPAddress]] = [:]
        var unrouted: [IPAddress] = []
        for endpoint in endpoints {
            if let source = resolve(endpoint) { bySource[source, default: []].append(endpoint) } else { unrouted.append(endpoint) }
        }
        func some(_ addresses: [IPAddress]) -> String {
            addresses.prefix(3).map(\.description).joined(separator: ", ") + (addresses.count > 3 ? ", …" : "")
        }
        if !unrouted.isEmpty {
            diagnostics.error("--local-address auto: the kernel has no route to the AWS endpoint(s) \(some(unrouted)); "
                              + "give the address with --local-address ADDR")
            return nil
        }
        guard bySource.count == 1, let (source, reached) = bySource.first else {
            let choices = bySource.sorted { $0.key < $1.key }.map { "\($0.key) towards \(some($0.value))" }
            diagnostics.error("--local-address auto: the kernel sends to the AWS endpoints from different addresses ("
                              + choices.joined(separator: "; ") + "); give one with --local-address ADDR")
            return nil
        }
        diagnostics.note("--local-address auto: \(source), the kernel's source address towards the \(reached.count) AWS "
                         + "endpoint(s) (route lookup)")
        return source
    }

    /// One connection id whose tunnels differ between inputs (a stale copy next to the current download):
    /// an error naming both places. Identical copies never get here: their tunnels merge in the model builder.
    static func conflictingConnections(_ connections: [Connection]) -> Diagnostics {
        var diagnostics = Diagnostics()
        var first: [String: Int] = [:]
        first.reserveCapacity(connections.count)
        for (index, connection) in connections.enumerated() {
            guard let id = connection.id else { continue }
            guard let earlier = first[id] else {
                first[id] = index
                continue
            }
            let other = connections[earlier]
            func pairs(_ c: Connection) -> String {
                c.tunnels.map { "\($0.customerGatewayAddress) ↔ \($0.vpnGatewayAddress)" }.joined(separator: ", ")
            }
            diagnostics.error("\(id) is also in \(other.source):\(other.tunnels.first?.line ?? 1) with other tunnels "
                              + "(\(pairs(other)) there, \(pairs(connection)) here); one of the two is stale: remove it",
                              file: connection.source, line: connection.tunnels.first?.line)
        }
        return diagnostics
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

    /// Reads a file or standard input, at most `maxInputBytes + 1` bytes (enough to tell it is too big).
    static func read(_ path: String) throws(UnreadableInput) -> [UInt8] {
        let descriptor: Int32
        if path == "-" {
            descriptor = STDIN_FILENO
        } else {
            // Non-blocking, so that a FIFO without a writer cannot hang the open; it is refused below.
            descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            guard descriptor >= 0 else { throw UnreadableInput(path: path, reason: String(cString: strerror(errno))) }
        }
        defer { if descriptor != STDIN_FILENO { close(descriptor) } }
        let name = path == "-" ? standardInputName : path
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw UnreadableInput(path: name, reason: String(cString: strerror(errno))) }
        // A file named directly must be a regular file: a FIFO, a device or a socket is no configuration.
        if path != "-", let kind = DirectoryListing.specialKind(status.st_mode) {
            throw UnreadableInput(path: path, reason: "\(kind), not a regular file; pipe its content to `cgwfw … -`")
        }
        // A regular file is read into a buffer of its size (plus one byte to see the end) with one read.
        let expected = status.st_mode & S_IFMT == S_IFREG ? Int(status.st_size) : 0
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
