import CGWFWModel
import Glibc

/// Why a state directory or file cannot be used safely.
public struct StateError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// 77 when the directory is not safe to use (owner, mode, a symlink); 73 when it cannot be created or written.
    public var exitCode: SysExit
}

/// A directory of cgwfw's own state, used the OpenSSH way: cgwfw creates it (0700), refuses it when it is
/// not a real directory owned by the user cgwfw runs as with no group or other access, and opens every
/// file relative to it with O_NOFOLLOW; new files are created O_EXCL, 0600, and renamed into place.
public struct StateDirectory: Sendable {
    public let path: String

    /// Where `--state-dir DIR` put the state (`DIR/run` and `DIR/lib`); the environment never decides it.
    nonisolated(unsafe) public static var root: String?

    /// Runtime state, gone at reboot: the lock, the apply snapshot, the watchdogs' locks and log.
    public static var runtime: StateDirectory { StateDirectory(path: root.map { $0 + "/run" } ?? "/run/cgwfw") }
    /// State that must survive a reboot: the pending commit-confirm (with the rules to restore) and the
    /// last watchdog's outcome.
    public static var persistent: StateDirectory { StateDirectory(path: root.map { $0 + "/lib" } ?? "/var/lib/cgwfw") }

    /// The directory, opened; created 0700 when missing and `create` is set; nil when missing otherwise.
    func open(create: Bool) throws(StateError) -> Int32? {
        var status = stat()
        if lstat(path, &status) != 0 {
            guard errno == ENOENT, create else { return nil }
            // Under --state-dir DIR, DIR itself is created too (0700) when missing.
            if let root = Self.root, mkdir(path, 0o700) != 0, errno == ENOENT { mkdir(root, 0o700) }
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw StateError(description: "cannot create \(path): \(String(cString: strerror(errno)))", exitCode: .cantCreate)
            }
            guard lstat(path, &status) == 0 else {
                throw StateError(description: "cannot use \(path): \(String(cString: strerror(errno)))", exitCode: .cantCreate)
            }
        }
        let problem: String? =
            (status.st_mode & S_IFMT) == S_IFLNK ? "is a symbolic link"
            : (status.st_mode & S_IFMT) != S_IFDIR ? "is not a directory"
            : status.st_uid != geteuid() ? "is owned by uid \(status.st_uid), not \(geteuid())"
            : status.st_mode & 0o077 != 0 ? "has mode \(String(status.st_mode & 0o7777, radix: 8)), not 0700"
            : nil
        if let problem {
            throw StateError(description: "refusing to use \(path) for cgwfw's state: it \(problem); "
                             + "remove it (cgwfw creates it 0700) or fix it with chown and chmod 0700", exitCode: .noPermission)
        }
        let descriptor = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw StateError(description: "cannot open \(path): \(String(cString: strerror(errno)))", exitCode: .noPermission)
        }
        return descriptor
    }

    private func failure(_ what: String, _ name: String) -> StateError {
        let code = errno
        let reason = code == ELOOP ? "it is a symbolic link (refused)" : String(cString: strerror(code))
        return StateError(description: "cannot \(what) \(path)/\(name): \(reason)",
                          exitCode: code == ELOOP || code == EACCES || code == EPERM ? .noPermission : .cantCreate)
    }

    /// The file's bytes; nil when the directory or the file does not exist. A symlink, a FIFO or any other
    /// non-regular file in its place is an error, never followed or waited on.
    public func read(_ name: String) throws(StateError) -> [UInt8]? {
        guard let directory = try open(create: false) else { return nil }
        defer { close(directory) }
        let descriptor = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        if descriptor < 0 {
            if errno == ENOENT { return nil }
            throw failure("read", name)
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw StateError(description: "refusing to read \(path)/\(name): not a regular file", exitCode: .noPermission)
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw failure("read", name) }
            if count == 0 { return bytes }
            bytes += buffer[0..<count]
        }
    }

    /// Replaces the file atomically: a new 0600 temporary (O_EXCL, unpredictable name) renamed over it.
    public func write(_ name: String, _ bytes: [UInt8]) throws(StateError) {
        guard let directory = try open(create: true) else { return }
        defer { close(directory) }
        let temporary = ".\(name).\(UInt64.random(in: 0..<UInt64.max))"
        let descriptor = openat(directory, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("write", temporary) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                close(descriptor)
                unlinkat(directory, temporary, 0)
                throw failure("write", name)
            }
            written += count
        }
        fsync(descriptor)
        close(descriptor)
        guard renameat(directory, temporary, directory, name) == 0 else {
            let error = failure("write", name)
            unlinkat(directory, temporary, 0)
            throw error
        }
    }

    /// Appends to a log file (created 0600; a symlink in its place is refused).
    public func append(_ name: String, _ text: String) throws(StateError) {
        guard let directory = try open(create: true) else { return }
        defer { close(directory) }
        let descriptor = openat(directory, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("write", name) }
        defer { close(descriptor) }
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    }

    public func remove(_ name: String) {
        guard let directory = try? open(create: false) else { return }
        defer { close(directory) }
        unlinkat(directory, name, 0)
    }

    public func exists(_ name: String) -> Bool {
        guard let directory = try? open(create: false) else { return false }
        defer { close(directory) }
        var status = stat()
        return fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0
    }

    /// An open descriptor of `name` (created 0600) holding flock(2) `operation`; nil when a non-blocking
    /// lock is held by someone else. The lock lasts while the descriptor (or an inherited copy) is open.
    public func lock(_ name: String, _ operation: Int32, create: Bool = true) throws(StateError) -> Int32? {
        guard let directory = try open(create: create) else { return nil }
        defer { close(directory) }
        let descriptor = openat(directory, name, O_RDWR | (create ? O_CREAT : 0) | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            if errno == ENOENT && !create { return nil }
            throw failure("lock", name)
        }
        while flock(descriptor, operation) != 0 {
            if errno == EINTR { continue }
            close(descriptor)
            if errno == EWOULDBLOCK { return nil }
            throw failure("lock", name)
        }
        return descriptor
    }
}
