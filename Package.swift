// swift-tools-version: 6.0
//
// The house, top to bottom (data flows one way: spec → trials → job graph → scheduler → store → tables):
//
//   xexp                  thin executable: hands argv to XexpCommands
//   XexpCommands          one file per subcommand; turns domain errors into exit codes
//   XexpOrchestration     spec, job graph, scheduler, store, job caches, reports; knows jobs, never tensors
//   XexpPipeline          the built-in VLM pipeline: its parameters, presets and worker stages (train, evaluate)
//   XexpModels            the mini Xmodel-VLM: ViT, projectors, LLaMA-style decoders, generation
//   XexpData              synthetic scenes, tokenizer, training data, the six benchmark proxies and scorers
//   XexpLearning          tensors, autodiff, optimiser, checkpoints on OpenBLAS; knows nothing of SQLite or scheduling
//   xexp-bench            benchmarks of the learning engine (not tests)
//   CSpawn                fork/exec of job processes with a parent-death watchdog (must be C: code after fork),
//                         and the stdio check behind "cannot write the output"
//   COpenBLAS             system library: cblas.h from Debian's libopenblas-dev
//
// XexpLearning and XexpModels are compiled for Haswell on x86-64 (below), so they are not meant as dependencies
// of other packages.
import PackageDescription

// The engine's own loops (softmax, exp, norms, activations) run on 8-wide AVX2 vectors instead of pairs of SSE ones:
// 5–9 % off a stage-2 step at 1, 144 and 576 tokens, 1 % at 288 (one thread, `Benchmarks/stage_profile.md`). It
// changes no result: Swift never fuses a multiply and an add unless asked, and a smoke sweep's weights, features and
// predictions are byte-identical with and without it. It asks of the CPU what OpenBLAS's Haswell kernels
// (OPENBLAS_CORETYPE=Haswell, set by scripts/) already do; `xexp` checks at start and says so on an older CPU. `XEXP_PORTABLE=1 swift build …` builds for any x86-64 CPU.
// (`#if arch` is the machine that builds: cross-compiling to another architecture needs XEXP_PORTABLE=1.)
#if arch(x86_64)
let haswellEngine = Context.environment["XEXP_PORTABLE"] != "1"
#else
let haswellEngine = false
#endif
let engineSettings: [SwiftSetting] = haswellEngine ? [.unsafeFlags(["-target-cpu", "haswell"])] : []

let package = Package(
    name: "xexp",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "xexp", targets: ["xexp"]),
        .library(name: "XexpOrchestration", targets: ["XexpOrchestration"]),
        .library(name: "XexpLearning", targets: ["XexpLearning"]),
        .executable(name: "xexp-bench", targets: ["xexp-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        .executableTarget(
            name: "xexp",
            dependencies: ["XexpCommands"]
        ),
        .target(
            name: "XexpCommands",
            dependencies: [
                "CSpawn",
                "XexpOrchestration",
                "XexpModels",
                "XexpPipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: haswellEngine ? [.define("XEXP_HASWELL_ENGINE")] : []
        ),
        .target(
            name: "XexpOrchestration",
            dependencies: [
                "CSpawn",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(name: "CSpawn"),
        .target(
            name: "XexpPipeline",
            dependencies: ["XexpOrchestration", "XexpModels", "XexpData", "XexpLearning"]
        ),
        .testTarget(
            name: "XexpPipelineTests",
            dependencies: ["XexpPipeline", "XexpOrchestration", "XexpData"]
        ),
        .target(name: "XexpData"),
        .testTarget(name: "XexpDataTests", dependencies: ["XexpData"]),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "XexpLearning",
            dependencies: ["COpenBLAS"],
            swiftSettings: engineSettings
        ),
        .target(
            name: "XexpModels",
            dependencies: ["XexpLearning"],
            exclude: ["README.md"],
            swiftSettings: engineSettings
        ),
        .executableTarget(
            name: "xexp-bench",
            dependencies: ["XexpLearning", "XexpModels", "XexpData", "XexpPipeline"]
        ),
        .testTarget(
            name: "XexpOrchestrationTests",
            dependencies: ["XexpOrchestration", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Shared by the test targets that run the built binary (a sandbox directory, process helpers).
        .target(name: "XexpTestSupport", path: "Tests/XexpTestSupport"),
        .testTarget(
            name: "XexpCommandsTests",
            dependencies: ["XexpCommands", "XexpOrchestration", "XexpTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            // Read from the repository by path (golden results), not bundled.
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "XexpSlurmTests",
            dependencies: ["XexpOrchestration", "XexpTestSupport"]
        ),
        .testTarget(
            name: "XexpLearningTests",
            dependencies: ["XexpLearning"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "XexpModelsTests",
            dependencies: ["XexpModels"],
            exclude: ["make_fixtures.py"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
