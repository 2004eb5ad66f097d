import CGWFWModel
import Foundation
import Yams

/// A profile that cannot be used: the diagnostics say where and why; `exit` is the sysexits code.
public struct ProfileError: Error, CustomStringConvertible {
    public var diagnostics: Diagnostics
    public var exit: SysExit
    public init(_ diagnostics: Diagnostics, exit: SysExit) {
        self.diagnostics = diagnostics
        self.exit = exit
    }
    public var description: String { diagnostics.all.map(\.description).joined(separator: "\n") }
}

/// Finds profiles by name and reads profile files. A name is looked up in the operator's directory first, then
/// among the built-ins compiled into the binary (from the repository's `Profiles/`), so a copied binary works
/// anywhere and nothing in the environment can steer which rules a root process loads.
public enum ProfileLoader {
    /// The operator's profiles: `NAME.yaml` here is used for `--profile NAME`, ahead of a built-in of that name.
    public static let operatorDirectory = "/etc/cgwfw/profiles"

    /// Names of the profiles compiled into the binary, sorted.
    public static var builtInNames: [String] { BuiltInProfiles.sources.map(\.name) }

    /// Every profile a name can select: the built-ins and the operator's, sorted by name, the operator's file
    /// winning. Invalid ones are reported, not hidden.
    public static func available(operatorDirectory: String = operatorDirectory) throws(ProfileError) -> [Profile] {
        var profiles: [Profile] = []
        for name in availableNames(operatorDirectory: operatorDirectory) {
            profiles.append(try load(name: name, operatorDirectory: operatorDirectory))
        }
        return profiles
    }

    /// `--profile` value: a path when it contains `/` or ends in `.yaml`/`.yml`, else a profile name.
    public static func load(nameOrPath: String, operatorDirectory: String = operatorDirectory) throws(ProfileError) -> Profile {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".yaml") || nameOrPath.hasSuffix(".yml") {
            return try load(path: nameOrPath, name: nameOrPath)
        }
        return try load(name: nameOrPath, operatorDirectory: operatorDirectory)
    }

    /// `operatorDirectory/NAME.yaml` when it exists, else the built-in profile of that name.
    public static func load(name: String, operatorDirectory: String = operatorDirectory) throws(ProfileError) -> Profile {
        guard Profile.isSafeName(name, maxLength: 64) else { throw notFoundError(name, operatorDirectory: operatorDirectory) }
        let path = operatorDirectory + "/" + name + ".yaml"
        if FileManager.default.fileExists(atPath: path) {
            return try load(path: path, name: name)
        }
        guard let builtIn = BuiltInProfiles.sources.first(where: { $0.name == name }) else {
            throw notFoundError(name, operatorDirectory: operatorDirectory)
        }
        return try parse(yaml: builtIn.yaml, name: name, file: "(built-in)/\(name).yaml")
    }

    private static func notFoundError(_ name: String, operatorDirectory: String) -> ProfileError {
        var diagnostics = Diagnostics()
        diagnostics.error("no profile named '\(name)'; available: "
            + availableNames(operatorDirectory: operatorDirectory).joined(separator: ", ")
            + " (or give a path to a .yaml file)")
        return ProfileError(diagnostics, exit: .usage)
    }

    private static func availableNames(operatorDirectory: String) -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: operatorDirectory)) ?? []
        let operatorNames = files.filter { $0.hasSuffix(".yaml") }.map { String($0.dropLast(5)) }
            .filter { Profile.isSafeName($0, maxLength: 64) }
        return Set(builtInNames).union(operatorNames).sorted()
    }

    public static func load(path: String, name: String) throws(ProfileError) -> Profile {
        guard let data = FileManager.default.contents(atPath: path) else {
            var diagnostics = Diagnostics()
            diagnostics.error("cannot read profile", file: path)
            throw ProfileError(diagnostics, exit: .noInput)
        }
        return try parse(yaml: String(decoding: data, as: UTF8.self), name: name, file: path)
    }

    public static let maxProfileBytes = 64 * 1024

    /// What a profile never needs and YAML makes costly, found before the YAML parser sees the text.
    enum CostlyConstruct: Equatable {
        /// `&anchor` or `*alias`: a few hundred bytes can expand into minutes of work (an alias bomb).
        case anchorOrAlias
        /// `? key`: an explicit key, which may be a whole collection; Yams compares such keys for duplicates
        /// recursively (a 2 KB profile of nested ones took minutes, found by `make fuzz`).
        case explicitKey
        /// `[[[` or `{{{`: flow collections nested deeper than `maxFlowDepth`.
        case deepFlow

        var message: String {
            switch self {
            case .anchorOrAlias: return "YAML anchors and aliases (&name, *name) are not allowed in a profile"
            case .explicitKey: return "explicit YAML keys (? key) are not allowed in a profile: keys are plain words"
            case .deepFlow: return "flow collections ([...], {...}) nested more than \(ProfileLoader.maxFlowDepth) deep are not allowed in a profile"
            }
        }
    }

    /// A profile's lists are one level deep (`[vti0, vti1]`); two leaves room for a mistake to be reported.
    static let maxFlowDepth = 2

    /// The first costly construct outside quotes and comments, with its line and column (1-based). Lines end
    /// at LF, CRLF or a lone CR, as in YAML. Indicators count only where a YAML node can start: at the start
    /// of a line, after a blank, `[`, `{` or `,` (so `it's`, `what?` and `CGWFW-*` are words).
    static func firstCostlyConstruct(_ yaml: String) -> (line: Int, column: Int, what: CostlyConstruct)? {
        let bytes = Array(yaml.utf8)
        let nodeStart = Set(" \t[{,".utf8)
        var line = 1, column = 0
        var quote: UInt8?
        var inComment = false
        var depth = 0
        var previous: UInt8 = UInt8(ascii: "\n")
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            defer { index += 1 }
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if byte == UInt8(ascii: "\r"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { index += 1 }
                line += 1
                column = 0
                inComment = false
                previous = UInt8(ascii: "\n")
                continue
            }
            column += 1
            defer { previous = byte }
            if inComment { continue }
            if let open = quote {
                if byte == UInt8(ascii: "\\") && open == UInt8(ascii: "\"") {
                    index += 1   // an escaped character inside double quotes
                    column += 1
                } else if byte == open {
                    quote = nil
                }
                continue
            }
            let atNodeStart = previous == UInt8(ascii: "\n") || nodeStart.contains(previous)
            let next = index + 1 < bytes.count ? bytes[index + 1] : UInt8(ascii: "\n")
            switch byte {
            case UInt8(ascii: "#") where previous == UInt8(ascii: "\n") || previous == UInt8(ascii: " ") || previous == UInt8(ascii: "\t"):
                inComment = true
            case UInt8(ascii: "\""), UInt8(ascii: "'") where atNodeStart:
                quote = byte
            case UInt8(ascii: "&"), UInt8(ascii: "*") where atNodeStart:
                return (line, column, .anchorOrAlias)
            case UInt8(ascii: "?") where atNodeStart && " \t\r\n".utf8.contains(next):
                return (line, column, .explicitKey)
            case UInt8(ascii: "["), UInt8(ascii: "{") where atNodeStart:
                depth += 1
                if depth > maxFlowDepth { return (line, column, .deepFlow) }
            case UInt8(ascii: "]"), UInt8(ascii: "}") where depth > 0:
                depth -= 1
            default:
                break
            }
        }
        return nil
    }

    /// Reads a profile. Keys not given keep the default profile's values. Every unknown key and bad value is
    /// reported (not only the first), each with file, line and key.
    public static func parse(yaml: String, name: String, file: String) throws(ProfileError) -> Profile {
        var diagnostics = Diagnostics()
        var profile = Profile(name: name)
        if yaml.utf8.count > maxProfileBytes {
            diagnostics.error("a profile is at most \(maxProfileBytes / 1024) KiB; this one is \(yaml.utf8.count) bytes", file: file)
            throw ProfileError(diagnostics, exit: .dataError)
        }
        // A profile is a flat mapping of words to scalars and short lists: what YAML can make slow, it needs not.
        if let (line, column, what) = firstCostlyConstruct(yaml) {
            diagnostics.error(what.message, file: file, line: line, column: column)
            throw ProfileError(diagnostics, exit: .dataError)
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            diagnostics.emit(yamlDiagnostic(error, file: file))
            throw ProfileError(diagnostics, exit: .dataError)
        } catch {
            diagnostics.error("not YAML: \(error)", file: file)
            throw ProfileError(diagnostics, exit: .dataError)
        }
        guard let root else { return profile }  // an empty file is the default profile
        guard case .mapping(let mapping) = root else {
            diagnostics.error("a profile is a mapping of keys to values", file: file, line: root.mark?.line)
            throw ProfileError(diagnostics, exit: .dataError)
        }
        var seen = Set<String>()
        for (keyNode, value) in mapping {
            let line = keyNode.mark?.line
            guard let key = keyNode.string else {
                diagnostics.error("keys must be plain words", file: file, line: line, column: keyNode.mark?.column)
                continue
            }
            func bad(_ expected: String) {
                diagnostics.error("bad value '\(scalarText(value))' for key '\(key)': expected \(expected)",
                                  file: file, line: value.mark?.line ?? line, column: value.mark?.column)
            }
            if !seen.insert(key).inserted {
                diagnostics.error("key '\(key)' given twice", file: file, line: line, column: keyNode.mark?.column)
            }
            let expected = Profile.keys.first { $0.key == key }?.values ?? ""
            switch key {
            case "description":
                if let text = plainString(value) { profile.description = text } else { bad(expected) }
            case "target":
                if let v = plainString(value).flatMap(Profile.Target.init(rawValue:)) { profile.target = v } else { bad(expected) }
            case "placement":
                if let v = plainString(value).flatMap(Placement.init(rawValue:)) { profile.placement = v } else { bad(expected) }
            case "table":
                if let v = plainString(value), Profile.isSafeName(v, maxLength: 24) { profile.table = v } else { bad(expected) }
            case "wan_interface":
                if isNull(value) { profile.wanInterface = nil }
                else if let v = plainString(value), Profile.isInterfaceName(v) { profile.wanInterface = v } else { bad(expected) }
            case "tunnel_selection":
                if let v = plainString(value).flatMap(Profile.TunnelSelection.init(rawValue:)) { profile.tunnelSelection = v } else { bad(expected) }
            case "tunnel_interfaces":
                if isNull(value) { profile.tunnelInterfaces = [] }
                else if case .sequence(let items) = value,
                        case let names = items.compactMap(plainString), names.count == items.count,
                        names.allSatisfy(Profile.isInterfaceName) {
                    profile.tunnelInterfaces = names
                } else { bad(expected) }
            case "nat_traversal":
                if let v = switchText(value).flatMap(Profile.NATTraversal.init(rawValue:)) { profile.natTraversal = v } else { bad(expected) }
            case "behind_nat":
                if let v = value.bool { profile.behindNAT = v } else { bad(expected) }
            case "tcp_mss":
                if let v = switchText(value).flatMap(Profile.MSSSetting.init(text:)) { profile.tcpMSS = v } else { bad(expected) }
            case "clear_df":
                if let v = switchText(value).flatMap(Profile.Switch.init(rawValue:)) { profile.clearDF = v } else { bad(expected) }
            case "strict":
                if let v = value.bool { profile.strict = v } else { bad(expected) }
            case "counters":
                if let v = value.bool { profile.counters = v } else { bad(expected) }
            case "comments":
                if let v = value.bool { profile.comments = v } else { bad(expected) }
            case "pf_dialect":
                if let v = plainString(value).flatMap(Profile.PFDialect.init(rawValue:)) { profile.pfDialect = v } else { bad(expected) }
            case "attach":
                if isNull(value) { profile.attach = nil } else if let v = plainString(value) { profile.attach = v } else { bad(expected) }
            case "local_address":
                if isNull(value) { profile.localAddress = nil } else if let v = plainString(value) { profile.localAddress = v } else { bad(expected) }
            case "attach_chains":
                if isNull(value) { profile.attachChains = [:] }
                else if case .mapping(let chains) = value {
                    var map: [String: String] = [:]
                    for (hook, chain) in chains {
                        if let hook = plainString(hook), let chain = plainString(chain) { map[hook] = chain } else { bad(expected) }
                    }
                    profile.attachChains = map
                } else { bad(expected) }
            default:
                diagnostics.error("unknown key '\(key)'; known keys: " + Profile.keys.map(\.key).joined(separator: ", "),
                                  file: file, line: line, column: keyNode.mark?.column)
            }
        }
        if !diagnostics.hasErrors {
            for (key, message) in profile.validationErrors() {
                let line = mapping.first { $0.key.string == key }?.key.mark?.line
                diagnostics.error("key '\(key)': \(message)", file: file, line: line)
            }
        }
        if diagnostics.hasErrors { throw ProfileError(diagnostics, exit: .dataError) }
        return profile
    }

    private static func plainString(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node, node.tag.rawValue == Tag.Name.str.rawValue || scalar.style != .plain else {
            return nil
        }
        return scalar.string
    }

    /// YAML 1.1 readers turn bare `on`/`off` into booleans; accept both spellings for tri-state keys.
    private static func switchText(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node else { return nil }
        switch scalar.string.lowercased() {
        case "true", "yes": return "on"
        case "false", "no": return "off"
        default: return scalar.string
        }
    }

    private static func isNull(_ node: Node) -> Bool { node.tag.rawValue == Tag.Name.null.rawValue }

    private static func scalarText(_ node: Node) -> String {
        if case .scalar(let scalar) = node { return scalar.string }
        return "(\(node.tag.rawValue.split(separator: ":").last ?? "value"))"
    }

    private static func yamlDiagnostic(_ error: YamlError, file: String) -> Diagnostic {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return Diagnostic(.error, "not valid YAML: \(problem)", file: file, line: mark.line, column: mark.column)
        default:
            return Diagnostic(.error, "not valid YAML: \(error)", file: file)
        }
    }
}
