// swift-tools-version:6.0
// libFuzzer targets for every input format, format auto-detection and the profile loader. A package of its
// own so that the main `swift build` / `swift test` never build them; the library sources are the main
// package's own (symlinks in Sources/). Build and run with `make fuzz` (see docs/testing.md, "Fuzzing").
import PackageDescription

/// One fuzz target per input format, plus auto-detection (`detect`) and the profile loader (`profile`).
let fuzzTargets = ["generic", "xml", "describe-json", "ipsec-conf", "vyos", "cisco-ios", "cisco-asa", "junos",
                   "panos", "fortigate", "pfsense", "detect", "profile"]

let package = Package(
    name: "cgwfw-fuzz",
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .target(name: "CGWFWModel"),
        .target(name: "CGWFWInput", dependencies: ["CGWFWModel"]),
        .target(name: "CGWFWNftables", dependencies: ["CGWFWModel"]),
        .target(name: "CGWFWCompiler", dependencies: ["CGWFWModel", "CGWFWNftables", .product(name: "Yams", package: "Yams")]),
        .target(name: "FuzzHarness", dependencies: ["CGWFWModel", "CGWFWInput", "CGWFWCompiler"]),
    ] + fuzzTargets.map { name in
        .executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzHarness"], path: "Targets/\(name)")
    }
)
