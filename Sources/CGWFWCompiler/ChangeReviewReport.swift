/// `cgwfw diff --from/--to`: the change in meaning, then the change in the target's rules, as text, JSON
/// (docs/reviewing-a-change.md documents schema 1) or Markdown for a pull-request comment.
public struct ChangeReviewReport: Encodable, Sendable {
    public static let schema = 1

    public struct Side: Encodable, Sendable {
        public var tunnels: [TunnelMeaning]
        public var ruleSet: RuleSetMeaning
        enum CodingKeys: String, CodingKey { case tunnels, ruleSet = "rule_set" }
    }
    public struct Rules: Encodable, Sendable {
        public var target: String
        public var added: Int
        public var removed: Int
        /// Unified diff of the target's output; "" when identical.
        public var diff: String
    }

    public var schema = ChangeReviewReport.schema
    public var changed: Bool
    public var changes: [MeaningChange]
    public var old: Side
    public var new: Side
    public var rules: Rules

    public init(review: ChangeReview, target: String, oldText: String, newText: String) {
        let diff = LineDiff(old: oldText, new: newText)
        changes = review.changes
        old = Side(tunnels: review.old, ruleSet: review.oldRules)
        new = Side(tunnels: review.new, ruleSet: review.newRules)
        rules = Rules(target: target, added: diff.added, removed: diff.removed,
                      diff: diff.unified(oldName: "old (\(target))", newName: "new (\(target))"))
        changed = !changes.isEmpty || !diff.isEmpty
    }

    /// The changes grouped by connection in order of appearance; nil key = the rule set as a whole (last).
    static func grouped(_ changes: [MeaningChange]) -> [(connection: String?, changes: [MeaningChange])] {
        var groups: [(connection: String?, changes: [MeaningChange])] = []
        for change in changes {
            if let index = groups.firstIndex(where: { $0.connection == change.connection }) {
                groups[index].changes.append(change)
            } else {
                groups.append((change.connection, [change]))
            }
        }
        return groups.filter { $0.connection != nil } + groups.filter { $0.connection == nil }
    }
    var grouped: [(connection: String?, changes: [MeaningChange])] { Self.grouped(changes) }

    /// One heading per connection (then "rule set"), one indented line per change.
    public static func summaryLines(_ changes: [MeaningChange], colour: Bool) -> [String] {
        func paint(_ s: String, _ code: String) -> String { colour ? "\u{1b}[\(code)m\(s)\u{1b}[0m" : s }
        var lines: [String] = []
        for group in grouped(changes) {
            lines.append(paint(group.connection ?? "rule set", "1"))
            for change in group.changes {
                let prefix = change.tunnel.map { "tunnel \($0): " } ?? ""
                let code = [.connectionAdded, .tunnelAdded, .natTraversalOpened].contains(change.kind) ? "32"
                    : [.connectionRemoved, .tunnelRemoved, .natTraversalClosed].contains(change.kind) ? "31" : "33"
                lines.append("  " + paint(prefix + change.text, code))
            }
        }
        return lines
    }

    var counts: String {
        func connections(_ side: Side) -> Int { Set(side.tunnels.map(\.connection)).count }
        return "\(connections(old)) → \(connections(new)) connections, \(old.tunnels.count) → \(new.tunnels.count) tunnels"
    }

    var headline: String {
        let meaning = changes.isEmpty ? "no change in meaning"
            : "\(changes.count) change\(changes.count == 1 ? "" : "s") in meaning"
        let ruleText = rules.diff.isEmpty ? "\(rules.target) rules identical"
            : "\(rules.target) rules +\(rules.added) −\(rules.removed) lines"
        return "\(meaning) (\(counts)); \(ruleText)"
    }

    /// Plain text; with `colour`, ANSI colours (the caller decides: a terminal and no NO_COLOR).
    public func text(colour: Bool) -> String {
        func paint(_ s: String, _ code: String) -> String { colour ? "\u{1b}[\(code)m\(s)\u{1b}[0m" : s }
        var lines = [paint("cgwfw diff: " + headline, "1")] + Self.summaryLines(changes, colour: colour)
        if !rules.diff.isEmpty {
            lines.append("")
            for line in rules.diff.split(separator: "\n", omittingEmptySubsequences: false) {
                let s = String(line)
                if s.hasPrefix("+++") || s.hasPrefix("---") { lines.append(paint(s, "1")) }
                else if s.hasPrefix("@@") { lines.append(paint(s, "36")) }
                else if s.hasPrefix("+") { lines.append(paint(s, "32")) }
                else if s.hasPrefix("-") { lines.append(paint(s, "31")) }
                else { lines.append(s) }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// GitHub-flavoured Markdown: a table of the changes, the rule diff folded in `<details>`.
    public func markdown() -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ") }
        var lines = ["### cgwfw diff: " + cell(headline), ""]
        if !changes.isEmpty {
            lines += ["| Connection | Tunnel | Change |", "|---|---|---|"]
            for group in grouped {
                for change in group.changes {
                    lines.append("| \(cell(group.connection ?? "rule set")) | \(change.tunnel.map(String.init) ?? (group.connection == nil ? "" : "all")) | \(cell(change.text)) |")
                }
            }
            lines.append("")
        }
        if !rules.diff.isEmpty {
            lines += ["<details><summary>\(rules.target) rules: +\(rules.added) −\(rules.removed) lines</summary>", "",
                      "```diff", rules.diff, "```", "", "</details>"]
        }
        return lines.joined(separator: "\n")
    }
}
