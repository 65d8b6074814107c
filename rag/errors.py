"""Errors a user can fix: each carries one message naming the file or input and the fix."""


class RagError(Exception):
    """A problem with the user's input, index, or installed models, reported without a traceback."""
