"""`Compact`: a model serialized without the fields left at their default.

For the payloads of every AI turn (its activity's input and result), which the workflow history stores once per
turn: a null, an empty list or a `false` said again on every turn is history that Temporal keeps, replays and
bills as storage. Loading fills the defaults back in, so the model reads the same either way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SerializerFunctionWrapHandler, model_serializer


class Compact(BaseModel):
    @model_serializer(mode="wrap")
    def _without_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        fields = type(self).model_fields
        for name, field in fields.items():
            if name not in data or field.is_required():
                continue
            default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]
            if getattr(self, name) == default:
                del data[name]
        return data
