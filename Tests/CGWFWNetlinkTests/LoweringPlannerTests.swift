@testable import CGWFWNetlink
import CGWFWModel
import CGWFWNftables
import XCTest

/// No kernel needed: libnftnl objects round-trip through the typed expressions, and the planner's
/// choice of transaction for each kind of change.
final class LoweringPlannerTests: XCTestCase {
    private func intent(endpoints: [String], strict: Bool = false, selector: TunnelSelector = .ipsecPolicy) -> RuleIntent {
        sampleIntent(endpoints: endpoints, strict: strict, selector: selector)
    }

    /// The kernel's copy of what cgwfw wrote, as Reader would see it (handles 1, 2, ...).
    private func live(_ desired: DesiredState) -> LiveState {
        var handle: UInt64 = 0
        let rules = desired.rules.map { spec -> LiveRule in
            handle += 1
            return LiveRule(spec: spec, handle: handle, counter: Counter(packets: 0, bytes: 0))
        }
        return LiveState(generation: 7, table: desired.table, tableExists: true, tableComment: desired.tableComment,
                         chains: desired.chains,
                         sets: desired.sets.map { LiveSet(spec: $0, elementCounters: [:]) }, rules: rules, jumps: [],
                         attachedBaseChains: [], foreignBaseChains: [], mode: desired.mode)
    }

    func testEveryLoweredExpressionRoundTripsThroughLibnftnl() {
        for selector in [TunnelSelector.ipsecPolicy, .interfaces(["vti0"])] {
            let desired = Lowering.desiredState(intent: intent(endpoints: ["192.0.2.10"], strict: true, selector: selector),
                                                target: ApplyTarget())
            XCTAssertFalse(desired.rules.isEmpty)
            for rule in desired.rules {
                for expr in rule.exprs {
                    let object = expr.makeNftnl()
                    XCTAssertEqual(Expr.decode(object).0, expr)
                    nftnlFree(object)
                }
            }
        }
    }

    func testSameStatePlansNothing() {
        let desired = Lowering.desiredState(intent: intent(endpoints: ["192.0.2.10", "192.0.2.20"]), target: ApplyTarget())
        XCTAssertTrue(Planner.plan(live: live(desired), desired: desired).isEmpty)
    }

    func testPeerChangePlansOnlyElements() {
        let old = Lowering.desiredState(intent: intent(endpoints: ["192.0.2.10", "192.0.2.20"]), target: ApplyTarget())
        let new = Lowering.desiredState(intent: intent(endpoints: ["192.0.2.10", "192.0.2.30"]), target: ApplyTarget())
        let plan = Planner.plan(live: live(old), desired: new)
        XCTAssertFalse(plan.structural)
        XCTAssertEqual(plan.operations.count, 2)
        for operation in plan.operations {
            switch operation {
            case let .deleteElements(_, elements): XCTAssertEqual(elements.map(\.comment), ["vpn-test tunnel 2"])
            case let .addElements(_, elements): XCTAssertEqual(elements.count, 1)
            default: XCTFail("unexpected \(operation)")
            }
        }
        XCTAssertEqual(plan.added, ["element pairs_ipv4 198.51.100.7 . 192.0.2.30 (vpn-test tunnel 2)"])
    }

    func testNewSetRecreatesAndChangedRuleIsReplacedInPlace() {
        let plain = Lowering.desiredState(intent: intent(endpoints: ["192.0.2.10"]), target: ApplyTarget())
        let strict = Lowering.desiredState(intent: intent(endpoints: ["192.0.2.10"], strict: true), target: ApplyTarget())
        let rebuild = Planner.plan(live: live(plain), desired: strict)
        guard case .deleteTable? = rebuild.operations.first else { return XCTFail("a new set must recreate the table") }

        // Same shape, one rule's meaning changed: delete it, insert the new one before its successor.
        var edited = plain
        edited.rules[0].exprs.removeLast()
        edited.rules[0].exprs.append(.verdict(.drop))
        let plan = Planner.plan(live: live(edited), desired: plain)
        XCTAssertEqual(plan.operations.count, 2)
        guard case .deleteRule(_, 1, _) = plan.operations[0],
              case let .addRule(rule, .before(handle))? = plan.operations.last else { return XCTFail("\(plan.operations)") }
        XCTAssertEqual(rule, plain.rules[0])
        XCTAssertEqual(handle, 2)
    }
}
