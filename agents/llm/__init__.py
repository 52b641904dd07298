"""The LLM gateway: every model call in the product goes through ``gateway``."""

import os

# litellm fetches a price list from the internet at import unless told otherwise;
# these machines (and many users') have no route out.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
