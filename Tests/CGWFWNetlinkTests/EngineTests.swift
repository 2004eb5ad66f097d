import CGWFWModel
import CGWFWNftables
import XCTest
@testable import CGWFWNetlink

/// The engine's decisions against the recording fake kernel, without root: what it commits, the one
/// generation-retry budget, the snapshot fast path, and commit-confirm's restore.
final class EngineTests: XCTestCase {
    private let table = TableRef(family: .inet, name: "cgwfw")
    private let two = sampleIntent(endpoints: ["192.0.2.10", "192.0.2.20"])
    private let moved = sampleIntent(endpoints: ["192.0.2.10", "192.0.2.30"])

    private func engine(_ kernel: FakeKernel, renderText: Bool = true) -> Engine {
        Engine(kernel: kernel, renderText: renderText)
    }

    func testApplyWritesTheLoweredStateOnceAndAgainChangesNothing() throws {
        let kernel = FakeKernel()
        let first = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        XCTAssertTrue(first.report.changed)
        XCTAssertEqual(kernel.commits.count, 1)
        XCTAssertEqual(kernel.state(of: table), Lowering.desiredState(intent: two, target: ApplyTarget()))
        let again = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        XCTAssertFalse(again.report.changed)
        XCTAssertEqual(kernel.commits.count, 1, "an unchanged apply commits nothing")
    }

    func testAPeerChangeCommitsOnlyElements() throws {
        let kernel = FakeKernel()
        _ = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        let outcome = try engine(kernel).apply(intent: moved, target: ApplyTarget(), dryRun: false)
        XCTAssertTrue(outcome.report.elementsOnly)
        XCTAssertEqual(kernel.commits.last?.map(operationName), ["deleteElements", "addElements"])
        XCTAssertEqual(kernel.state(of: table), Lowering.desiredState(intent: moved, target: ApplyTarget()))
    }

    func testDryRunWritesNothing() throws {
        let kernel = FakeKernel()
        let outcome = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: true)
        XCTAssertTrue(outcome.report.changed)
        XCTAssertNil(outcome.applied)
        XCTAssertTrue(kernel.commits.isEmpty)
        XCTAssertNil(kernel.state(of: table))
    }

    func testAWriterGettingInOnceIsRetriedFromAFreshRead() throws {
        let kernel = FakeKernel()
        var raced = false
        kernel.beforeCommit = { fake in
            if !raced { raced = true; fake.externalChange() }
        }
        let outcome = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        XCTAssertTrue(outcome.report.changed)
        XCTAssertEqual(kernel.refusedCommits, 1)
        XCTAssertEqual(kernel.commits.count, 1)
        XCTAssertEqual(kernel.reads.count, 2, "the second attempt reads the kernel again")
        XCTAssertEqual(kernel.state(of: table), Lowering.desiredState(intent: two, target: ApplyTarget()))
    }

    func testAWriterAlwaysGettingInSpendsTheOneBudgetAndLeavesNothing() throws {
        let kernel = FakeKernel()
        kernel.beforeCommit = { $0.externalChange() }
        XCTAssertThrowsError(try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)) { error in
            guard case .raceLost(let attempts)? = error as? NetlinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(attempts, Engine.attempts)
        }
        XCTAssertEqual(kernel.refusedCommits, Engine.attempts)
        XCTAssertTrue(kernel.commits.isEmpty)
        XCTAssertNil(kernel.state(of: table))
    }

    func testARaceDuringTheDumpsCountsAgainstTheSameBudget() throws {
        let kernel = FakeKernel()
        var dumps = 0
        kernel.duringRead = { fake in
            dumps += 1
            if dumps <= 2 { fake.externalChange() }
        }
        _ = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        XCTAssertEqual(kernel.reads.count, 3)
        XCTAssertEqual(kernel.commits.count, 1)

        let busy = FakeKernel()
        busy.duringRead = { $0.externalChange() }
        XCTAssertThrowsError(try engine(busy).remove(table: table, mode: .standalone, dryRun: false))
        XCTAssertEqual(busy.reads.count, Engine.attempts, "remove, restore and read share apply's budget")
    }

    func testTheSnapshotSkipsTheDumpsOnlyWhileNothingChangedSince() throws {
        let kernel = FakeKernel()
        let first = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        let snapshot = try XCTUnwrap(first.snapshot)
        XCTAssertEqual(snapshot.generation, kernel.generation)

        _ = try engine(kernel).apply(intent: moved, target: ApplyTarget(), dryRun: false, snapshot: snapshot)
        XCTAssertEqual(kernel.reads.last?.ownedContents, false, "same generation: elements and rules taken from the snapshot")
        XCTAssertEqual(kernel.state(of: table), Lowering.desiredState(intent: moved, target: ApplyTarget()))

        // Someone else committed since: the snapshot is not trusted.
        kernel.externalChange()
        _ = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false, snapshot: snapshot)
        XCTAssertEqual(kernel.reads.last?.ownedContents, true)

        // Another network namespace's snapshot is not trusted either.
        let other = FakeKernel()
        other.cookie = 7
        _ = try engine(other).apply(intent: two, target: ApplyTarget(), dryRun: false, snapshot: snapshot)
        XCTAssertEqual(other.reads.map(\.ownedContents), [true])
    }

    func testTheElementFastPathFallsBackWhenTheGenerationMoved() throws {
        let kernel = FakeKernel()
        let first = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        var known = try XCTUnwrap(first.snapshot)
        for index in known.state.sets.indices { known.state.sets[index].elements = [] }
        let fast = engine(kernel, renderText: false)
        let changes = [ElementLines.SetChange(gone: [], added: [])]
        XCTAssertNotNil(try fast.applyElementChanges(intent: two, target: ApplyTarget(), known: known, changes: changes, dryRun: false))
        kernel.externalChange()
        XCTAssertNil(try fast.applyElementChanges(intent: two, target: ApplyTarget(), known: known, changes: changes, dryRun: false),
                     "the kernel moved since the snapshot: nothing written, the caller takes the general path")
        XCTAssertEqual(kernel.commits.count, 1)
    }

    func testRollbackRestoresThePreviousStateWhileTheKernelHoldsWhatTheUnconfirmedApplyLeft() throws {
        let kernel = FakeKernel()
        _ = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        let previous = Engine.restorable(try engine(kernel).read(table: table, mode: .standalone))
        let unconfirmed = try engine(kernel).apply(intent: moved, target: ApplyTarget(), dryRun: false)
        let pending = PendingConfirm(table: table, mode: .standalone, previous: previous,
                                     applied: try XCTUnwrap(unconfirmed.applied).desiredState, deadline: 0, watchdogPID: 0)
        let message = try engine(kernel).rollback(pending)
        XCTAssertTrue(message.hasPrefix("restored"), message)
        XCTAssertEqual(kernel.state(of: table), Lowering.desiredState(intent: two, target: ApplyTarget()))
    }

    func testRollbackLeavesAChangeMadeSinceTheUnconfirmedApply() throws {
        let kernel = FakeKernel()
        let unconfirmed = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        let pending = PendingConfirm(table: table, mode: .standalone, previous: nil,
                                     applied: try XCTUnwrap(unconfirmed.applied).desiredState, deadline: 0, watchdogPID: 0)
        _ = try engine(kernel).apply(intent: moved, target: ApplyTarget(), dryRun: false)   // someone applied since
        let commits = kernel.commits.count
        let message = try engine(kernel).rollback(pending)
        XCTAssertTrue(message.hasPrefix("not restoring"), message)
        XCTAssertEqual(kernel.commits.count, commits)
        XCTAssertEqual(kernel.state(of: table), Lowering.desiredState(intent: moved, target: ApplyTarget()))
    }

    func testRollbackToNothingRemovesTheTable() throws {
        let kernel = FakeKernel()
        let unconfirmed = try engine(kernel).apply(intent: two, target: ApplyTarget(), dryRun: false)
        let pending = PendingConfirm(table: table, mode: .standalone, previous: nil,
                                     applied: try XCTUnwrap(unconfirmed.applied).desiredState, deadline: 0, watchdogPID: 0)
        _ = try engine(kernel).rollback(pending)
        XCTAssertNil(kernel.state(of: table))
    }

    private func operationName(_ operation: PlanStep) -> String {
        String(describing: operation).prefix { $0 != "(" }.description
    }
}

/// Ownership: nothing of cgwfw's names that cgwfw did not create is changed or deleted without --adopt.
final class OwnershipTests: XCTestCase {
    private let table = TableRef(family: .inet, name: "cgwfw")

    private func foreignTable() -> FakeKernel {
        let kernel = FakeKernel()
        kernel.externalChange { tables in
            var admin = FakeKernel.Table()
            admin.chains = [ChainSpec(name: "input", base: .init(type: "filter", hook: .input, priority: 0, policyAccept: false))]
            tables[TableRef(family: .inet, name: "cgwfw")] = admin
        }
        return kernel
    }

    func testAnUnmarkedTableIsRefusedByApplyAndRemoveAndLeftAsItIs() {
        let kernel = foreignTable()
        let before = kernel.state(of: table)
        XCTAssertThrowsError(try Engine(kernel: kernel).apply(intent: sampleIntent(endpoints: ["192.0.2.10"]),
                                                               target: ApplyTarget(), dryRun: false)) { error in
            guard case let .foreign(_, objects)? = error as? NetlinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(objects, ["table inet cgwfw", "chain input (hook input, policy drop, 0 rules)"])
            XCTAssertEqual((error as? NetlinkError)?.exitCode, .dataError)
        }
        XCTAssertThrowsError(try Engine(kernel: kernel).remove(table: table, mode: .standalone, dryRun: false))
        XCTAssertTrue(kernel.commits.isEmpty)
        XCTAssertEqual(kernel.state(of: table), before)
    }

    func testAdoptReplacesItAndMarksIt() throws {
        let kernel = foreignTable()
        let intent = sampleIntent(endpoints: ["192.0.2.10"])
        let outcome = try Engine(kernel: kernel).apply(intent: intent, target: ApplyTarget(adopt: true), dryRun: false)
        XCTAssertTrue(outcome.report.removed.contains("table inet cgwfw"))
        XCTAssertEqual(kernel.state(of: table)?.tableComment, Ownership.marker)
        XCTAssertEqual(kernel.state(of: table), Lowering.desiredState(intent: intent, target: ApplyTarget()))
    }

    func testAttachModeRefusesUnmarkedChainsOfItsPrefix() {
        let kernel = FakeKernel()
        let filter = TableRef(family: .inet, name: "filter")
        kernel.externalChange { tables in
            var admin = FakeKernel.Table()
            admin.chains = [ChainSpec(name: "input", base: .init(type: "filter", hook: .input, priority: 0, policyAccept: false)),
                            ChainSpec(name: "cgwfw-input")]
            tables[filter] = admin
        }
        XCTAssertThrowsError(try Engine(kernel: kernel).apply(intent: sampleIntent(endpoints: ["192.0.2.10"]),
                                                               target: ApplyTarget(attach: filter), dryRun: false)) { error in
            guard case let .foreign(_, objects)? = error as? NetlinkError else { return XCTFail("\(error)") }
            XCTAssertEqual(objects, ["chain cgwfw-input"])
        }
        let adopted = try? Engine(kernel: kernel).apply(intent: sampleIntent(endpoints: ["192.0.2.10"]),
                                                         target: ApplyTarget(attach: filter, adopt: true), dryRun: true)
        XCTAssertEqual(adopted?.report.removed.filter { $0.hasPrefix("chain cgwfw-input") }, ["chain cgwfw-input (0 rules; not cgwfw's)"],
                       "\(adopted?.report.removed ?? [])")
        XCTAssertEqual(adopted?.report.warnings.filter { $0.contains("--adopt") },
                       ["--adopt replaces what cgwfw did not create: chain cgwfw-input"])
        XCTAssertFalse(adopted?.report.removed.contains { $0.contains("chain input") } ?? true, "the operator's own chain is not cgwfw's to list")
    }
}
