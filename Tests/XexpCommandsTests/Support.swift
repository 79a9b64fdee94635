@_exported import XexpTestSupport
