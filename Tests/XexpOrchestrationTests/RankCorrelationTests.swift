import Foundation
import Testing
@testable import XexpOrchestration

/// Spearman's rho and Kendall's tau-b against scipy 1.17.1. Each expected value is the `.statistic` of the scipy
/// call in the comment above it (`from scipy.stats import spearmanr, kendalltau`).
@Suite("Rank correlation (Spearman, Kendall tau-b)")
struct RankCorrelationTests {
    static func close(_ a: Double?, _ b: Double, tolerance: Double = 1e-12) -> Bool {
        guard let a else { return false }
        return abs(a - b) <= tolerance
    }

    @Test func averageRanksShareTies() {
        #expect(RankCorrelation.averageRanks([10, 30, 20]) == [1, 3, 2])
        #expect(RankCorrelation.averageRanks([5, 1, 5, 5, 2]) == [4, 1, 4, 4, 2])
        #expect(RankCorrelation.averageRanks([2, 2]) == [1.5, 1.5])
        #expect(RankCorrelation.averageRanks([]) == [])
    }

    @Test func withoutTies() {
        let x: [Double] = [1, 2, 3, 4, 5], y: [Double] = [2, 1, 4, 3, 5]
        // spearmanr([1,2,3,4,5], [2,1,4,3,5]) -> 0.7999999999999999
        #expect(Self.close(RankCorrelation.spearman(x, y), 0.7999999999999999))
        // kendalltau([1,2,3,4,5], [2,1,4,3,5]) -> 0.6
        #expect(Self.close(RankCorrelation.kendallTauB(x, y), 0.6))
    }

    @Test func tiesOnBothSides() {
        let x: [Double] = [1, 2, 2, 3, 4, 4, 5], y: [Double] = [1, 3, 2, 2, 5, 4, 4]
        // spearmanr([1,2,2,3,4,4,5], [1,3,2,2,5,4,4]) -> 0.8333333333333335
        #expect(Self.close(RankCorrelation.spearman(x, y), 0.8333333333333335))
        // kendalltau([1,2,2,3,4,4,5], [1,3,2,2,5,4,4]) -> 0.6842105263157894 (tau-b, scipy's default variant)
        #expect(Self.close(RankCorrelation.kendallTauB(x, y), 0.6842105263157894))
    }

    @Test func tiesOnOneSideOnly() {
        let x: [Double] = [1, 1, 2, 3, 3, 3], y: [Double] = [6, 5, 4, 3, 2, 1]
        // spearmanr([1,1,2,3,3,3], [6,5,4,3,2,1]) -> -0.9258200997725515
        #expect(Self.close(RankCorrelation.spearman(x, y), -0.9258200997725515))
        // kendalltau([1,1,2,3,3,3], [6,5,4,3,2,1]) -> -0.8563488385776752 (tau-a would be -0.7333…: ties matter)
        #expect(Self.close(RankCorrelation.kendallTauB(x, y), -0.8563488385776752))
    }

    @Test func reversedOrderIsMinusOne() {
        let x: [Double] = [10, 20, 30, 40], y: [Double] = [0.4, 0.3, 0.2, 0.1]
        // spearmanr([10,20,30,40], [0.4,0.3,0.2,0.1]) -> -1.0; kendalltau(...) -> -1.0
        #expect(Self.close(RankCorrelation.spearman(x, y), -1))
        #expect(Self.close(RankCorrelation.kendallTauB(x, y), -1))
        // spearmanr([1,2], [3,1]) -> -0.9999999999999999; kendalltau([1,2], [3,1]) -> -1.0
        #expect(Self.close(RankCorrelation.spearman([1, 2], [3, 1]), -1))
        #expect(Self.close(RankCorrelation.kendallTauB([1, 2], [3, 1]), -1))
    }

    @Test func paperTable8SQAAgainstTokens() {
        let tokens: [Double] = [576, 288, 144, 72, 64, 36, 18, 8, 4, 2, 1]
        let sqa = [53.6, 42.8, 53.3, 46.4, 43.6, 52.9, 44.7, 40.8, 43.2, 44.0, 44.7]
        // spearmanr([576,288,144,72,64,36,18,8,4,2,1], [53.6,42.8,53.3,46.4,43.6,52.9,44.7,40.8,43.2,44.0,44.7])
        //   -> 0.39180056091725646
        #expect(Self.close(RankCorrelation.spearman(tokens, sqa), 0.39180056091725646))
        // kendalltau(same) -> 0.2935903373670295
        #expect(Self.close(RankCorrelation.kendallTauB(tokens, sqa), 0.2935903373670295))
    }

    @Test func constantSeriesHasNoCorrelation() {
        // spearmanr([1,2,3,4], [5,5,5,5]) -> nan (ConstantInputWarning); kendalltau(...) -> nan
        #expect(RankCorrelation.spearman([1, 2, 3, 4], [5, 5, 5, 5]) == nil)
        #expect(RankCorrelation.kendallTauB([1, 2, 3, 4], [5, 5, 5, 5]) == nil)
        #expect(RankCorrelation.spearman([7, 7, 7], [1, 2, 3]) == nil)
        #expect(RankCorrelation.kendallTauB([7, 7, 7], [1, 2, 3]) == nil)
        // Fewer than two points: nothing to rank.
        #expect(RankCorrelation.spearman([1], [2]) == nil)
        #expect(RankCorrelation.kendallTauB([], []) == nil)
    }
}
