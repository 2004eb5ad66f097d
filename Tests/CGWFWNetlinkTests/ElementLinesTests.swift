@testable import CGWFWNetlink
import CGWFWModel
import CGWFWNftables
import XCTest

/// The element lines written straight from an intent are the lines of what `Lowering` builds, and the
/// line comparison finds the changes `Planner.difference` finds.
final class ElementLinesTests: XCTestCase {
    private func intent(_ remotes: [String], comments: Bool = true, connection: String = "vpn-test") -> RuleIntent {
        let local = IPAddress("198.51.100.7")!
        let pairs = remotes.enumerated().map { index, remote in
            PeerSet.Element(local: local, remote: IPAddress(remote)!, origins: [Origin(connection: connection, tunnel: index + 1)])
        }.sorted()
        let locals = [
            PeerSet.Element(local: IPAddress("2001:db8::7")!, origins: [Origin(connection: connection, tunnel: 1),
                                                                         Origin(connection: "vpn-other", tunnel: 2)]),
            PeerSet.Element(local: IPAddress("2001:db8::8")!, origins: []),
        ]
        return RuleIntent(table: "cgwfw", placement: .host, counters: true, strict: true, comments: comments,
                          sets: [PeerSet(name: "pairs_ipv4", family: .ipv4, kind: .pairs, elements: pairs),
                                 PeerSet(name: "locals_ipv6", family: .ipv6, kind: .locals, elements: locals)],
                          chains: [])
    }

    private func lowered(_ intent: RuleIntent) -> [SetSpec] {
        Lowering.desiredState(intent: intent, target: ApplyTarget()).sets
    }

    func testIntentLinesAreTheLinesOfTheLoweredSets() {
        let odd = "vpn \"quoted\" \\ tab\there " + String(repeating: "ü", count: 80)
        for candidate in [intent(["192.0.2.10", "192.0.2.20", "203.0.113.5"]),
                          intent(["192.0.2.10"], comments: false),
                          intent(["192.0.2.10", "192.0.2.20"], connection: odd),
                          intent([])] {
            let sets = lowered(candidate)
            XCTAssertEqual(sets.reduce(0) { $0 + $1.elements.count }, candidate.sets.reduce(0) { $0 + $1.elements.count })
            XCTAssertEqual(String(decoding: ElementLines.encode(candidate), as: UTF8.self),
                           String(decoding: ElementLines.encode(sets), as: UTF8.self))
        }
    }

    private func changes(_ old: [UInt8], _ new: [UInt8], sets: [SetSpec]) -> [ElementLines.SetChange]? {
        old.withUnsafeBufferPointer { o in new.withUnsafeBufferPointer { n in ElementLines.changes(from: o, to: n, sets: sets) } }
    }

    func testLineChangesAreThePlannersDifference() throws {
        let cases: [([String], [String])] = [
            (["192.0.2.10", "192.0.2.20"], ["192.0.2.10", "192.0.2.30"]),
            (["192.0.2.10", "192.0.2.20"], ["192.0.2.10", "192.0.2.20"]),
            ([], ["192.0.2.1", "203.0.113.9"]),
            (["192.0.2.1", "203.0.113.9"], []),
            (["192.0.2.5", "192.0.2.6", "192.0.2.7"], ["192.0.2.1", "192.0.2.6", "203.0.113.1", "203.0.113.2"]),
        ]
        for (before, after) in cases {
            let old = lowered(intent(before)), new = lowered(intent(after))
            let found = try XCTUnwrap(changes(ElementLines.encode(old), ElementLines.encode(new), sets: new))
            XCTAssertEqual(found.count, new.count)
            for (index, change) in found.enumerated() {
                let expected = Planner.difference(from: old[index].elements, to: new[index].elements)
                XCTAssertEqual(change.gone, expected.gone, "\(before) → \(after)")
                XCTAssertEqual(change.added, expected.added, "\(before) → \(after)")
            }
        }
        // Tunnel numbers follow the position, so a new first peer renames every comment: delete and re-add.
        let renamed = try XCTUnwrap(changes(ElementLines.encode(lowered(intent(["192.0.2.10"]))),
                                            ElementLines.encode(lowered(intent(["192.0.2.10"], connection: "vpn-new"))),
                                            sets: lowered(intent([]))))
        XCTAssertEqual(renamed[0].gone.map(\.comment), ["vpn-test tunnel 1"])
        XCTAssertEqual(renamed[0].added.map(\.comment), ["vpn-new tunnel 1"])
    }

    func testUnsortedOrMalformedLinesAreLeftToTheGeneralPath() {
        var sets = lowered(intent(["192.0.2.10", "192.0.2.20"]))
        let sorted = ElementLines.encode(sets)
        sets[0].elements.reverse()
        XCTAssertNil(changes(sorted, ElementLines.encode(sets), sets: sets))
        let withoutLastLine = Array(sorted[...sorted.dropLast().lastIndex(of: 10)!])
        XCTAssertNil(changes(withoutLastLine, sorted, sets: sets))
        XCTAssertNil(changes(sorted + Array("1\n".utf8), sorted, sets: sets))
    }
}
