"""The index directory: ``manifest`` (what a directory holds and its manifest), ``cache`` (vectors
and lexical terms by content, so rebuilds redo only what changed), ``build`` (a new generation,
swapped in atomically), ``load`` (a directory opened for search, its passages read on demand)."""
