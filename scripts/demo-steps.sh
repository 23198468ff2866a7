# Sourced by scripts/demo.sh: the main job, end to end, in $work. Uses $build and $src.
# Steps for tools not built yet are announced and skipped.
EB="$build/bundler/exai-bundle"
EU="$build/appliance/exai-update"
AV="$build/verifier/airgap-verifier"
cd "$work"
mkdir -p vendor site

step "1. keys: three release keys (each signer holds one), a root key, a site key"
# On a terminal keygen asks for a password twice; a script gives --password-file (alice) or,
# knowingly, --no-password (the others, kept in the clear as minisign -W does).
(umask 077 && printf 'correct horse battery staple\n' >vendor/alice.pw)
"$EB" keygen --type release --out vendor/alice --password-file vendor/alice.pw --kdf interactive |
	head -1
for k in bob carol; do "$EB" keygen --type release --no-password --out vendor/$k | head -1; done
"$EB" keygen --type root --no-password --out vendor/root | head -1
"$EB" keygen --type site --out site/site | head -1

step "2. trust root version 1: release threshold 2 of 3"
"$EB" root init --out vendor/root.txt --root-key vendor/root.pub --root-threshold 1 \
	--release-key vendor/alice.pub --release-key vendor/bob.pub --release-key vendor/carol.pub \
	--release-threshold 2
"$EB" root sign vendor/root.txt --key vendor/root.key
"$EB" root show vendor/root.txt

step "3. a release: a software tree, a 256 MiB model, an egress policy"
mkdir -p vendor/src/app/bin
printf '#!/bin/sh\necho "inference server 1.0 (offline)"\n' >vendor/src/app/bin/serve
chmod 755 vendor/src/app/bin/serve
printf 'HF_HUB_OFFLINE=1\nTRANSFORMERS_OFFLINE=1\nVLLM_NO_USAGE_STATS=1\n' >vendor/src/app/env
head -c 268435456 /dev/urandom >vendor/src/model.safetensors
printf 'default: deny\nallow:\n  - 10.0.0.0/8:443\n' >vendor/src/egress.yaml
cat >vendor/spec.yaml <<SPEC
channel: stable
sequence: 1
expires_in_days: 90
target:
  classes: [gpu-appliance]
components:
  - {type: software, name: inference, version: 1.0.0, source: src/app}
  - {type: model, name: llama, version: "3.1", source: src/model.safetensors}
  - {type: policy, name: egress, version: "1", source: src/egress.yaml}
SPEC
cat vendor/spec.yaml
"$EB" create vendor/spec.yaml --out media.exb --recipient site/site.pub

step "4. two of the three release engineers sign (each on their own machine)"
"$EB" sign media.exb --key vendor/alice.key --password-file vendor/alice.pw
"$EB" sign media.exb --key vendor/carol.key
tar tvf media.exb
"$EB" inspect media.exb

step "5. at the site: exai-bundle verify, offline, with the site key"
"$EB" verify media.exb --root vendor/root.txt --key site/site.key

if [ -x "$AV" ]; then
	step "5b. airgap-verifier bundle: the same offline verification, then a scan of the contents"
	"$AV" bundle media.exb --root vendor/root.txt --key site/site.key
fi

EM="$build/mirror/exai-mirror"
mirror_line=
if [ -x "$EM" ]; then
	step "5d. exai-mirror: the site's audit mirror (a log key; serve on a unix socket, the peer's uid mapped to a tenant)"
	cat >site/mirror.yaml <<CONF
state_dir: $work/site/mirror
log_key: $work/site/mirror.key
origin: site-berlin-1/mirror
socket:
  path: $work/site/mirror.sock
  mode: "0600"
classes:
  audit: {retention_days: 2557}
  telemetry: {retention_days: 30}
  prompt: {retention_days: 0}
tenants:
  - uid: $(id -u)
    tenant: appliance
CONF
	"$EM" keygen --config site/mirror.yaml
	"$EM" serve --config site/mirror.yaml 2>site/mirror.log &
	mirror_pid=$!
	trap 'kill "$mirror_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
	i=0
	while [ ! -S site/mirror.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S site/mirror.sock ] || { cat site/mirror.log >&2; echo "demo: exai-mirror did not start" >&2; exit 1; }
	mirror_line="mirror_socket: $work/site/mirror.sock"
fi

if [ -x "$EU" ]; then
	cp vendor/root.txt site/root.txt
	cat >site/update.yaml <<CONF
state_dir: $work/site/state
trust_root: $work/site/root.txt
site_key: $work/site/site.key
require_encryption: true
identity:
  class: gpu-appliance
  site: site-berlin-1
install:
  software_dir: $work/site/opt/software
  models_dir: $work/site/models
  models_keep: 2
  policy_dir: $work/site/egress
hooks:
  health_check: [$work/site/opt/software/inference/current/bin/serve]
  timeout: 30
$mirror_line
CONF
	step "5c. exai-update init: provisioning, once (image build or first boot): the state db and ratchet record"
	"$EU" --config site/update.yaml init
	step "6. exai-update verify (the appliance's own check; nothing changes)"
	"$EU" --config site/update.yaml verify media.exb
	step "6b. exai-update apply --dry-run: verify, then the plan and the space check; nothing changes"
	"$EU" --config site/update.yaml apply --dry-run media.exb
	step "7. exai-update apply: verify, stage, switch atomically, health check (one line per phase on stderr)"
	"$EU" --config site/update.yaml apply media.exb
	step "8. exai-update status (trust root, ratchets, components) and history, dates in UTC"
	"$EU" --config site/update.yaml status
	"$EU" --config site/update.yaml history
	ls -l site/opt/software/inference site/models/llama
	step "9. a replay of the same media is refused (sequence ratchet); nothing changes"
	if "$EU" --config site/update.yaml apply media.exb; then
		echo "demo: replay was not refused" >&2
		exit 1
	fi
	echo "(refused as expected)"
else
	step "6-9. coming: exai-update verify / apply / status (not built)"
fi

if [ -n "$mirror_line" ] && [ -x "$EU" ]; then
	step "10. exai-mirror: exai-update's audit events, acknowledged only once committed; the log verified; an inclusion proof"
	sleep 1.2 # a checkpoint is signed within a second of new entries
	"$EM" --config site/mirror.yaml query --class audit
	"$EM" --config site/mirror.yaml verify
	"$EM" --config site/mirror.yaml prove --index 0 | head -3
	kill -TERM "$mirror_pid"
	wait "$mirror_pid"
else
	step "10. coming: audit events in exai-mirror (not built)"
fi

if [ -x "$AV" ] && [ -d site/opt/software ]; then
	step "11. airgap-verifier scan of what was installed"
	"$AV" scan site/opt/software site/egress
else
	step "11. coming: airgap-verifier scan of what was installed"
fi
