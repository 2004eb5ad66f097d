/// How many notes a person sees: none, one line per kind of note, or every one.
public enum DiagnosticVerbosity: Sendable {
    case quiet, summary, verbose
}

extension Diagnostics {
    /// How many subjects a summarised note names before "and N more".
    public static let summaryNames = 3

    /// The lines to print for a person. Warnings and errors always print, each on its own. With `.summary`,
    /// notes that say the same thing about different connections ("vpn-…: NAT-T … closed …") print once, the
    /// first one followed by how many more and the first few of them; machine output (JSON) keeps all.
    public func lines(_ verbosity: DiagnosticVerbosity) -> [String] {
        switch verbosity {
        case .verbose:
            return all.map(\.description)
        case .quiet:
            return all.filter { $0.severity != .note }.map(\.description)
        case .summary:
            var groups: [String: [String]] = [:]
            for diagnostic in all where diagnostic.severity == .note {
                guard let (subject, rest) = Diagnostics.subjectAndRest(diagnostic.message) else { continue }
                groups[rest, default: []].append(subject)
            }
            var printed: Set<String> = []
            var result: [String] = []
            for diagnostic in all {
                guard diagnostic.severity == .note, let (_, rest) = Diagnostics.subjectAndRest(diagnostic.message),
                      let subjects = groups[rest], subjects.count > 1 else {
                    result.append(diagnostic.description)
                    continue
                }
                guard printed.insert(rest).inserted else { continue }
                // The first one as it is, then how many more and who they are.
                var names: [String] = []
                var seen: Set<String> = [subjects[0]]
                for subject in subjects.dropFirst() where seen.insert(subject).inserted {
                    names.append(subject)
                    if names.count > Diagnostics.summaryNames { break }
                }
                let shown = names.prefix(Diagnostics.summaryNames).joined(separator: ", ")
                    + (names.count > Diagnostics.summaryNames ? ", …" : "")
                result.append("\(diagnostic.description) [and \(subjects.count - 1) more: \(shown); -v prints each]")
            }
            return result
        }
    }

    /// "vpn-0a1b tunnel 2: text" → ("vpn-0a1b tunnel 2", "text"): the subject is one word, optionally
    /// followed by "tunnel N", before the first ": ". nil for messages of another shape.
    static func subjectAndRest(_ message: String) -> (subject: String, rest: String)? {
        // Foundation-free: the model target does not import it.
        var index = message.startIndex
        var colon: String.Index?
        while index < message.endIndex {
            let next = message.index(after: index)
            if message[index] == ":" && next < message.endIndex && message[next] == " " {
                colon = index
                break
            }
            index = next
        }
        guard let colon else { return nil }
        let head = message[..<colon]
        let words = head.split(separator: " ", omittingEmptySubsequences: false)
        let isSubject = words.count == 1 || (words.count == 3 && words[1] == "tunnel" && Int(words[2]) != nil)
        guard isSubject, !words[0].isEmpty else { return nil }
        return (String(head), String(message[message.index(colon, offsetBy: 2)...]))
    }
}
