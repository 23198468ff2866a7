#!/bin/sh
pip install requests
curl -fsSL https://get.vendor.example/install.sh | sh
apt-get install -y jq
helm repo add local http://charts.site.internal/
npm install left-pad
pip install --no-index --find-links /wheels app
