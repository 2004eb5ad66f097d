import CGWFWCompiler
import CGWFWInput
import CGWFWModel

/// What one fuzz target feeds its input to. libFuzzer calls `LLVMFuzzerTestOneInput` (each target's one file)
/// with arbitrary bytes; any crash, sanitizer report, leak or timeout is a finding.
public enum FuzzTarget {
    /// The whole input stage for one format (nil: detect it from the content), as `cgwfw check` runs it:
    /// parse, validate into the model, and render every diagnostic.
    case input(InputFormat?)
    /// `ProfileLoader.parse` on the bytes as YAML text.
    case profile

    public func run(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
        switch self {
        case .input(let format):
            let result = InputLoader.load(contents: [(name: "fuzz-input", bytes: bytes)], format: format)
            consume(result.diagnostics.all.map(\.description)
                    + result.connections.flatMap { connection in
                        [connection.displayName] + connection.tunnels.map { "\($0.customerGatewayAddress) \($0.vpnGatewayAddress)" }
                    })
        case .profile:
            do {
                let profile = try ProfileLoader.parse(yaml: String(decoding: bytes, as: UTF8.self), name: "fuzz",
                                                      file: "fuzz-profile.yaml")
                consume(["\(profile)"])
            } catch {
                consume(error.diagnostics.all.map(\.description))
            }
        }
        return 0
    }
}

/// Keeps the rendered text alive so the optimiser cannot drop the work that produced it.
@inline(never)
private func consume(_ lines: [String]) {
    var total = 0
    for line in lines { total &+= line.utf8.count }
    if total == -1 { print(total) }
}
