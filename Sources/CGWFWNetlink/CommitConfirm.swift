import CGWFWModel
import CGWFWNftables
import Foundation
import Glibc

/// A commit-confirm in flight: what to restore, what was applied, and which watchdog restores it when.
public struct PendingConfirm: Codable, Sendable {
    public var table: TableRef
    public var mode: OwnershipMode
    /// cgwfw's objects before the first unconfirmed apply (the last confirmed state); nil when it owned
    /// nothing then.
    public var previous: DesiredState?
    /// What the (last) unconfirmed apply left; the rollback happens only while the kernel still holds it.
    public var applied: DesiredState
    /// Seconds since 1970.
    public var deadline: Double
    /// Names the watchdog's lock (`watchdog-<token>.lock`), which it holds for its whole life: the
    /// watchdog is identified by that lock, never by a process id.
    public var token: String
    /// The boot the apply happened in (`/proc/sys/kernel/random/boot_id`): a record from another boot was
    /// interrupted by a restart.
    public var bootID: String
    /// For the operator's information only: nothing is ever signalled by this number.
    public var watchdogPID: Int32

    public init(table: TableRef, mode: OwnershipMode, previous: DesiredState?, applied: DesiredState,
                deadline: Double, token: String = CommitConfirmStore.newToken(), bootID: String = CommitConfirmStore.bootID,
                watchdogPID: Int32 = 0) {
        self.table = table
        self.mode = mode
        self.previous = previous
        self.applied = applied
        self.deadline = deadline
        self.token = token
        self.bootID = bootID
        self.watchdogPID = watchdogPID
    }

    public var watchdogLockName: String { "watchdog-\(token).lock" }
}

/// Where a pending commit-confirm stands; `show`, `confirm`, `apply` and `diff` all say it the same way.
public struct ConfirmStatus: Sendable {
    public enum Watchdog: String, Sendable, Codable {
        /// Alive: it holds its lock and will restore at the deadline.
        case running
        /// Its lock is free: it was killed or crashed; nothing will roll back.
        case gone
        /// The machine restarted inside the window (the record is from another boot).
        case rebooted
    }

    public var pending: PendingConfirm
    public var watchdog: Watchdog
    public var secondsLeft: Int

    /// One line for people.
    public var summary: String {
        let when = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: pending.deadline))
        switch watchdog {
        case .running:
            return secondsLeft >= 0
                ? "a commit-confirm of \(pending.table) is pending: the previous rules come back in \(secondsLeft) s "
                    + "(at \(when)) unless `cgwfw confirm` runs"
                : "a commit-confirm of \(pending.table) is past its deadline (\(when)) and its watchdog is still running"
        case .gone:
            return "a commit-confirm of \(pending.table) is pending but its rollback watchdog is gone (killed?): "
                + "nothing will restore the previous rules (deadline \(when)); `cgwfw confirm` keeps the current "
                + "rules, `cgwfw confirm --rollback` restores the previous ones now"
        case .rebooted:
            return "a commit-confirm of \(pending.table) was pending when the machine restarted (deadline \(when)): "
                + "the boot unit restores the rules from before it; `cgwfw confirm --rollback` does it by hand, "
                + "`cgwfw confirm` keeps what the kernel holds now"
        }
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

/// The files of commit-confirm: `pending.json` and `last-rollback` in the persistent directory
/// (/var/lib/cgwfw: they must survive a reboot), `lock`, the watchdogs' locks and `watchdog.log` in the
/// runtime directory (/run/cgwfw).
public enum CommitConfirmStore {
    static let pendingName = "pending.json"
    static let lastOutcomeName = "last-rollback"
    static let logName = "watchdog.log"

    public static var logPath: String { StateDirectory.runtime.path + "/" + logName }

    public static let bootID: String =
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""

    public static func newToken() -> String { String(UInt64.random(in: 0..<UInt64.max), radix: 16) }

    /// Whether a record exists, without creating anything.
    public static var hasPending: Bool { StateDirectory.persistent.exists(pendingName) }

    /// Runs `body` holding the commit-confirm lock, so confirm, apply and the watchdog never interleave.
    public static func locked<T>(_ body: () throws -> T) throws -> T {
        guard let descriptor = try StateDirectory.runtime.lock("lock", LOCK_EX) else {
            throw StateError(description: "cannot take \(StateDirectory.runtime.path)/lock", exitCode: .cantCreate)
        }
        defer { close(descriptor) }
        return try body()
    }

    public static func load() throws(StateError) -> PendingConfirm? {
        guard let bytes = try StateDirectory.persistent.read(pendingName) else { return nil }
        return try? JSONDecoder().decode(PendingConfirm.self, from: Data(bytes))
    }

    public static func save(_ pending: PendingConfirm) throws {
        try StateDirectory.persistent.write(pendingName, Array(try JSONEncoder().encode(pending)))
    }

    public static func clear() {
        StateDirectory.persistent.remove(pendingName)
    }

    /// Whether the watchdog of `pending` is alive: it holds its lock for its whole life, so a lock that can
    /// be taken belongs to nobody.
    static func watchdog(of pending: PendingConfirm) -> ConfirmStatus.Watchdog {
        if pending.bootID != bootID { return .rebooted }
        guard let descriptor = try? StateDirectory.runtime.lock(pending.watchdogLockName, LOCK_SH | LOCK_NB, create: false) else {
            // Held (EWOULDBLOCK) means running; a missing lock file means it never started or is gone.
            return StateDirectory.runtime.exists(pending.watchdogLockName) ? .running : .gone
        }
        close(descriptor)
        return .gone
    }

    /// The pending commit-confirm and its watchdog's state, or nil when nothing is pending.
    public static func status() throws(StateError) -> ConfirmStatus? {
        guard let pending = try load() else { return nil }
        return ConfirmStatus(pending: pending, watchdog: watchdog(of: pending),
                             secondsLeft: Int((pending.deadline - Date().timeIntervalSince1970).rounded(.down)))
    }

    public static func lastOutcome() -> String? {
        (try? StateDirectory.persistent.read(lastOutcomeName)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
    }

    public static func recordOutcome(_ outcome: String) {
        try? StateDirectory.persistent.write(lastOutcomeName, Array("\(Date()) \(outcome)".utf8))
        log(outcome)
    }

    public static func log(_ message: String) {
        try? StateDirectory.runtime.append(logName, "\(Date()) cgwfw[\(getpid())]: \(message)\n")
    }
}
