import CGWFWModel
import Glibc

/// Which entries of a connections directory are configurations: regular files (or links to them), sorted,
/// minus the copies editors and package managers leave behind. Everything skipped is said in a note, so a
/// stale `vpn.txt~` can never add its old AWS endpoints silently.
struct DirectoryListing {
    var files: [String] = []
    var notes = Diagnostics()

    /// nil when `path` is not a directory.
    init?(_ path: String) throws(UnreadableInput) {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else { return nil }
        guard let directory = opendir(path) else {
            throw UnreadableInput(path: path, reason: "cannot list the directory: \(String(cString: strerror(errno)))")
        }
        defer { closedir(directory) }
        let base = path.hasSuffix("/") ? path : path + "/"
        var names: [(name: String, type: Int32)] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            names.append((name, Int32(entry.pointee.d_type)))
        }
        var leftovers: [String] = []
        var subdirectories: [String] = []
        var special: [String] = []
        for (name, type) in names.sorted(by: { $0.name < $1.name }) {
            if DirectoryListing.isLeftover(name) {
                leftovers.append(name)
                continue
            }
            let file = base + name
            // The entry type from readdir spares a stat per file; only links and unknown types need one.
            var mode: mode_t
            switch type {
            case Int32(DT_REG): mode = S_IFREG
            case Int32(DT_DIR): mode = S_IFDIR
            default:
                var target = stat()
                guard stat(file, &target) == 0 else {
                    throw UnreadableInput(path: file, reason: String(cString: strerror(errno)))
                }
                mode = target.st_mode & S_IFMT
            }
            if mode == S_IFDIR {
                subdirectories.append(name + "/")
            } else if let kind = DirectoryListing.specialKind(mode) {
                special.append("\(name) (\(kind))")
            } else {
                files.append(file)
            }
        }
        if !leftovers.isEmpty {
            notes.note("skipped \(leftovers.count) editor or package-manager leftover(s), not read: "
                       + leftovers.joined(separator: ", "), file: path)
        }
        if !subdirectories.isEmpty {
            notes.note("skipped subdirectories (not read recursively): " + subdirectories.joined(separator: ", "), file: path)
        }
        if !special.isEmpty {
            notes.note("skipped entries that are not regular files: " + special.joined(separator: ", "), file: path)
        }
    }

    /// Backups, swap files, patch rejects and the copies dpkg, rpm and ucf keep beside a changed file.
    static func isLeftover(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasSuffix("~") { return true }
        if name.hasPrefix("#") && name.hasSuffix("#") { return true }
        if name.contains(".ucf-") { return true }
        let suffixes = [".bak", ".orig", ".rej", ".swp", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-bak",
                        ".rpmnew", ".rpmsave"]
        return suffixes.contains { name.hasSuffix($0) }
    }

    /// What a file of this type is, when it is not a regular file or a directory.
    static func specialKind(_ mode: mode_t) -> String? {
        switch mode & S_IFMT {
        case S_IFREG, S_IFDIR: return nil
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        default: return "not a regular file"
        }
    }
}
