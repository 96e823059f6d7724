"""The conversation layer: answers questions and runs multi-turn dialogs."""
