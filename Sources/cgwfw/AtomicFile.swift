import Foundation
import Glibc

struct WriteError: Error, CustomStringConvertible {
    var step: String
    var code: Int32
    var description: String { "\(step): \(String(cString: strerror(code)))" }
}

/// Replaces `path` with `text` so readers see the old file or the new one, never a part: a temporary made by
/// mkstemp(3) next to it (an unpredictable name, created O_EXCL, so no one can plant a link there), then
/// rename(2). The file it replaces keeps its mode and owner; a new file is 0644 unless the umask is stricter.
func writeAtomically(_ text: String, to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    let name = (path as NSString).lastPathComponent
    var template = Array(((directory.isEmpty ? "." : directory) + "/.\(name).cgwfw-XXXXXX").utf8CString)
    // mkostemp is _GNU_SOURCE only and not imported into Swift; mkstemp is the same with flags set after.
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else { throw WriteError(step: "creating a temporary file in \(directory)", code: errno) }
    _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
    let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    var renamed = false
    defer {
        close(descriptor)
        if !renamed { unlink(temporary) }
    }
    var existing = stat()
    if stat(path, &existing) == 0 {
        guard existing.st_mode & S_IFMT == S_IFREG else { throw WriteError(step: "replacing \(path)", code: EISDIR) }
        // Root keeps the owner too; anyone else can only own what they create, and keeps the mode.
        if fchown(descriptor, existing.st_uid, existing.st_gid) != 0 && geteuid() == 0 {
            throw WriteError(step: "keeping the owner of \(path)", code: errno)
        }
        guard fchmod(descriptor, existing.st_mode & 0o7777) == 0 else {
            throw WriteError(step: "keeping the mode of \(path)", code: errno)
        }
    } else {
        let mask = umask(0o022)
        umask(mask)
        guard fchmod(descriptor, 0o644 & ~mask) == 0 else { throw WriteError(step: "setting the mode", code: errno) }
    }
    let bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
        if count < 0 {
            if errno == EINTR { continue }
            throw WriteError(step: "writing \(temporary)", code: errno)
        }
        written += count
    }
    guard fsync(descriptor) == 0 else { throw WriteError(step: "writing \(temporary)", code: errno) }
    guard rename(temporary, path) == 0 else { throw WriteError(step: "renaming the temporary onto \(path)", code: errno) }
    renamed = true
}
