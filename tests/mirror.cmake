# exai-mirror: the daemon with a real client, its config, and (later slices) the log.
exai_cli_test(mirror_ingest cli/mirror_ingest.sh)
exai_cli_test(mirror_config cli/mirror_config.sh)
exai_cli_test(mirror_update cli/mirror_update.sh)
