import Glibc

/// The environment cannot steer a privileged run. The Swift runtime's crash backtracer reads
/// `SWIFT_BACKTRACE` before `main` (it can name the program to run on a crash: `swift-backtrace=PATH`), and
/// it disables itself only for setuid/setgid programs (AT_SECURE), not for a root run under sudo with
/// `env_keep` or an Ansible `environment:`. So a privileged cgwfw started with that variable re-executes
/// itself once without it, before the runtime could act on it. cgwfw's own paths come from flags and
/// /etc/cgwfw, never from the environment (`--state-dir`, `--profile PATH`).
enum PrivilegedEnvironment {
    static let steering = ["SWIFT_BACKTRACE"]

    static var isPrivileged: Bool { geteuid() == 0 || getuid() != geteuid() || getgid() != getegid() }

    /// Re-executes without the steering variables when privileged and one is set; returns when nothing to do.
    static func scrub() {
        guard isPrivileged, steering.contains(where: { getenv($0) != nil }) else { return }
        for name in steering { unsetenv(name) }
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { return }  // cannot re-execute: the variable is unset for our children at least
        let arguments = CommandLine.arguments
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        execv(path, &argv)
        for pointer in argv { free(pointer) }
    }
}
