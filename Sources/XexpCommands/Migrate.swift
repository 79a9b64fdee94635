import ArgumentParser
import Foundation
import XexpOrchestration

/// `xexp migrate`: bring a store's schema up to date, as `xexp sweep` does on its own. The read-only commands never
/// change a store, so a store written by an older xexp is upgraded here (or by the next sweep) before they read it.
struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Upgrade a store's schema in place (xexp sweep does it on its own).")

    @OptionGroup var store: StoreOptions

    func run() throws {
        let before = try? Store.openForReading(at: store.url)
        let opened = try store.openExistingForWriting()
        let applied = try opened.appliedMigrations
        print(before != nil ? "\(opened.url.path): already up to date (\(applied.last ?? "-"))" : "\(opened.url.path): upgraded to \(applied.last ?? "-")")
    }
}
