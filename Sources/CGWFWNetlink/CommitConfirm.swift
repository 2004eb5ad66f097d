import CGWFWModel

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
