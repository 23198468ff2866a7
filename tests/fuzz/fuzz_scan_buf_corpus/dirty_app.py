import sentry_sdk
SEGMENT = "https://api.segment.io/v1/track"
from ddtrace import tracer
import posthog
import mixpanel
GA = "gtag('config', 'G-TEST')"
DISCOVERY = "discovery.talos.dev"
check_for_updates()
model = AutoModel.from_pretrained("org/model", trust_remote_code=True)
from vllm import LLM
API = "https://api.openai.com/v1"
PEER = "93.184.216.34"
LOCAL = "http://10.0.0.5:8080/ok"
DOC = "https://example.com/docs"
