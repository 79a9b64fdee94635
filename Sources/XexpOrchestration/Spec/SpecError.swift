/// A problem in a spec file, reported as `FILE: /json/pointer: what is wrong and how to fix it`.
public struct SpecError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    /// RFC 6901 pointer to the offending value ("" for the whole document), or "line L, column C" for syntax errors.
    public var location: String
    public var message: String

    public init(file: String, location: String, message: String) {
        self.file = file
        self.location = location
        self.message = message
    }

    public var description: String {
        // A command-line override (`--set x`) is not a file: it has no place inside it to point at.
        location.isEmpty ? (file.hasPrefix("--") ? "\(file): \(message)" : "\(file): /: \(message)") : "\(file): \(location): \(message)"
    }
}

/// Builds RFC 6901 JSON pointers ("/grid/tokens/3").
public struct JSONPointer: Sendable, CustomStringConvertible {
    public var tokens: [String] = []
    public init(_ tokens: [String] = []) { self.tokens = tokens }
    public func appending(_ token: String) -> JSONPointer { JSONPointer(tokens + [token]) }
    public func appending(_ index: Int) -> JSONPointer { JSONPointer(tokens + [String(index)]) }
    public var description: String {
        tokens.isEmpty ? "/" : tokens.map { "/" + $0.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1") }.joined()
    }
}

/// Names longer than this get no "did you mean": an edit distance costs the product of the two lengths, and a name
/// this long is no typo of a short one.
let suggestionLengthLimit = 64

/// "did you mean 'grid'?" — the closest candidate within a small edit distance, if any.
public func suggestion(for word: String, among candidates: [String]) -> String? {
    guard word.utf8.count <= 4 * suggestionLengthLimit, word.count <= suggestionLengthLimit else { return nil }
    let word = word.lowercased(), length = word.count
    var best: (String, Int)?
    for candidate in candidates where candidate.utf8.count <= 4 * suggestionLengthLimit {
        let bound = max(2, candidate.count / 3), lowered = candidate.lowercased()
        // The distance is at least the difference in length: skip candidates that cannot be close enough.
        guard candidate.count <= suggestionLengthLimit, abs(lowered.count - length) <= bound else { continue }
        let d = editDistance(word, lowered)
        if d <= bound, best == nil || d < best!.1 { best = (candidate, d) }
    }
    return best?.0
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var row = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        row[0] = i
        for j in 1...b.count {
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &row)
    }
    return previous[b.count]
}

import Foundation
