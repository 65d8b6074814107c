"""The edges of the tool: the `rag` command, the terminal chat and the console they print to."""
