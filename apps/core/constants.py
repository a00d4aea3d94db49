HEARTBEAT_KEY = "aivmon:worker:heartbeat"
