import CGWFWModel
import CGWFWNftables

/// What apply, diff and remove report; `--json` prints exactly this shape (the Ansible module reads it).
public struct ApplyReport: Codable, Sendable {
    public struct Diff: Codable, Sendable {
        public var before: String
        public var after: String
    }
    public var changed: Bool
    public var table: String
    public var added: [String]
    public var removed: [String]
    public var diff: Diff
    public var warnings: [String]
    /// True when only set elements changed (rules and their counters stayed).
    public var elementsOnly: Bool
    /// The generation the kernel had when cgwfw read it (before its own commit).
    public var generation: UInt32
}


/// What the kernel holds of cgwfw's objects after an apply: the lowered state, or (after the element fast
/// path) the intent it came from, lowered only when somebody asks (commit-confirm), not on every apply.
public enum AppliedState: Sendable {
    case state(DesiredState)
    case intent(RuleIntent, ApplyTarget)

    public var desiredState: DesiredState {
        switch self {
        case let .state(state): return state
        case let .intent(intent, target): return Lowering.desiredState(intent: intent, target: target)
        }
    }
}

/// The result of one apply (or dry run), as a value.
public struct ApplyOutcome: Sendable {
    public var report: ApplyReport
    /// What the kernel holds now (nil for a dry run).
    public var applied: AppliedState?
    /// The ruleset generation after the apply.
    public var generation: UInt32
    /// For the next run's fast path (full applies only; the element path writes its snapshot file itself).
    public var snapshot: OwnedSnapshot?

    public init(report: ApplyReport, applied: AppliedState?, generation: UInt32, snapshot: OwnedSnapshot? = nil) {
        self.report = report
        self.applied = applied
        self.generation = generation
        self.snapshot = snapshot
    }
}
