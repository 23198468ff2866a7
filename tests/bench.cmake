# The benchmark tooling that decides whether a target is met (bench/, scripts/bench*.py).
exai_cli_test(bench_table cli/bench_table.sh)
