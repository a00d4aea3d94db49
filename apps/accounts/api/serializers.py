from rest_framework import serializers

from apps.accounts.constants import SCOPES
from apps.accounts.models import ApiKey


class ApiKeySerializer(serializers.ModelSerializer):
    owner = serializers.CharField(
        source="owner.username", default=None, read_only=True, allow_null=True
    )
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "owner",
            "scopes",
            "created_at",
            "expires_at",
            "revoked_at",
            "last_used_at",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=SCOPES), min_length=1)
    expires_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True
    )


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The full key, shown this once.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class WhoAmISerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["user", "api_key"])
    username = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    key_name = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
