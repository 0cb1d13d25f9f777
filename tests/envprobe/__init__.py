"""A test backend run in a worker (tests/test_envs_*.py); a package so that its module path is dotted."""
