import Foundation

/// Turning a model's free-text answer into what each benchmark's official scorer compares, following
/// the reference code rule for rule.
public enum AnswerParsing {
    /// POPE (`eval_pope.py`): keep the first sentence (text before the first "."), drop commas, split on
    /// spaces; the answer is "no" if a word is exactly `No`, `no` or `not`, otherwise "yes" — so an empty
    /// or off-topic answer counts as yes, as in the reference.
    public static func popeSaysYes(_ text: String) -> Bool {
        var sentence = text
        if sentence.contains(".") { sentence = sentence.components(separatedBy: ".")[0] }
        sentence = sentence.replacingOccurrences(of: ",", with: "")
        let words = sentence.components(separatedBy: " ")
        return !(words.contains("No") || words.contains("not") || words.contains("no"))
    }

    /// MME (`eval_tool/calculation.py`): lower-cased and trimmed; exactly "yes"/"no", else "yes" or "no"
    /// found in the first four characters (yes first), else "other" (wrong whatever the truth).
    public static func mmeLabel(_ text: String) -> String {
        let t = text.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        if t == "yes" || t == "no" { return t }
        let prefix = String(t.prefix(4))
        if prefix.contains("yes") { return "yes" }
        if prefix.contains("no") { return "no" }
        return "other"
    }

    /// ScienceQA (LLaVA `eval_science_qa.py`): the trimmed answer if it is one of the option letters;
    /// else its first character if followed by ". "; else the letter of a single "The answer is X."; else
    /// nil (the reference's "FAILED", scored wrong).
    public static func optionLetter(_ text: String, optionCount: Int) -> String? {
        let letters = Array(Phrasebook.optionLetters.prefix(optionCount))
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if letters.contains(t) { return t }
        let chars = Array(t)
        if chars.count >= 3, letters.contains(String(chars[0])), String(chars[1...2]) == ". " { return String(chars[0]) }
        let regex = try! NSRegularExpression(pattern: "The answer is ([A-Z]).")
        let matches = regex.matches(in: t, range: NSRange(t.startIndex..., in: t))
        if matches.count == 1, let r = Range(matches[0].range(at: 1), in: t) { return String(t[r]) }
        return nil
    }

    /// MMBench: ``optionLetter(_:optionCount:)``, and failing that the letter of the one option whose
    /// text equals the normalised answer (MMBench's `can_infer_text`; its ChatGPT fallback is not used).
    public static func mmbenchLetter(_ text: String, options: [String]) -> String? {
        if let letter = optionLetter(text, optionCount: options.count) { return letter }
        let answer = normalizeExact(text)
        let hits = options.indices.filter { normalizeExact(options[$0]) == answer }
        return hits.count == 1 ? Phrasebook.optionLetters[hits[0]] : nil
    }

    /// GQA (LLaVA `convert_gqa_for_eval.py`): trailing periods stripped, lower-cased; plus surrounding
    /// whitespace trimmed and inner runs of spaces collapsed.
    public static func normalizeExact(_ text: String) -> String {
        var t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while t.hasSuffix(".") { t.removeLast() }
        return t.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    private static let vqaPunctuation: [Character] = [";", "/", "[", "]", "\"", "{", "}", "(", ")", "=", "+", "\\",
                                                      "_", "-", ">", "<", "@", "`", ",", "?", "!"]
    private static let numberWords = ["none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                                      "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"]
    private static let articles: Set<String> = ["a", "an", "the"]

    /// The VQA normaliser (EvalAI's answer processor, simplified): newlines and tabs to spaces; each
    /// punctuation mark removed when it touches a space, else replaced by a space; periods not followed by
    /// a digit removed; lower-cased; number words to digits; articles dropped.
    public static func normalizeVQA(_ text: String) -> String {
        var t = text.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\t", with: " ")
        t = t.trimmingCharacters(in: .whitespaces)
        for p in vqaPunctuation where t.contains(p) {
            let touchesSpace = t.contains("\(p) ") || t.contains(" \(p)")
            t = t.replacingOccurrences(of: String(p), with: touchesSpace ? "" : " ")
        }
        let chars = Array(t)
        var kept = ""
        for (i, c) in chars.enumerated() {
            if c == ".", !(i + 1 < chars.count && chars[i + 1].isNumber) { continue }
            kept.append(c)
        }
        let words = kept.lowercased().split(whereSeparator: { $0.isWhitespace }).map(String.init)
        return words.compactMap { w in articles.contains(w) ? nil : (numberWords[w] ?? w) }.joined(separator: " ")
    }
}
