"""A JSON parser on orjson: fast, and bounded in nesting (a deep body is a 400, not a 500);
YAML in and out for configuration as code (safe loader and dumper only)."""

from collections.abc import Mapping
from typing import Any

import orjson
import yaml
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer


class OrjsonParser(BaseParser):
    media_type = "application/json"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Parse a JSON body; orjson refuses nesting past 1024 levels instead of recursing."""
        try:
            return orjson.loads(stream.read())
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"Malformed JSON: {exc}") from exc


class YamlParser(BaseParser):
    """YAML bodies (configuration as code), read with the safe loader only."""

    media_type = "application/yaml"

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Parse a YAML body; anything but plain data (tags, bad syntax) is a 400."""
        try:
            return yaml.safe_load(stream.read())
        except (yaml.YAMLError, RecursionError) as exc:
            raise ParseError(f"Malformed YAML: {exc}") from exc


class YamlRenderer(BaseRenderer):
    """Plain data as YAML (chosen with `?format=yaml` or `Accept: application/yaml`)."""

    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type=None, renderer_context=None) -> bytes:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode()
