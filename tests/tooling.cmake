# The build and benchmark tooling: whether a benchmark target is met (scripts/bench_table.py).
exai_cli_test(bench_table cli/bench_table.sh)
# The front end: a missing dependency names its fix.
exai_cli_test(make_hint cli/make_hint.sh)
# make install: the installed layout and each installed tool.
exai_cli_test(install cli/install.sh)
exai_cli_test(completion cli/completion.sh)
# The CLI contract, the same cases for every tool.
exai_cli_test(cli_conformance cli/cli_conformance.sh)
