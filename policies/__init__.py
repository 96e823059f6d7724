"""PolicyPush policy library: documents, FAQ and the retrieval engine that answers questions."""
