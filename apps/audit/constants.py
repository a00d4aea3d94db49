GENESIS_HASH = "0" * 64
CHAIN_HEAD_ID = 1


class ActorKind:
    USER = "user"
    API_KEY = "api_key"
    SYSTEM = "system"
    ANONYMOUS = "anonymous"
