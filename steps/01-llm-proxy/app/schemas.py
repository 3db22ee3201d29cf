"""The proxy's own API: what clients send and receive. The Gemini shape stays inside app/llm.py."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=32_000)


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored

    model: str
    messages: list[Message] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def has_a_user_message(self) -> "ChatRequest":
        # The upstream answers the user: it refuses a conversation without a user turn, with a 400 we
        # would pass on as a 502. It is the client's mistake, so it is the client's 422, here.
        if not any(message.role == "user" for message in self.messages):
            raise ValueError("messages must include at least one user message")
        return self


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatResponse(BaseModel):
    model: str
    text: str
    usage: Usage
