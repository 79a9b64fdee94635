import XexpCommands

XexpCommand.main()
