"""The language model's history window: the latest turn always, then earlier turns newest first while the token
budget lasts, and never a window with a hole in it."""

from __future__ import annotations

from threadline.bedrock.client import Turn
from threadline.domain.sessions.replies import (
    CHARACTERS_PER_TOKEN,
    MESSAGE_OVERHEAD_TOKENS,
    approximate_tokens,
    history_window,
)


def _turn(role: str, characters: int, label: str) -> tuple[Turn, int]:
    text = label.ljust(characters, ".")
    return Turn(role, text), len(text)  # type: ignore[arg-type]


def test_a_turn_costs_its_characters_rounded_up_to_tokens_plus_the_overhead():
    assert approximate_tokens(0) == MESSAGE_OVERHEAD_TOKENS
    assert approximate_tokens(1) == 1 + MESSAGE_OVERHEAD_TOKENS
    assert approximate_tokens(CHARACTERS_PER_TOKEN) == 1 + MESSAGE_OVERHEAD_TOKENS
    assert approximate_tokens(CHARACTERS_PER_TOKEN + 1) == 2 + MESSAGE_OVERHEAD_TOKENS


def test_earlier_turns_are_kept_newest_first_while_the_budget_lasts_and_returned_oldest_first():
    # Given a latest turn and three earlier ones (newest first) costing 10 + 4 tokens each
    latest = Turn("user", "now?")
    earlier = [_turn("assistant", 40, "c"), _turn("user", 40, "b"), _turn("assistant", 40, "a")]
    latest_cost = approximate_tokens(len(latest.text))

    # When the budget fits the latest turn and exactly two earlier ones
    window = history_window(earlier, latest, token_budget=latest_cost + 2 * approximate_tokens(40))

    # Then the two newest earlier turns come first, oldest first, and the latest last
    assert [turn.text[0] for turn in window] == ["b", "c", "n"]
    assert window[-1] == latest


def test_the_first_turn_that_does_not_fit_ends_the_window_even_if_an_older_one_would_fit():
    latest = Turn("user", "now?")
    earlier = [_turn("assistant", 10, "c"), _turn("user", 4000, "b"), _turn("assistant", 1, "a")]

    window = history_window(earlier, latest, token_budget=approximate_tokens(4) + approximate_tokens(10) + 10)

    assert [turn.text[0] for turn in window] == ["c", "n"]


def test_the_latest_turn_is_sent_even_when_it_alone_exceeds_the_budget():
    latest = Turn("user", "x" * 10_000)

    assert history_window([_turn("assistant", 4, "a")], latest, token_budget=10) == [latest]


def test_a_turn_whose_text_was_cut_short_of_its_full_length_ends_the_window():
    # Given an earlier turn whose stored text is shorter than its full length (the read truncated it)
    latest = Turn("user", "now?")
    truncated = (Turn("assistant", "the beginning of a long answer"), 50_000)
    older = _turn("user", 4, "a")

    # Then it is not sent as if it were whole, and nothing older is sent past it
    assert history_window([truncated, older], latest, token_budget=1_000_000) == [latest]
