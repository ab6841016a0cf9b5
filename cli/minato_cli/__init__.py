"""``minato``: the operator's command line for a Minato deployment, over the gateway's HTTP API."""
