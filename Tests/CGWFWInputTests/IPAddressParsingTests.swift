import CGWFWModel
import XCTest

/// The outside-address validation rests on IPAddress's text parser; these are the inputs configs contain.
final class IPAddressParsingTests: XCTestCase {
    func testIPv4AcceptsDottedQuadsOnly() {
        XCTAssertEqual(IPAddress("198.51.100.7"), .v4(0xC633_6407))
        XCTAssertEqual(IPAddress("0.0.0.0"), .v4(0))
        XCTAssertEqual(IPAddress("255.255.255.255"), .v4(0xFFFF_FFFF))
        for bad in ["", "1.2.3", "1.2.3.4.", ".1.2.3", "1..2.3", "999.12.1.300", "256.1.1.1", "01.2.3.4", "1.2.3.04",
                    "1.2.3.4 ", "1.2.3.a", "1234.1.1.1", "YOUR_UPLINK_ADDRESS", "١.٢.٣.٤", "1.2.3.4/30"] {
            XCTAssertNil(IPAddress(bad), bad)
        }
    }

    func testIPv6Forms() {
        XCTAssertEqual(IPAddress("2001:db8::7")?.description, "2001:db8::7")
        XCTAssertEqual(IPAddress("::ffff:192.0.2.1"), IPAddress("0:0:0:0:0:ffff:c000:0201"))
        XCTAssertNil(IPAddress("2001:db8::7::1"))
        XCTAssertNil(IPAddress("fe80::1%eth0"))
    }
}
