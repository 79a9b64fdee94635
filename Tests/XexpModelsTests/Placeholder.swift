import Testing
@testable import XexpModels
