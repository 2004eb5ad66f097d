/// Text as nft stores it in a comment: nft has no escape for `"`, so characters outside a safe set become
/// `_`, and the text is cut to nft's comment limit on a character boundary. Both the text backend and the
/// netlink writer store what this returns, so both paths hold the same bytes.
public enum NftString {
    /// nft's comment limit (NFTNL_UDATA_COMMENT_MAXLEN) is 128 bytes including the terminating NUL.
    public static let commentLimit = 127

    public static func clean(_ text: String) -> String {
        let utf8 = text.utf8
        if utf8.count <= commentLimit, utf8.allSatisfy(isPlain) { return text }  // the usual case, as it is
        var safe = ""
        var bytes = 0
        for scalar in text.unicodeScalars {
            let allowed = scalar.isASCII ? isPlain(UInt8(scalar.value)) : scalar.properties.isAlphabetic
            let character = allowed ? scalar : "_"
            let length = String(character).utf8.count
            if bytes + length > commentLimit { break }
            safe.unicodeScalars.append(character)
            bytes += length
        }
        return safe
    }

    /// `"text"` after `clean`.
    public static func quoted(_ text: String) -> String { "\"" + clean(text) + "\"" }

    static func isPlain(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x7f && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
    }
}
