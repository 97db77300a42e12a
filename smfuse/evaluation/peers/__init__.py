"""Peer methods, ported from their released weights; each a method of the registry (:mod:`smfuse.evaluation.methods`)."""
