from apps.accounts import selectors


def role(request) -> dict:
    """Expose the signed-in user's role to templates as `aivmon_role`."""
    return {"aivmon_role": selectors.user_role(getattr(request, "user", None))}
