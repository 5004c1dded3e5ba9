"""A small NLI cross-encoder trained here, so precision agreement is measured on real label margins."""
