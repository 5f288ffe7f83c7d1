"""Benchmarks of the UET tools against the obvious alternatives, run by ``nox -s bench``.

Each ``bench_<name>.py`` module has ``main(quick: bool) -> int`` and compares against its
alternative in the same run; ``corpus`` generates the input files they share.
"""
