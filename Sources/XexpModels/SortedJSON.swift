import Foundation

extension Encodable {
    /// Compact JSON with sorted keys: the same value always gives the same bytes (plain `JSONEncoder` orders keys
    /// arbitrarily per process), so checkpoints' metadata and reports are byte-reproducible.
    public func sortedJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
