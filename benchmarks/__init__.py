"""Benchmarks of dokploy_pulumi (run `python benchmarks/run.py`; results go to benchmarks/results/)."""
