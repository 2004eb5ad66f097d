/// Input text as cgwfw echoes it (ids, file names, values in diagnostics, reviews and JSON): control and
/// format characters — the C0 and C1 controls, DEL, bidirectional overrides, zero-width and line/paragraph
/// separators — are written as `\u{…}` escapes, so a config or a file name cannot clear a screen, move the
/// cursor or forge a line such as "unchanged". Printable text, Unicode letters included, stays as it is.
public enum SafeText {
    public static func escaped(_ text: String) -> String {
        // The usual case: printable ASCII, returned as it is.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isSafe(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            }
        }
        return out
    }

    static func isSafe(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar.value >= 0x20 && scalar.value < 0x7f }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return false
        default:
            return true
        }
    }
}
