import CGWFWModel
import CGWFWNftables
import CGWFWTestSupport
import Foundation
import XCTest
@testable import CGWFWNetlink

/// The generation guard against the real kernel: another writer commits between cgwfw's read and its
/// commit (injected through the kernel seam, not through anything the release binary reads), in a
/// throwaway network namespace that the engine's thread enters with setns(2).
final class KernelRaceTests: XCTestCase {
    /// The real kernel, with another writer's command run just before each commit.
    private final class RacingKernel: Kernel {
        let real: NetlinkKernel
        let writer: () -> Void
        init(_ real: NetlinkKernel, writer: @escaping () -> Void) {
            self.real = real
            self.writer = writer
        }
        func read(table: TableRef, mode: OwnershipMode, hooks: Set<Hook>, ownedContents: Bool) throws(NetlinkError) -> LiveState {
            try real.read(table: table, mode: mode, hooks: hooks, ownedContents: ownedContents)
        }
        func commit(_ plan: Plan, desired: DesiredState, generation: UInt32) throws(NetlinkError) {
            writer()
            try real.commit(plan, desired: desired, generation: generation)
        }
        func networkNamespaceCookie() -> UInt64? { real.networkNamespaceCookie() }
    }

    private final class Outcome: @unchecked Sendable {
        var error: Error?
    }

    private var namespace = ""

    override func setUpWithError() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root for network namespaces and nftables (geteuid() != 0)") }
        namespace = "cgwfwr\(UInt32.random(in: 0..<UInt32.max))"
        guard shell("ip netns add \(namespace)").status == 0 else { throw XCTSkip("cannot create a network namespace") }
    }

    override func tearDown() {
        if !namespace.isEmpty { shell("ip netns del \(namespace)") }
    }

    /// Runs `body` on a thread inside the test's namespace (network namespaces are per thread).
    private func inNamespace(_ body: @escaping @Sendable () throws -> Void) throws {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let path = "/run/netns/\(namespace)"
        let thread = Thread {
            defer { done.signal() }
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, Self.setns(fd, Self.cloneNewNet) == 0 else {
                outcome.error = NSError(domain: "setns", code: Int(errno))
                return
            }
            close(fd)
            do { try body() } catch { outcome.error = error }
        }
        thread.start()
        done.wait()
        if let error = outcome.error { throw error }
    }

    func testAWriterGettingInOnceIsRetriedAndNothingMixes() throws {
        let ns = namespace
        let intent = sampleIntent(endpoints: ["192.0.2.10", "192.0.2.20"])
        try inNamespace {
            var once = true
            let kernel = RacingKernel(try NetlinkKernel()) {
                if once { once = false; _ = Self.run("ip netns exec \(ns) nft add table inet other") }
            }
            let outcome = try Engine(kernel: kernel).apply(intent: intent, target: ApplyTarget(), dryRun: false)
            XCTAssertTrue(outcome.report.changed)
        }
        let listed = shell("ip netns exec \(ns) nft list tables").output
        XCTAssertTrue(listed.contains("table inet other") && listed.contains("table inet cgwfw"), listed)
        XCTAssertEqual(shell("ip netns exec \(ns) nft list table inet cgwfw | grep -c 'accept comment'").output.trimmingCharacters(in: .whitespacesAndNewlines), "2")
    }

    func testAWriterAlwaysGettingInEndsInRaceLostWithNothingOfCgwfwsBatchInTheKernel() throws {
        let ns = namespace
        let intent = sampleIntent(endpoints: ["192.0.2.10"])
        try inNamespace {
            var count = 0
            let kernel = RacingKernel(try NetlinkKernel()) {
                count += 1
                _ = Self.run("ip netns exec \(ns) nft add table inet x\(count)")
            }
            XCTAssertThrowsError(try Engine(kernel: kernel).apply(intent: intent, target: ApplyTarget(), dryRun: false)) { error in
                guard case .raceLost? = error as? NetlinkError else { return XCTFail("\(error)") }
            }
            XCTAssertEqual(count, Engine.attempts)
        }
        XCTAssertFalse(shell("ip netns exec \(ns) nft list tables").output.contains("cgwfw"), "a refused batch left part of itself behind")
    }

    /// setns(2) is not in Glibc's Swift module (it needs _GNU_SOURCE): looked up in libc.
    private static let cloneNewNet: Int32 = 0x4000_0000
    private static func setns(_ fd: Int32, _ type: Int32) -> Int32 {
        typealias SetNS = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "setns") else { return -1 }  // nil: RTLD_DEFAULT on glibc
        return unsafeBitCast(symbol, to: SetNS.self)(fd, type)
    }

    private static func run(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        do { try process.run() } catch { return 127 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
