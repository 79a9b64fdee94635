import Foundation

/// One large float32 tensor in a safetensors file, written and read a few rows at a time.
///
/// A sweep's frozen-encoder features are ~150 KB per image (576 × 64 floats): 6000 instruction images make an
/// 885 MB file. Holding it in memory (or mapping it: touched pages count as the reader's RSS) would break the
/// per-job memory budget, so the writer streams rows to disk and the reader `pread`s only the rows a batch needs.
/// The file is a plain safetensors file with one tensor, readable by any safetensors reader.
extension SafeTensors {
    /// Streams `shape[0]` rows of one F32 tensor into `path`: the header first (the shape is known up front),
    /// then rows in order. `finish()` checks every row arrived and renames the file into place, so a crash
    /// never leaves a file that looks complete.
    public final class RowWriter {
        public let path: String
        public let shape: [Int]
        let rowFloats: Int
        let temporary: String
        let handle: FileHandle
        public private(set) var rowsWritten = 0
        private var finished = false

        public init(path: String, tensor name: String, shape: [Int], metadata: [String: String] = [:]) throws {
            precondition(!shape.isEmpty, "a row file needs a leading row dimension")
            self.path = path
            self.shape = shape
            rowFloats = shape.dropFirst().reduce(1, *)
            temporary = path + ".partial"
            let prefix = try SafeTensors.header([(name, .f32, shape)], metadata: metadata)
            guard FileManager.default.createFile(atPath: temporary, contents: prefix), let handle = FileHandle(forWritingAtPath: temporary) else {
                throw SafeTensorsError(path: path, reason: "cannot create \(temporary)")
            }
            self.handle = handle
            try handle.seekToEnd()
        }

        /// Appends `rows` rows (a tensor `[rows, shape[1...]]`, row-major).
        public func append(_ t: Tensor) throws {
            precondition(t.count % rowFloats == 0 && rowsWritten + t.count / rowFloats <= shape[0],
                         "RowWriter: \(t.shape) does not fit the remaining rows of \(shape)")
            try handle.write(contentsOf: Data(bytesNoCopy: t.data, count: t.count * 4, deallocator: .none))
            rowsWritten += t.count / rowFloats
        }

        /// Flushes, closes and renames into place (one `rename(2)`: an earlier file is replaced atomically); throws if
        /// rows are missing.
        public func finish() throws {
            guard rowsWritten == shape[0] else { throw SafeTensorsError(path: path, reason: "only \(rowsWritten) of \(shape[0]) rows were written") }
            try handle.synchronize()
            try handle.close()
            finished = true
            guard rename(temporary, path) == 0 else {
                throw SafeTensorsError(path: path, reason: "cannot rename \(temporary) into place: \(String(cString: strerror(errno)))")
            }
        }

        /// A writer dropped unfinished (an error on the way) removes its partial file: it can be ~1 GB.
        deinit {
            if !finished {
                try? handle.close()
                unlink(temporary)
            }
        }
    }

    /// Reads rows of one F32 tensor from a safetensors file without loading the rest.
    public final class RowReader {
        public let path: String
        public let shape: [Int]
        let rowFloats: Int
        let dataStart: Int
        let descriptor: Int32

        public init(path: String, tensor name: String) throws {
            func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }
            self.path = path
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw fail("cannot open: \(String(cString: strerror(errno)))") }
            do {
                (shape, dataStart) = try Self.header(fd, tensor: name, fail: fail)
            } catch {
                close(fd)
                throw error
            }
            descriptor = fd
            rowFloats = shape.dropFirst().reduce(1, *)
        }

        /// The tensor's shape and the file offset of its first byte, checked against the file's size.
        private static func header(_ fd: Int32, tensor name: String, fail: (String) -> SafeTensorsError) throws -> ([Int], Int) {
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw fail("cannot stat") }
            let fileSize = Int(info.st_size)
            var lengthBytes = [UInt8](repeating: 0, count: 8)
            guard pread(fd, &lengthBytes, 8, 0) == 8 else { throw fail("truncated: shorter than the 8-byte header length") }
            let headerLen = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            guard headerLen <= UInt64(maxHeaderBytes), 8 + Int(headerLen) <= fileSize else { throw fail("header length \(headerLen) does not fit the file") }
            var header = [UInt8](repeating: 0, count: Int(headerLen))
            guard pread(fd, &header, header.count, 8) == header.count,
                  let object = try? JSONSerialization.jsonObject(with: Data(header)) as? [String: Any] else {
                throw fail("the header is not a JSON object (corrupt file?)")
            }
            func integers(_ value: Any?) -> [Int]? {
                guard let list = value as? [Any] else { return nil }
                let ints = list.compactMap { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
                return ints.count == list.count && ints.allSatisfy({ $0 >= 0 && $0 < 1 << 48 }) ? ints : nil
            }
            guard let entry = object[name] as? [String: Any], entry["dtype"] as? String == DType.f32.rawValue,
                  let shape = integers(entry["shape"]), !shape.isEmpty, let offsets = integers(entry["data_offsets"]), offsets.count == 2 else {
                throw fail("no F32 tensor \"\(name)\" with a shape and data offsets")
            }
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d); return (p, acc.1 || o || p >= 1 << 48)
            }
            guard !overflow, offsets[1] - offsets[0] == elements * 4, 8 + Int(headerLen) + offsets[1] <= fileSize else {
                throw fail("tensor \"\(name)\" \(shape) does not fit its data offsets \(offsets) and the file's \(fileSize) bytes (truncated?)")
            }
            return (shape, 8 + Int(headerLen) + offsets[0])
        }

        deinit { close(descriptor) }

        /// Rows `rows` (in that order) as one tensor `[rows.count, shape[1...]]`.
        public func read(rows: [Int]) throws -> Tensor {
            let out = Tensor(shape: [rows.count] + shape.dropFirst())
            let rowBytes = rowFloats * 4
            for (k, row) in rows.enumerated() {
                guard row >= 0 && row < shape[0] else { throw SafeTensorsError(path: path, reason: "row \(row) is outside 0..<\(shape[0])") }
                var done = 0
                while done < rowBytes {
                    let n = pread(descriptor, UnsafeMutableRawPointer(out.data + k * rowFloats) + done, rowBytes - done, off_t(dataStart + row * rowBytes + done))
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw SafeTensorsError(path: path, reason: "cannot read row \(row): \(n == 0 ? "unexpected end of file" : String(cString: strerror(errno)))") }
                    done += n
                }
            }
            return out
        }
    }
}
