import CGWFWModel
import CGWFWNftables
import XCTest

/// Interface names and wildcards: what is refused, how a list is lowered, and that the elements of nft's
/// interval set read back into the same patterns.
final class InterfaceMatchTests: XCTestCase {
    func testNamesNftWouldRefuseAreRefusedWithTheReason() {
        XCTAssertNil(InterfacePattern.problem("vti0"))
        XCTAssertNil(InterfacePattern.problem("vti*"))
        XCTAssertNil(InterfacePattern.problem("eth0.100"))
        XCTAssertNotNil(InterfacePattern.problem(""))
        XCTAssertNotNil(InterfacePattern.problem("*"))
        XCTAssertNotNil(InterfacePattern.problem("v*i"))
        XCTAssertNotNil(InterfacePattern.problem("vti**"))
        XCTAssertNotNil(InterfacePattern.problem("a234567890123456"))
        XCTAssertNotNil(InterfacePattern.problem("vti 0"))
        XCTAssertNotNil(InterfacePattern.problem("vti\"0"))
        XCTAssertNotNil(InterfacePattern.problem("vti/0"))
        XCTAssertEqual(try InterfacePattern("vti*"), .prefix("vti"))
        XCTAssertEqual(try InterfacePattern("vti0"), .exact("vti0"))
    }

    func testAListDropsDuplicatesAndNamesAWildcardCoversAndIsInKeyOrder() {
        XCTAssertEqual(Lowering.interfacePatterns(["vti*", "vti0", "ipsec0", "vti1*", "ipsec0", "vti"]),
                       [.exact("ipsec0"), .prefix("vti")])
        XCTAssertEqual(Lowering.interfacePatterns(["xfrm1", "eth0"]), [.exact("eth0"), .exact("xfrm1")])
    }

    func testIntervalElementsAreWhatNftWritesAndReadBack() {
        let patterns: [InterfacePattern] = [.exact("ipsec0"), .prefix("vti")]
        let elements = InterfaceSetElements.encode(patterns)
        // As `nft --debug=netlink` prints them for `oifname { "vti*", "ipsec0" }`.
        XCTAssertEqual(elements.map { hex($0.key) + ($0.intervalEnd ? " end" : "") }, [
            "00000000000000000000000000000000 end",
            "69707365633000000000000000000000", "69707365633000000000000000000001 end",
            "76746900000000000000000000000000", "76746a00000000000000000000000000 end",
        ])
        XCTAssertEqual(InterfaceSetElements.decode(elements), patterns)
        XCTAssertEqual(InterfaceSetElements.decode(elements.reversed()), patterns, "the kernel's dump order does not matter")
        let exactOnly: [InterfacePattern] = [.exact("vti0"), .exact("vti1")]
        XCTAssertEqual(InterfaceSetElements.decode(InterfaceSetElements.encode(exactOnly)), exactOnly)
    }

    func testElementsCgwfwDoesNotWriteAreNotMistakenForPatterns() {
        let start = InterfaceSetElements.Element(key: Lowering.interfaceKey(.exact("vti")), intervalEnd: false)
        var odd = Lowering.interfaceKey(.exact("vtz"))
        odd[15] = 7
        XCTAssertNil(InterfaceSetElements.decode([start, InterfaceSetElements.Element(key: odd, intervalEnd: true)]))
        XCTAssertNil(InterfaceSetElements.decode([start, InterfaceSetElements.Element(key: [1, 2], intervalEnd: true)]))
        XCTAssertNil(InterfaceSetElements.decode([InterfaceSetElements.Element(key: odd, intervalEnd: true)]))
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}
