// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cgwfw",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cgwfw", targets: ["cgwfw"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Typed values shared by every stage: addresses, connections, diagnostics, rule intent.
        .target(name: "CGWFWModel"),
        // Input formats -> connection model.
        .target(name: "CGWFWInput", dependencies: ["CGWFWModel"]),
        // Connection model + profile -> rule intent -> text backends.
        .target(name: "CGWFWCompiler", dependencies: ["CGWFWModel", "CGWFWNftables", .product(name: "Yams", package: "Yams")]),
        // Rule intent -> the typed nftables model (tables, chains, sets, rules as expressions) and its text.
        // The one place that decides what any rule means in nftables; no C.
        .target(name: "CGWFWNftables", dependencies: ["CGWFWModel"]),
        // libnftnl + libmnl; the only C in the project.
        .systemLibrary(name: "CNftnl", pkgConfig: "libnftnl", providers: [.apt(["libnftnl-dev", "libmnl-dev"])]),
        .target(name: "CGWFWNetlink", dependencies: ["CGWFWModel", "CGWFWNftables", "CGWFWCompiler", "CNftnl"]),
        .executableTarget(name: "cgwfw", dependencies: [
            "CGWFWModel", "CGWFWInput", "CGWFWCompiler", "CGWFWNftables", "CGWFWNetlink",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // What the test targets share (the shell runner); not part of the product.
        .target(name: "CGWFWTestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CGWFWInputTests", dependencies: ["CGWFWInput", "CGWFWModel"], exclude: ["Fixtures"]),
        .testTarget(name: "CGWFWCompilerTests", dependencies: ["CGWFWCompiler", "CGWFWNftables", "CGWFWInput", "CGWFWModel",
                                                     "CGWFWTestSupport"],
                    exclude: ["Fixtures", "Golden", "Regressions"]),
        .testTarget(name: "CGWFWNetlinkTests", dependencies: ["CGWFWNetlink", "CGWFWNftables", "CGWFWCompiler", "CGWFWInput", "CGWFWModel",
                                                                  "CGWFWTestSupport"],
                    exclude: ["Golden"]),
        .testTarget(name: "CLITests", dependencies: ["CGWFWModel", "CGWFWTestSupport"]),
    ]
)
