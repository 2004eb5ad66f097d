import CGWFWModel
import CGWFWNftables
import Foundation
import Glibc

/// A commit-confirm in flight: what to restore, what was applied, and who restores it when.
public struct PendingConfirm: Codable, Sendable {
    public var table: TableRef
    public var mode: OwnershipMode
    /// cgwfw's objects before the first unconfirmed apply; nil when it owned nothing then.
    public var previous: DesiredState?
    /// What the (last) unconfirmed apply left; the rollback happens only while the kernel still holds it.
    public var applied: DesiredState
    /// Seconds since 1970.
    public var deadline: Double
    public var watchdogPID: Int32

    public init(table: TableRef, mode: OwnershipMode, previous: DesiredState?, applied: DesiredState,
                deadline: Double, watchdogPID: Int32) {
        self.table = table
        self.mode = mode
        self.previous = previous
        self.applied = applied
        self.deadline = deadline
        self.watchdogPID = watchdogPID
    }
}

extension Engine {
    /// The watchdog's decision at the deadline: restore `previous` only while the kernel still holds
    /// exactly what the unconfirmed apply left; otherwise someone changed it since, and it stays.
    public func rollback(_ pending: PendingConfirm) throws(NetlinkError) -> String {
        let live = try read(table: pending.table, mode: pending.mode)
        let changedSince = !Planner.plan(live: live, desired: pending.applied).isEmpty
        if changedSince {
            return "not restoring \(pending.table): cgwfw's rules changed since the unconfirmed apply "
                + "(someone else applied or edited them); leaving the kernel as it is"
        }
        let report = try restore(pending.previous, table: pending.table, mode: pending.mode)
        return "restored the previous rules of \(pending.table) (unconfirmed): \(report.added.count) added, "
            + "\(report.removed.count) removed"
    }
}

/// The files of commit-confirm under `/run/cgwfw` (or `$CGWFW_RUN_DIR`): `pending.json`, `lock`, `watchdog.log`.
public enum CommitConfirmStore {
    public static var directory: String {
        let custom = ProcessInfo.processInfo.environment["CGWFW_RUN_DIR"] ?? ""
        return custom.isEmpty ? "/run/cgwfw" : custom
    }
    public static var pendingPath: String { directory + "/pending.json" }
    public static var logPath: String { directory + "/watchdog.log" }
    /// What the last watchdog did, for `cgwfw confirm` after the deadline.
    public static var lastOutcomePath: String { directory + "/last-rollback" }

    public static func ensureDirectory() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    /// Runs `body` holding the commit-confirm lock, so confirm, apply and the watchdog never interleave.
    public static func locked<T>(_ body: () throws -> T) throws -> T {
        try ensureDirectory()
        let fd = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission) }
        defer { close(fd) }
        flock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    public static func load() -> PendingConfirm? {
        guard let data = FileManager.default.contents(atPath: pendingPath) else { return nil }
        return try? JSONDecoder().decode(PendingConfirm.self, from: data)
    }

    public static func save(_ pending: PendingConfirm) throws {
        let data = try JSONEncoder().encode(pending)
        let temporary = pendingPath + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, pendingPath) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }

    public static func clear() {
        unlink(pendingPath)
    }

    public static func log(_ message: String) {
        let line = "\(Date()) cgwfw[\(getpid())]: \(message)\n"
        if let handle = FileHandle(forWritingAtPath: logPath) {
            handle.seekToEndOfFile()
            handle.write(Data(line.utf8))
            try? handle.close()
        } else {
            _ = FileManager.default.createFile(atPath: logPath, contents: Data(line.utf8))
        }
    }
}
