"""Which turns of a session go to the language model: the configured system prompt travels with the
conversation's most recent turns that fit an approximate token budget (the newest always, older ones while they
fit, never with gaps). The model itself is called through threadline.bedrock.client.
"""

from __future__ import annotations

from collections.abc import Sequence

from threadline.bedrock.client import Turn

# Per message, beside its text: role markers and separators in the model's own encoding, roughly.
MESSAGE_OVERHEAD_TOKENS = 4
CHARACTERS_PER_TOKEN = 4


def approximate_tokens(characters: int) -> int:
    return -(-characters // CHARACTERS_PER_TOKEN) + MESSAGE_OVERHEAD_TOKENS


def history_window(earlier_newest_first: Sequence[tuple[Turn, int]], latest: Turn, *, token_budget: int) -> list[Turn]:
    """The turns to send, oldest first: `latest` always, then earlier turns (each with its full length in
    characters) from the newest back while the budget lasts. The first that does not fit ends the window, so the
    model never sees a conversation with a hole in it."""
    remaining = token_budget - approximate_tokens(len(latest.text))
    kept: list[Turn] = []
    for turn, characters in earlier_newest_first:
        cost = approximate_tokens(characters)
        if cost > remaining or len(turn.text) < characters:
            break
        kept.append(turn)
        remaining -= cost
    kept.reverse()
    return [*kept, latest]
