"""Faults: real `serve` processes killed, stopped and cut off from their providers; afterwards
nothing lost, nothing doubled."""
