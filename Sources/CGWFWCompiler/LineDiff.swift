/// A line diff of two texts in unified form (the rule-level part of `cgwfw diff --from/--to`).
public struct LineDiff: Sendable, Equatable {
    public enum Line: Sendable, Equatable {
        case same(String), removed(String), added(String)
    }
    public var lines: [Line]

    public var added: Int { lines.count { if case .added = $0 { return true } else { return false } } }
    public var removed: Int { lines.count { if case .removed = $0 { return true } else { return false } } }
    public var isEmpty: Bool { added == 0 && removed == 0 }

    /// Longest common subsequence over the lines between the common head and tail. Beyond `limit` cells the
    /// middle is shown as removed then added (still correct, only less minimal).
    public init(old: String, new: String, limit: Int = 4_000_000) {
        let a = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let b = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var head = 0
        while head < a.count && head < b.count && a[head] == b[head] { head += 1 }
        var tail = 0
        while tail < a.count - head && tail < b.count - head && a[a.count - 1 - tail] == b[b.count - 1 - tail] { tail += 1 }
        let x = Array(a[head..<(a.count - tail)]), y = Array(b[head..<(b.count - tail)])
        var result = a[..<head].map(Line.same)
        if x.count * y.count > limit {
            result += x.map(Line.removed) + y.map(Line.added)
        } else {
            // table[i][j]: LCS length of x[i...] and y[j...]
            let width = y.count + 1
            var table = [Int](repeating: 0, count: (x.count + 1) * width)
            for i in stride(from: x.count - 1, through: 0, by: -1) {
                for j in stride(from: y.count - 1, through: 0, by: -1) {
                    table[i * width + j] = x[i] == y[j] ? table[(i + 1) * width + j + 1] + 1
                        : max(table[(i + 1) * width + j], table[i * width + j + 1])
                }
            }
            var i = 0, j = 0
            while i < x.count || j < y.count {
                if i < x.count && j < y.count && x[i] == y[j] {
                    result.append(.same(x[i])); i += 1; j += 1
                } else if i < x.count && (j == y.count || table[(i + 1) * width + j] >= table[i * width + j + 1]) {
                    result.append(.removed(x[i])); i += 1
                } else {
                    result.append(.added(y[j])); j += 1
                }
            }
        }
        result += a[(a.count - tail)...].map(Line.same)
        lines = result
    }

    /// `--- old` / `+++ new` and `@@` hunks with `context` lines around each change; "" when nothing changed.
    public func unified(oldName: String = "old", newName: String = "new", context: Int = 3) -> String {
        guard !isEmpty else { return "" }
        var out = ["--- \(oldName)", "+++ \(newName)"]
        let changed = lines.indices.filter { if case .same = lines[$0] { return false } else { return true } }
        var hunks: [(Int, Int)] = []
        for index in changed {
            let start = max(0, index - context), end = min(lines.count - 1, index + context)
            if let last = hunks.last, start <= last.1 + 1 { hunks[hunks.count - 1].1 = end } else { hunks.append((start, end)) }
        }
        for (start, end) in hunks {
            var oldLine = 1, newLine = 1
            for line in lines[..<start] {
                switch line {
                case .same: oldLine += 1; newLine += 1
                case .removed: oldLine += 1
                case .added: newLine += 1
                }
            }
            let slice = lines[start...end]
            let oldCount = slice.count { if case .added = $0 { return false } else { return true } }
            let newCount = slice.count { if case .removed = $0 { return false } else { return true } }
            out.append("@@ -\(oldLine),\(oldCount) +\(newLine),\(newCount) @@")
            for line in slice {
                switch line {
                case let .same(text): out.append(" " + text)
                case let .removed(text): out.append("-" + text)
                case let .added(text): out.append("+" + text)
                }
            }
        }
        return out.joined(separator: "\n")
    }
}
