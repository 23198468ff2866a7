# airgap-verifier:allow net.url.public mirrored on site
u = 'https://x.zz/'  # airgap-verifier:allow net.* docs only */
v = 1 /* airgap-verifier:allow telemetry.* */
<!-- airgap-verifier:allow k8s.image.* reviewed -->
