import Foundation
import Testing
@testable import XexpLearning

/// The row-streamed safetensors file behind the shared encoder features: a plain safetensors file (the whole-file
/// reader agrees), rows read back exactly, and a short or damaged file is an error, never silent zeros.
@Suite("SafeTensors rows")
struct SafeTensorsRowsTests {
    func scratch() -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xexp-rows-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent("features.safetensors").path
    }

    func values(_ rows: Int) -> Tensor {
        let v: [Float] = (0..<(rows * 6)).map { (i: Int) -> Float in Float(i) * 0.5 - 7 }
        return Tensor(shape: [rows, 3, 2], values: v)
    }

    @Test func rowsWrittenInBatchesReadBackInAnyOrder() throws {
        let path = scratch(), all = values(5)
        let writer = try SafeTensors.RowWriter(path: path, tensor: "features", shape: [5, 3, 2], metadata: ["layer": "2"])
        try writer.append(Tensor(shape: [2, 3, 2], values: Array(UnsafeBufferPointer(start: all.data, count: 12))))
        #expect(!FileManager.default.fileExists(atPath: path), "a file appears only when complete")
        try writer.append(Tensor(shape: [3, 3, 2], values: Array(UnsafeBufferPointer(start: all.data + 12, count: 18))))
        try writer.finish()
        // Any safetensors reader sees one tensor with every value.
        let whole = try SafeTensors.read(path: path)
        #expect(try whole.tensor("features").values == all.values)
        #expect(whole.metadata["layer"] == "2")
        let reader = try SafeTensors.RowReader(path: path, tensor: "features")
        #expect(reader.shape == [5, 3, 2])
        let picked = try reader.read(rows: [4, 0, 4])
        #expect(picked.shape == [3, 3, 2])
        var expected: [Float] = []
        for r in [4, 0, 4] { for k in 0..<6 { expected.append(Float(r * 6 + k) * 0.5 - 7) } }
        #expect(picked.values == expected)
        #expect(throws: SafeTensorsError.self) { try reader.read(rows: [5]) }
    }

    @Test func missingRowsAreAnErrorAndLeaveNoFile() throws {
        let path = scratch()
        do {
            let writer = try SafeTensors.RowWriter(path: path, tensor: "features", shape: [4, 3, 2])
            try writer.append(values(3))
            #expect(throws: SafeTensorsError.self) { try writer.finish() }
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        // The unfinished writer is gone: so is its partial file (a features file can be ~1 GB).
        #expect(try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent).isEmpty)
    }

    @Test func aTruncatedFileIsRefusedWhenOpened() throws {
        let path = scratch()
        let writer = try SafeTensors.RowWriter(path: path, tensor: "features", shape: [5, 3, 2])
        try writer.append(values(5))
        try writer.finish()
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 4).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try SafeTensors.RowReader(path: path, tensor: "features")
        } throws: { error in
            "\(error)".contains("truncated")
        }
        #expect(throws: SafeTensorsError.self) { _ = try SafeTensors.RowReader(path: path, tensor: "other") }
    }
}
