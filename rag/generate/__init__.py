"""Local answer generation: the ``Generator`` protocol, one module per runtime and the registry that picks one.

``load_generator(settings)`` prepares the model named by ``generate.model`` (once) and loads it on
``generate.runtime``: ``transformers`` (always installed) or ``llama-cpp`` (the [llama] extra); "auto"
takes the fastest installed runtime that can run the model. ``models`` holds the registered models
and their preparation; runtimes are imported only when used.
"""

from rag.generate.base import Capabilities, Generator, Messages
from rag.generate.registry import choose, load_generator

__all__ = ["Capabilities", "Generator", "Messages", "choose", "load_generator"]
