"""Datasets: versions (register, load, diff, export), contracts, the watched inbox."""
