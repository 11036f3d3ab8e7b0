"""``newswire``: the command line for publishing articles, searching the archive and running the stack."""
