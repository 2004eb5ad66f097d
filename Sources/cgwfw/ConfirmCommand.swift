import ArgumentParser
import CGWFWModel
import CGWFWNetlink
import CGWFWNftables
import Foundation
import Glibc

struct ConfirmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "confirm",
        abstract: "Keep the rules of a pending `apply --confirm` (cancel the automatic rollback), or roll back now.",
        discussion: """
        After `cgwfw apply --confirm SECONDS`, a detached watchdog restores the previous rules at the deadline unless this command runs first. Run it over a fresh connection: that proves the new rules let you in. With nothing pending it says so (and what the last watchdog did) and exits 0. The watchdog never restores over a change made in the meantime (it compares cgwfw's rules in the kernel with what the unconfirmed apply left, and logs to /run/cgwfw/watchdog.log what it did). It is identified by a lock it holds for its whole life, never by a process id: nothing is ever signalled. A watchdog that died, or a restart inside the window, is reported here and by show, apply and diff; after a restart the boot unit restores the rules from before the unconfirmed apply.

        Examples:
          cgwfw apply --confirm 120 vpn.txt
          cgwfw confirm
          cgwfw confirm --rollback
        """
    )

    @Flag(help: "Restore the rules from before the pending apply now, instead of keeping the new ones.")
    var rollback = false

    @Flag(help: .hidden)
    var watchdog = false

    @Option(help: .hidden)
    var token: String?

    @OptionGroup var state: StateOptions

    func run() throws {
        if watchdog {
            runWatchdog()
            return
        }
        // Like every command that changes the kernel's rules: without CAP_NET_ADMIN, 77 before touching anything.
        guard hasEffectiveCapability(netAdminCapability) else {
            printError("cgwfw: \(NetlinkError.permission("confirming a pending rollback"))")
            throw SysExit.noPermission.exit
        }
        // Nothing pending: say so without creating the state directories.
        guard CommitConfirmStore.hasPending else {
            print(nothingPending())
            return
        }
        let message: String = try stateErrorsExit {
            try CommitConfirmStore.locked {
                guard let status = try CommitConfirmStore.status() else { return nothingPending() }
                let pending = status.pending
                if rollback {
                    let report = try withEngine { engine throws(NetlinkError) in
                        try engine.restore(pending.previous, table: pending.table, mode: pending.mode)
                    }
                    let outcome = "rolled back \(pending.table) by hand (cgwfw confirm --rollback): "
                        + "\(report.added.count) added, \(report.removed.count) removed"
                    CommitConfirmStore.recordOutcome(outcome)
                    CommitConfirmStore.clear()
                    return "cgwfw: \(outcome)"
                }
                CommitConfirmStore.clear()
                CommitConfirmStore.log("confirmed by cgwfw confirm")
                switch status.watchdog {
                case .running:
                    return "cgwfw: confirmed: keeping the current rules of \(pending.table); rollback cancelled"
                case .gone:
                    return "cgwfw: confirmed: keeping the current rules of \(pending.table) (its rollback watchdog was "
                        + "no longer running: nothing would have restored the previous rules)"
                case .rebooted:
                    return "cgwfw: confirmed: keeping what the kernel holds now for \(pending.table) (the commit-confirm "
                        + "was interrupted by a restart)"
                }
            }
        }
        print(message)
    }

    private func nothingPending() -> String {
        let last = CommitConfirmStore.lastOutcome() ?? ""
        return "cgwfw: nothing pending to confirm" + (last.isEmpty ? "" : " (last watchdog: \(last))")
    }

    /// The detached rollback: sleeps to the deadline (leaving early once confirmed or replaced), then
    /// restores. Descriptor 3 is its lock (`watchdog-<token>.lock`), held until it exits.
    private func runWatchdog() {
        signal(SIGHUP, SIG_IGN)
        // No other inherited descriptor may stay open: a caller waiting for EOF on a pipe (Ansible's
        // run_command, Foundation's Process) would otherwise wait for the watchdog's whole lifetime.
        // (posix_spawn_file_actions_addclosefrom_np is not visible to Swift.)
        let limit = min(Int32(sysconf(Int32(_SC_OPEN_MAX))), 65_536)
        for fd in 4..<max(limit, 4) { close(fd) }
        guard let token else { return }
        defer { StateDirectory.runtime.remove("watchdog-\(token).lock") }
        while true {
            guard let pending = (try? CommitConfirmStore.load()) ?? nil, pending.token == token else {
                CommitConfirmStore.log("confirmed or replaced; no rollback")
                return
            }
            if Date().timeIntervalSince1970 >= pending.deadline { break }
            usleep(100_000)
        }
        _ = try? CommitConfirmStore.locked {
            guard let pending = (try? CommitConfirmStore.load()) ?? nil, pending.token == token else { return }
            defer { CommitConfirmStore.clear() }
            let outcome: String
            do {
                outcome = try Engine().rollback(pending)
            } catch {
                outcome = "rollback of \(pending.table) failed: \(error)"
            }
            CommitConfirmStore.recordOutcome(outcome)
        }
    }
}

/// `--state-dir DIR`: cgwfw's state in DIR/run and DIR/lib instead of /run/cgwfw and /var/lib/cgwfw.
/// A flag, never the environment: nothing in a privileged run's environment moves its state.
struct StateOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Keep cgwfw's state in DIR/run and DIR/lib instead of /run/cgwfw and /var/lib/cgwfw "
                               + "(tests, unusual layouts). DIR must be a directory only its owner can use.",
                               valueName: "dir"))
    var stateDir: String?

    mutating func validate() throws {
        if let stateDir { StateDirectory.root = stateDir }
    }

    /// The arguments that give a child process the same state directories.
    static var arguments: [String] { StateDirectory.root.map { ["--state-dir", $0] } ?? [] }
}

/// Runs `body`; an unsafe or unusable state directory is a message and its sysexits code (77 or 73).
func stateErrorsExit<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as StateError {
        printError("cgwfw: \(error)")
        throw error.exitCode.exit
    }
}

enum CommitConfirmError: Error, CustomStringConvertible {
    case pending(table: TableRef, secondsLeft: Int)
    case unattended(String)
    case state(String)

    var description: String {
        switch self {
        case let .pending(table, seconds):
            return "a commit-confirm of \(table) is pending (rollback in \(seconds) s): run `cgwfw confirm` to keep "
                + "those rules, wait for the rollback, or pass --force"
        case let .unattended(summary):
            return summary + "; apply refuses until one of those runs (or pass --force to apply over it)"
        case let .state(text):
            return text
        }
    }

    var exitCode: SysExit {
        switch self {
        case .pending, .unattended: return .tempFail
        case .state: return .cantCreate
        }
    }
}

/// apply with the commit-confirm rules: refuse while pending (unless --force), keep the previous state,
/// start the detached watchdog; at boot, a confirm the restart interrupted brings back the rules from
/// before it instead of the unconfirmed configs.
enum CommitConfirmRunner {
    static func apply(intent: RuleIntent, target: ApplyTarget, confirmSeconds: Int?, force: Bool, boot: Bool,
                      renderText: Bool) throws -> ApplyReport {
        if confirmSeconds == nil && !CommitConfirmStore.hasPending {
            return try withEngine(renderText: renderText) { engine throws(NetlinkError) in
                try applyWithSnapshot(engine, intent: intent, target: target, dryRun: false).report
            }
        }
        return try stateErrorsExit {
            try CommitConfirmStore.locked {
                let status = try CommitConfirmStore.status()
                if let status {
                    switch status.watchdog {
                    case .rebooted where boot:
                        return try restoreAtBoot(status.pending, renderText: renderText)
                    case .running where !force:
                        throw CommitConfirmError.pending(table: status.pending.table, secondsLeft: max(0, status.secondsLeft))
                    case .gone where !force, .rebooted where !force:
                        throw CommitConfirmError.unattended(status.summary)
                    default:
                        // --force: the old watchdog sees the record replaced and exits by itself.
                        CommitConfirmStore.clear()
                        CommitConfirmStore.log("replaced by apply --force")
                    }
                }
                let pending = status?.pending
                let table = target.table(for: intent)
                let mode = target.mode(for: intent)
                return try withEngine(renderText: renderText) { engine throws(NetlinkError) -> ApplyReport in
                    var previous = pending?.previous
                    if confirmSeconds != nil && pending == nil {
                        previous = Engine.restorable(try engine.read(table: table, mode: mode))
                        if let previous, !previous.isRewritable {
                            throw NetlinkError.refused(object: "a restorable copy of \(table)", errno: EOPNOTSUPP,
                                                       detail: "its rules were edited by hand beyond what cgwfw writes; "
                                                           + "apply without --confirm first")
                        }
                    }
                    let outcome = try applyWithSnapshot(engine, intent: intent, target: target, dryRun: false)
                    let report = outcome.report
                    if let seconds = confirmSeconds, report.changed || pending != nil, let applied = outcome.applied?.desiredState {
                        startWatchdog(PendingConfirm(table: table, mode: mode, previous: previous, applied: applied,
                                                     deadline: Date().timeIntervalSince1970 + Double(seconds)))
                    }
                    return report
                }
            }
        }
    }

    /// The machine restarted inside a confirm window: the kernel gets the last confirmed rules back (the
    /// configs given are the unconfirmed ones), and the report says so.
    private static func restoreAtBoot(_ pending: PendingConfirm, renderText: Bool) throws -> ApplyReport {
        var report = try withEngine(renderText: renderText) { engine throws(NetlinkError) in
            try engine.restore(pending.previous, table: pending.table, mode: pending.mode)
        }
        let outcome = "the machine restarted inside the commit-confirm window of \(pending.table): restored the rules "
            + "from before the unconfirmed apply instead of applying the configs given"
        CommitConfirmStore.recordOutcome(outcome)
        CommitConfirmStore.clear()
        report.warnings.append(outcome + "; run `cgwfw apply` (with --confirm) again to apply them")
        return report
    }

    /// Re-executes cgwfw as `confirm --watchdog` in a new session (no terminal, survives SSH logout),
    /// handing it its lock as descriptor 3: the lock is held from before the record names it.
    private static func startWatchdog(_ pending: PendingConfirm) {
        var pending = pending
        let lock: Int32
        do {
            guard let descriptor = try StateDirectory.runtime.lock(pending.watchdogLockName, LOCK_EX | LOCK_NB) else { return }
            lock = descriptor
            try CommitConfirmStore.save(pending)
        } catch {
            printError("cgwfw: warning: cannot record the pending rollback: \(error); the change stays applied without a rollback")
            return
        }
        defer { close(lock) }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // POSIX_SPAWN_SETSID (glibc, _GNU_SOURCE only, so not imported): the child starts a new session.
        posix_spawnattr_setflags(&attributes, 0x80)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, lock, 3)
        let arguments = [executable, "confirm", "--watchdog", "--token", pending.token] + StateOptions.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, &argv, environ)
        guard status == 0 else {
            CommitConfirmStore.clear()
            printError("cgwfw: warning: cannot start the rollback watchdog: \(String(cString: strerror(status))); "
                       + "the change stays applied without a rollback")
            return
        }
        pending.watchdogPID = pid
        try? CommitConfirmStore.save(pending)
    }
}

/// CAP_NET_ADMIN's bit in the capability sets (linux/capability.h).
let netAdminCapability = 12

/// Whether this process holds `capability` in its effective set (the CapEff line of /proc/self/status).
func hasEffectiveCapability(_ capability: Int) -> Bool {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
          let bits = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) else {
        return geteuid() == 0
    }
    return bits & (1 << UInt64(capability)) != 0
}
