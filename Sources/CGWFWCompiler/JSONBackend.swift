import CGWFWModel
import Foundation

/// Rule intent → JSON, with sorted keys so the text is stable for diffs and tests.
public enum JSONBackend {
    public static func render(_ intent: RuleIntent) -> (text: String, diagnostics: Diagnostics) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings, numbers and arrays cannot fail.
        let data = (try? encoder.encode(intent)) ?? Data()
        return (String(decoding: data, as: UTF8.self) + "\n", Diagnostics())
    }
}
